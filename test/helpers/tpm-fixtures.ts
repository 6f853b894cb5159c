/**
 * Test helpers for TPM structures: the real GCE attestation fixture, and software "TPMs" (Node key
 * pairs wrapped in TPMT_PUBLIC) that sign TPMS_ATTEST so every verifier branch can be reached.
 */
import { type KeyObject, constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type HashAlg,
  type PcrBanks,
  type TPMS_ATTEST,
  type TPMT_PUBLIC,
  type TPMT_SIGNATURE,
  type TPML_PCR_SELECTION,
  TPMA_OBJECT,
  TPM_ALG,
  TPM_ECC_CURVE,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
  computePcrDigest,
  encodeTpmsAttest,
  encodeTpmtPublic,
  encodeTpmtSignature,
  parseTpmtPublic,
} from '../../src/tpm/index.ts';
import { fromHex } from '../../src/util/encoding.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GCE_DIR = path.resolve(
  repoRoot, '..', 'shared', 'fixtures', 'real-eventlogs', 'go-tpm-tools', 'internal', 'test', 'attestations', 'gce-cos-85-nonce9009.split',
);
export const haveGce = existsSync(path.join(GCE_DIR, 'summary.json'));

export interface GceQuote {
  prefix: string;
  bank: HashAlg;
  attest: Uint8Array;
  signature: Uint8Array;
  pcrs: PcrBanks;
}

export function loadGce(): { akBytes: Uint8Array; quotes: GceQuote[]; eventLog: Uint8Array } {
  const summary = JSON.parse(readFileSync(path.join(GCE_DIR, 'summary.json'), 'utf8')) as {
    quotes: { file_prefix: string; pcr_bank: HashAlg; pcrs: Record<string, string> }[];
  };
  const quotes = summary.quotes.map((q) => {
    const m = new Map<number, Uint8Array>();
    for (const [k, v] of Object.entries(q.pcrs)) m.set(Number(k), fromHex(v) as Uint8Array);
    return {
      prefix: q.file_prefix,
      bank: q.pcr_bank,
      attest: new Uint8Array(readFileSync(path.join(GCE_DIR, `${q.file_prefix}.tpms_attest.bin`))),
      signature: new Uint8Array(readFileSync(path.join(GCE_DIR, `${q.file_prefix}.tpmt_signature.bin`))),
      pcrs: { [q.pcr_bank]: m } as PcrBanks,
    };
  });
  return {
    akBytes: new Uint8Array(readFileSync(path.join(GCE_DIR, 'ak_pub.tpmt_public.bin'))),
    quotes,
    eventLog: new Uint8Array(readFileSync(path.join(GCE_DIR, 'event_log.bin'))),
  };
}

export const AK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth | TPMA_OBJECT.restricted | TPMA_OBJECT.sign;

export interface SoftAk {
  pub: TPMT_PUBLIC;
  privateKey: KeyObject;
}

const CURVE_SIZE: Record<number, { name: string; size: number }> = {
  [TPM_ECC_CURVE.NIST_P256]: { name: 'prime256v1', size: 32 },
  [TPM_ECC_CURVE.NIST_P384]: { name: 'secp384r1', size: 48 },
  [TPM_ECC_CURVE.NIST_P521]: { name: 'secp521r1', size: 66 },
};

function b64uToBytes(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

/** A software RSA AK. scheme: TPM_ALG.RSASSA/RSAPSS/NULL. */
export function softRsaAk(scheme: number = TPM_ALG.RSASSA, hash: HashAlg = 'sha256', bits = 2048): SoftAk {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const fields: Omit<TPMT_PUBLIC, 'bytes'> = {
    type: 'rsa',
    nameAlg: 'sha256',
    objectAttributes: AK_ATTRIBUTES,
    authPolicy: new Uint8Array(),
    parameters: { rsa: { symmetric: null, scheme: scheme === TPM_ALG.NULL ? { scheme } : { scheme, hashAlg: hash }, keyBits: bits, exponent: 0 } },
    unique: { rsa: b64uToBytes(jwk.n) },
  };
  return { pub: parseTpmtPublic(encodeTpmtPublic(fields)), privateKey };
}

/** A software ECC AK (ECDSA or NULL scheme). */
export function softEccAk(curveId: number = TPM_ECC_CURVE.NIST_P256, scheme: number = TPM_ALG.ECDSA, hash: HashAlg = 'sha256'): SoftAk {
  const c = CURVE_SIZE[curveId];
  if (!c) throw new Error('curve');
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: c.name });
  const jwk = publicKey.export({ format: 'jwk' });
  const fields: Omit<TPMT_PUBLIC, 'bytes'> = {
    type: 'ecc',
    nameAlg: 'sha256',
    objectAttributes: AK_ATTRIBUTES,
    authPolicy: new Uint8Array(),
    parameters: {
      ecc: { symmetric: null, scheme: scheme === TPM_ALG.NULL ? { scheme } : { scheme, hashAlg: hash }, curveId, kdf: { scheme: TPM_ALG.NULL } },
    },
    unique: { ecc: { x: b64uToBytes(jwk.x), y: b64uToBytes(jwk.y) } },
  };
  return { pub: parseTpmtPublic(encodeTpmtPublic(fields)), privateKey };
}

