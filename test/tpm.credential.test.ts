/**
 * KDFa/KDFe and verifier-side TPM2_MakeCredential.
 *
 * Known answers: KDFa against the TPM reference implementation's self-test vectors
 * (libtpms KdfTestData.h). KDFe and the whole credential construction against a real TPM:
 * swtpm's TPM2_ActivateCredential must recover our secret for RSA, ECC P-256 and P-384 EKs.
 */
import { constants, createECDH, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TPMT_PUBLIC,
  TPM_ALG,
  TPM_ECC_CURVE,
  encodeCredentialFile,
  encodeTpmtPublic,
  kdfa,
  kdfe,
  makeCredential,
  parseCredentialFile,
  parsePublic,
  parseTpmtPublic,
  tpmObjectName,
  unwrapCredential,
} from '../src/tpm/index.ts';
import { ByteReader } from '../src/util/bytes.ts';
import { fromHex, toHex } from '../src/util/encoding.ts';
import { ParseError } from '../src/util/errors.ts';
import { type SwtpmHandle, haveSwtpm, startSwtpm } from './helpers/swtpm.ts';

const hex = (s: string): Uint8Array => {
  const b = fromHex(s);
  if (!b) throw new Error(`bad hex ${s}`);
  return b;
};

describe('KDFa (SP800-108 counter mode, TPM 2.0 Part 1 §11.4.10.2)', () => {
  // Vectors from the TPM 2.0 reference implementation's KDF self test (label "KDFSELFTESTLABEL").
  const key = hex('271FA08BBDC5060EC3DFA928FF9B73123A12DA0C');
  const contextU = hex('CE244F395DCA7391');
  const contextV = hex('DA504031DDF12E83');
  const expected = {
    sha1: '55b5a7184aa07423c47dae766c26a2377d7cf851',
    sha256: 'bb0259e1c8ba607e6a2cd704b69a902e9ade84c4',
    sha384: '1dce70c9113eb2dba47bd9cfc72bf46f45b09312',
    sha512: '8be2c1b85b78569b9fa759f5857c56d684810fd3',
  } as const;
  for (const [alg, out] of Object.entries(expected) as [keyof typeof expected, string][]) {
    it(`matches the reference self-test vector for ${alg}`, () => {
      expect(toHex(kdfa(alg, key, 'KDFSELFTESTLABEL', contextU, contextV, 160))).toBe(out);
    });
  }

  it('produces multi-block output whose prefix depends on the requested length (L is an input)', () => {
    const long = kdfa('sha256', key, 'STORAGE', contextU, contextV, 512);
    expect(long.length).toBe(64);
    const short = kdfa('sha256', key, 'STORAGE', contextU, contextV, 256);
    expect(toHex(long.subarray(0, 32))).not.toBe(toHex(short));
  });

  it('masks the spare high bits when bits is not a multiple of 8', () => {
    const full = kdfa('sha256', key, 'X', contextU, contextV, 12);
    expect(full.length).toBe(2);
    expect((full[0] ?? 0) & 0xf0).toBe(0);
  });

  it('rejects nonsensical lengths and labels that already contain NUL', () => {
    expect(() => kdfa('sha256', key, 'A', contextU, contextV, 0)).toThrow(RangeError);
    expect(() => kdfa('sha256', key, 'A\0', contextU, contextV, 8)).toThrow(RangeError);
    expect(() => kdfe('sha256', key, 'A', contextU, contextV, -8)).toThrow(RangeError);
  });
});

describe('KDFe (SP800-56A concatenation KDF, §11.4.10.3)', () => {
  it('is deterministic, length-extensible block by block, and bound to every input', () => {
    const z = hex('00'.repeat(31) + '01');
    const a = kdfe('sha256', z, 'IDENTITY', hex('aa'), hex('bb'), 512);
    // Unlike KDFa, KDFe does not hash the output length, so a shorter output is a prefix.
    expect(toHex(kdfe('sha256', z, 'IDENTITY', hex('aa'), hex('bb'), 256))).toBe(toHex(a.subarray(0, 32)));
    expect(toHex(kdfe('sha256', z, 'IDENTITY', hex('ab'), hex('bb'), 256))).not.toBe(toHex(a.subarray(0, 32)));
    expect(toHex(kdfe('sha256', z, 'IDENTITY', hex('aa'), hex('bc'), 256))).not.toBe(toHex(a.subarray(0, 32)));
    expect(toHex(kdfe('sha256', z, 'IDENTITZ', hex('aa'), hex('bb'), 256))).not.toBe(toHex(a.subarray(0, 32)));
  });
});

/** An EK-shaped public area (default low-range template) around a Node-generated key. */
function softwareEk(kind: 'rsa' | 'p256' | 'p384'): { ek: TPMT_PUBLIC; privateKey: import('node:crypto').KeyObject | null; ecdh: ReturnType<typeof createECDH> | null } {
  const aes = (keyBits: number) => ({ algorithm: TPM_ALG.AES, keyBits, mode: TPM_ALG.CFB });
  const attrs = 0x000300b2;
  if (kind === 'rsa') {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const n = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).n ?? '', 'base64url'));
    const ek = parseTpmtPublic(
      encodeTpmtPublic({
        type: 'rsa', nameAlg: 'sha256', objectAttributes: attrs, authPolicy: new Uint8Array(32),
        parameters: { rsa: { symmetric: aes(128), scheme: { scheme: TPM_ALG.NULL }, keyBits: 2048, exponent: 0 } },
        unique: { rsa: n },
      }),
    );
    return { ek, privateKey, ecdh: null };
  }
  const high = kind === 'p384';
  const ecdh = createECDH(high ? 'secp384r1' : 'prime256v1');
  ecdh.generateKeys();
  const pt = ecdh.getPublicKey();
  const size = high ? 48 : 32;
  const ek = parseTpmtPublic(
    encodeTpmtPublic({
      type: 'ecc', nameAlg: high ? 'sha384' : 'sha256', objectAttributes: attrs, authPolicy: new Uint8Array(high ? 48 : 32),
      parameters: { ecc: { symmetric: aes(high ? 256 : 128), scheme: { scheme: TPM_ALG.NULL }, curveId: high ? TPM_ECC_CURVE.NIST_P384 : TPM_ECC_CURVE.NIST_P256, kdf: { scheme: TPM_ALG.NULL } } },
      unique: { ecc: { x: new Uint8Array(pt.subarray(1, 1 + size)), y: new Uint8Array(pt.subarray(1 + size)) } },
    }),
  );
  return { ek, privateKey: null, ecdh };
}

/** The TPM side of ActivateCredential, in software: recover the seed, then unwrap. */
function softwareActivate(sw: ReturnType<typeof softwareEk>, name: Uint8Array, blob: Uint8Array, encSecret: Uint8Array): Uint8Array {
  const r = new ByteReader(encSecret, 'TPM2B_ENCRYPTED_SECRET');
  const inner = r.tpm2b('secret');
  let seed: Uint8Array;
  if (sw.privateKey) {
    seed = new Uint8Array(privateDecrypt({ key: sw.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from('IDENTITY\0') }, inner));
  } else {
    const p = new ByteReader(inner, 'TPMS_ECC_POINT');
    const x = p.tpm2b('x');
    const y = p.tpm2b('y');
    const z = new Uint8Array(sw.ecdh!.computeSecret(Buffer.concat([Buffer.of(4), x, y])));
    seed = kdfe(sw.ek.nameAlg, z, 'IDENTITY', x, sw.ek.unique.ecc!.x, sw.ek.nameAlg === 'sha384' ? 384 : 256);
  }
  const bits = (sw.ek.parameters.rsa ?? sw.ek.parameters.ecc)!.symmetric!.keyBits;
  return unwrapCredential(sw.ek.nameAlg, bits, seed, name, blob);
}