/** Signs like a TPM: RSASSA, RSAPSS (salt = digest length unless given) or ECDSA (r, s as TPM2Bs). */
export function softSign(ak: SoftAk, sigAlg: TPMT_SIGNATURE['sigAlg'], hash: HashAlg, message: Uint8Array, pssSalt?: number): Uint8Array {
  if (sigAlg === 'ecdsa') {
    const size = CURVE_SIZE[ak.pub.parameters.ecc?.curveId ?? 0]?.size ?? 32;
    const raw = sign(hash, message, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' });
    return encodeTpmtSignature({ sigAlg, hash, r: new Uint8Array(raw.subarray(0, size)), s: new Uint8Array(raw.subarray(size)) });
  }
  const digestLen = createHash(hash).digest().length;
  const sig =
    sigAlg === 'rsapss'
      ? sign(hash, message, { key: ak.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pssSalt ?? digestLen })
      : sign(hash, message, { key: ak.privateKey, padding: constants.RSA_PKCS1_PADDING });
  return encodeTpmtSignature({ sigAlg, hash, sig: new Uint8Array(sig) });
}

/** A TPMS_ATTEST quote over `pcrs` for `selection`, with the pcrDigest computed using `hash`. */
export function makeQuote(opts: {
  extraData: Uint8Array;
  selection: TPML_PCR_SELECTION;
  pcrs: PcrBanks;
  hash: HashAlg;
  magic?: number;
  type?: number;
}): { attest: TPMS_ATTEST; bytes: Uint8Array } {
  const attest: TPMS_ATTEST = {
    magic: opts.magic ?? TPM_GENERATED_VALUE,
    type: opts.type ?? TPM_ST_ATTEST_QUOTE,
    qualifiedSigner: Uint8Array.from([0x00, 0x0b, ...new Uint8Array(32).fill(7)]),
    extraData: opts.extraData,
    clockInfo: { clock: 123456789n, resetCount: 3, restartCount: 1, safe: true },
    firmwareVersion: 0x2016051100162800n,
    attested: { kind: 'quote', pcrSelect: opts.selection, pcrDigest: computePcrDigest(opts.selection, opts.pcrs, opts.hash) },
  };
  return { attest, bytes: encodeTpmsAttest(attest) };
}

/** Deterministic PCR values: byte i of PCR n in `bank` = (n * 7 + i + seed) & 0xff. */
export function fakePcrs(banks: Partial<Record<HashAlg, number[]>>, seed = 0): PcrBanks {
  const size: Record<HashAlg, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
  const out: PcrBanks = {};
  for (const [bank, pcrs] of Object.entries(banks) as [HashAlg, number[]][]) {
    out[bank] = new Map(pcrs.map((p) => [p, Uint8Array.from({ length: size[bank] }, (_, i) => (p * 7 + i + seed) & 0xff)]));
  }
  return out;
}

/** One quote tpm2_quote wrote against swtpm: file paths inside the swtpm dir. */
export interface SwtpmQuote {
  name: string;
  ak: string;
  akKind: 'rsassa' | 'rsapss' | 'ecdsa';
  selection: string;
  nonceHex: string;
  msg: string;
  sig: string;
  /** -o with the default (serialized) format. */
  pcrs: string;
  /** -o with -F values. */
  pcrValues: string;
}

/**
 * Makes an EK, three AKs (RSA/RSASSA, RSA/RSAPSS, ECC P-256/ECDSA), extends PCRs 0-3 in sha1 and
 * sha256 so they are not zero, and quotes one bank and two banks with each AK.
 */
export async function produceSwtpmQuotes(tpm: {
  dir: string;
  tpm2(tool: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
}): Promise<SwtpmQuote[]> {
  await tpm.tpm2('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
  const aks: [SwtpmQuote['akKind'], string[]][] = [
    ['rsassa', ['-G', 'rsa', '-g', 'sha256', '-s', 'rsassa']],
    ['rsapss', ['-G', 'rsa', '-g', 'sha256', '-s', 'rsapss']],
    ['ecdsa', ['-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa']],
  ];
  for (const [kind, args] of aks) {
    await tpm.tpm2('tpm2_createak', ['-C', 'ek.ctx', '-c', `ak-${kind}.ctx`, ...args, '-u', `ak-${kind}.pub`, '-n', `ak-${kind}.name`]);
  }
  for (const pcr of [0, 1, 2, 3]) {
    const v = (b: number, n: number): string => Buffer.alloc(n, b + pcr).toString('hex');
    await tpm.tpm2('tpm2_pcrextend', [`${pcr}:sha1=${v(0x10, 20)},sha256=${v(0x20, 32)}`]);
  }
  const out: SwtpmQuote[] = [];
  let n = 0;
  for (const [kind] of aks) {
    for (const selection of ['sha256:0,1,2,3', 'sha1:0,1+sha256:0,1']) {
      const name = `q${n++}-${kind}`;
      const nonceHex = Buffer.alloc(16, n).toString('hex');
      const base = ['-c', `ak-${kind}.ctx`, '-l', selection, '-q', nonceHex, '-g', 'sha256', '--scheme', kind];
      await tpm.tpm2('tpm2_quote', [...base, '-m', `${name}.msg`, '-s', `${name}.sig`, '-o', `${name}.pcrs`]);
      // A second quote only for its -F values PCR file (its own msg/sig are discarded).
      await tpm.tpm2('tpm2_quote', [...base, '-m', `${name}.v.msg`, '-s', `${name}.v.sig`, '-o', `${name}.values`, '-F', 'values']);
      out.push({
        name,
        ak: path.join(tpm.dir, `ak-${kind}.pub`),
        akKind: kind,
        selection,
        nonceHex,
        msg: path.join(tpm.dir, `${name}.msg`),
        sig: path.join(tpm.dir, `${name}.sig`),
        pcrs: path.join(tpm.dir, `${name}.pcrs`),
        pcrValues: path.join(tpm.dir, `${name}.values`),
      });
    }
  }
  return out;
}