describe('makeCredential (software round trip)', () => {
  const akName = hex('000b' + '11'.repeat(32));
  for (const kind of ['rsa', 'p256', 'p384'] as const) {
    it(`wraps a secret that only the ${kind} EK private key and the right object name recover`, () => {
      const sw = softwareEk(kind);
      const secret = new Uint8Array(randomBytes(32));
      const { credentialBlob, encryptedSecret } = makeCredential(sw.ek, akName, secret);
      expect(toHex(softwareActivate(sw, akName, credentialBlob, encryptedSecret))).toBe(toHex(secret));
      const otherName = hex('000b' + '12'.repeat(32));
      expect(() => softwareActivate(sw, otherName, credentialBlob, encryptedSecret)).toThrow(/integrity/);
      // Fresh randomness per call: the same inputs never give the same blob.
      expect(toHex(makeCredential(sw.ek, akName, secret).encryptedSecret)).not.toBe(toHex(encryptedSecret));
    });
  }

  it('refuses what TPM2_MakeCredential refuses', () => {
    const sw = softwareEk('p256');
    expect(() => makeCredential(sw.ek, akName, new Uint8Array(33))).toThrow(/credential of 33 bytes/);
    expect(() => makeCredential(sw.ek, akName, new Uint8Array(0))).toThrow(RangeError);
    expect(() => makeCredential(sw.ek, hex('000b00'), new Uint8Array(16))).toThrow(/object name/);
    const noSym = { ...sw.ek, parameters: { ecc: { ...sw.ek.parameters.ecc!, symmetric: null } } };
    expect(() => makeCredential(noSym, akName, new Uint8Array(16))).toThrow(/symmetric/);
  });
});

describe('credential file (tpm2-tools format)', () => {
  const sw = softwareEk('p256');
  const made = makeCredential(sw.ek, hex('000b' + '22'.repeat(32)), new Uint8Array(32).fill(7));
  const file = encodeCredentialFile(made);

  it('is magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET, big-endian', () => {
    expect(toHex(file.subarray(0, 8))).toBe('badcc0de00000001');
    expect(file.length).toBe(8 + made.credentialBlob.length + made.encryptedSecret.length);
    // ID object for sha256 and a 32-byte credential: HMAC TPM2B (2+32) + encIdentity (2+32).
    expect(toHex(made.credentialBlob.subarray(0, 4))).toBe('00440020');
    const back = parseCredentialFile(file);
    expect(toHex(back.credentialBlob)).toBe(toHex(made.credentialBlob));
    expect(toHex(back.encryptedSecret)).toBe(toHex(made.encryptedSecret));
  });

  it('rejects a wrong magic, version, truncation or trailing bytes with ParseError', () => {
    const bad = (mutate: (b: Uint8Array) => Uint8Array): unknown => {
      try {
        parseCredentialFile(mutate(file.slice()));
        return null;
      } catch (err) {
        return err;
      }
    };
    expect(bad((b) => ((b[0] = 0), b))).toBeInstanceOf(ParseError);
    expect(bad((b) => ((b[7] = 2), b))).toBeInstanceOf(ParseError);
    expect(bad((b) => b.subarray(0, b.length - 1))).toBeInstanceOf(ParseError);
    expect(bad((b) => Uint8Array.from([...b, 0]))).toBeInstanceOf(ParseError);
    expect(String(bad((b) => ((b[0] = 0), b)))).toMatch(/magic/);
  });

  it('never throws anything but ParseError on random or mutated input (fast-check, 20,000 cases)', () => {
    const onlyParseError = (b: Uint8Array): boolean => {
      try {
        const out = parseCredentialFile(b);
        return out.credentialBlob.length + out.encryptedSecret.length + 8 === b.length;
      } catch (err) {
        return err instanceof ParseError;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyParseError), { numRuns: 10_000 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.integer({ min: -20, max: 20 }), (edits, resize) => {
        const b = file.slice(0, Math.max(0, file.length + Math.min(0, resize)));
        for (const [at, v] of edits) if (b.length) b[at % b.length] = v;
        const grown = resize > 0 ? Uint8Array.from([...b, ...new Uint8Array(resize)]) : b;
        return onlyParseError(grown);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe.skipIf(!haveSwtpm())('makeCredential interop with swtpm + tpm2-tools (skipped: swtpm/tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  const secret = new Uint8Array(randomBytes(32));

  beforeAll(async () => {
    tpm = await startSwtpm({ createEkCerts: true });
  });
  afterAll(async () => {
    await tpm?.stop();
  });

  const file = (name: string): string => path.join(tpm.dir, name);

  /** ActivateCredential with the EK's PolicySecret(endorsement) session, as tpm2-tools documents. */
  async function activate(ekCtx: string, akCtx: string, credFile: string, out: string, highRange = false): Promise<Uint8Array> {
    if (highRange) {
      // High-range EKs carry userWithAuth: an empty password authorises them.
      await tpm.tpm2('tpm2_activatecredential', ['-c', akCtx, '-C', ekCtx, '-i', credFile, '-o', out]);
    } else {
      await tpm.tpm2('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
      try {
        await tpm.tpm2('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
        await tpm.tpm2('tpm2_activatecredential', ['-c', akCtx, '-C', ekCtx, '-i', credFile, '-o', out, '-P', 'session:session.ctx']);
      } finally {
        await tpm.tpm2('tpm2_flushcontext', ['session.ctx']).catch(() => undefined);
      }
    }
    return new Uint8Array(readFileSync(file(out)));
  }

  for (const alg of ['rsa', 'ecc'] as const) {
    it(`TPM2_ActivateCredential recovers our secret for a ${alg.toUpperCase()} EK (default template), and refuses another AK`, async () => {
      await tpm.tpm2('tpm2_createek', ['-c', `ek-${alg}.ctx`, '-G', alg, '-u', `ek-${alg}.pub`]);
      await tpm.tpm2('tpm2_createak', ['-C', `ek-${alg}.ctx`, '-c', `ak-${alg}.ctx`, '-u', `ak-${alg}.pub`, '-n', `ak-${alg}.name`, '-G', alg]);
      await tpm.tpm2('tpm2_createak', ['-C', `ek-${alg}.ctx`, '-c', `ak2-${alg}.ctx`, '-u', `ak2-${alg}.pub`, '-n', `ak2-${alg}.name`, '-G', alg]);
      const ek = parsePublic(new Uint8Array(readFileSync(file(`ek-${alg}.pub`))));
      const akName = new Uint8Array(readFileSync(file(`ak-${alg}.name`)));
      // Our Name computation agrees with the TPM's.
      expect(toHex(tpmObjectName(parsePublic(new Uint8Array(readFileSync(file(`ak-${alg}.pub`))))))).toBe(toHex(akName));

      writeFileSync(file(`cred-${alg}.bin`), encodeCredentialFile(makeCredential(ek, akName, secret)));
      expect(toHex(await activate(`ek-${alg}.ctx`, `ak-${alg}.ctx`, `cred-${alg}.bin`, `out-${alg}.bin`))).toBe(toHex(secret));

      // The same blob presented with the second AK loaded: the TPM's integrity check fails.
      await expect(activate(`ek-${alg}.ctx`, `ak2-${alg}.ctx`, `cred-${alg}.bin`, `bad-${alg}.bin`)).rejects.toThrow(/integrity check failed/);
    });
  }

  it('works for the P-384 high-range EK (SHA-384, AES-256) swtpm persists at 0x81010016', async () => {
    await tpm.tpm2('tpm2_readpublic', ['-c', '0x81010016', '-o', 'ek-p384.pub']);
    await tpm.tpm2('tpm2_createak', ['-C', '0x81010016', '-c', 'ak-p384.ctx', '-u', 'ak-p384.pub', '-n', 'ak-p384.name', '-G', 'ecc']);
    const ek = parsePublic(new Uint8Array(readFileSync(file('ek-p384.pub'))));
    expect(ek.nameAlg).toBe('sha384');
    expect(ek.parameters.ecc?.symmetric?.keyBits).toBe(256);
    const akName = new Uint8Array(readFileSync(file('ak-p384.name')));
    const secret48 = new Uint8Array(randomBytes(48));
    writeFileSync(file('cred-p384.bin'), encodeCredentialFile(makeCredential(ek, akName, secret48)));
    expect(toHex(await activate('0x81010016', 'ak-p384.ctx', 'cred-p384.bin', 'out-p384.bin', true))).toBe(toHex(secret48));
  });

  it('parseCredentialFile reads what tpm2_makecredential writes', async () => {
    writeFileSync(file('secret.bin'), secret);
    const akName = readFileSync(file('ak-rsa.name')).toString('hex');
    await tpm.tpm2('tpm2_makecredential', ['-T', 'none', '-e', 'ek-rsa.pub', '-s', 'secret.bin', '-n', akName, '-o', 'tools-cred.bin']);
    const bytes = new Uint8Array(readFileSync(file('tools-cred.bin')));
    const parsed = parseCredentialFile(bytes);
    expect(parsed.encryptedSecret.length).toBe(2 + 256); // RSA-2048 OAEP ciphertext
    expect(toHex(encodeCredentialFile(parsed))).toBe(toHex(bytes));
  });
});
