import { describe, expect, it } from 'vitest';
import {
  TPMA_OBJECT,
  TPM_ALG,
  TPM_ECC_CURVE,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPM_ST_ATTEST_QUOTE,
  type TPMS_ATTEST,
  type TPMT_PUBLIC,
  type TPMT_SIGNATURE,
  describeObjectAttributes,
  encodePcrSelectionList,
  encodeTpm2bPublic,
  encodeTpmsAttest,
  encodeTpmtPublic,
  encodeTpmtSignature,
  hasAttributes,
  parsePcrSelectionList,
  parsePublic,
  parseTpmsAttest,
  parseTpmtPublic,
  parseTpmtSignature,
  publicKeyFromTpmt,
  tpmObjectName,
} from '../src/tpm/index.ts';
import { ByteWriter } from '../src/util/bytes.ts';
import { toHex } from '../src/util/encoding.ts';
import { ParseError } from '../src/util/errors.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AK_ATTRIBUTES, GCE_DIR, haveGce, softEccAk, softRsaAk } from './helpers/tpm-fixtures.ts';

function stripBytes(p: TPMT_PUBLIC): Omit<TPMT_PUBLIC, 'bytes'> {
  const { bytes: _bytes, ...rest } = p;
  return rest;
}

describe('TPMA_OBJECT', () => {
  it('has the Part 2 bit positions', () => {
    expect(TPMA_OBJECT.fixedTPM).toBe(0x2);
    expect(TPMA_OBJECT.stClear).toBe(0x4);
    expect(TPMA_OBJECT.fixedParent).toBe(0x10);
    expect(TPMA_OBJECT.sensitiveDataOrigin).toBe(0x20);
    expect(TPMA_OBJECT.userWithAuth).toBe(0x40);
    expect(TPMA_OBJECT.adminWithPolicy).toBe(0x80);
    expect(TPMA_OBJECT.noDA).toBe(0x400);
    expect(TPMA_OBJECT.encryptedDuplication).toBe(0x800);
    expect(TPMA_OBJECT.restricted).toBe(0x10000);
    expect(TPMA_OBJECT.decrypt).toBe(0x20000);
    expect(TPMA_OBJECT.sign).toBe(0x40000);
    expect(hasAttributes(AK_ATTRIBUTES, TPMA_OBJECT.restricted | TPMA_OBJECT.sign)).toBe(true);
    expect(hasAttributes(AK_ATTRIBUTES, TPMA_OBJECT.decrypt)).toBe(false);
  });
});

describe.skipIf(!haveGce)('GCE AK public area (real TPMT_PUBLIC; fixture folder ../shared absent?)', () => {
  it('parses the bare TPMT_PUBLIC and computes its Name', () => {
    const bytes = new Uint8Array(readFileSync(path.join(GCE_DIR, 'ak_pub.tpmt_public.bin')));
    const ak = parsePublic(bytes);
    expect(ak.type).toBe('rsa');
    expect(ak.nameAlg).toBe('sha256');
    expect(describeObjectAttributes(ak.objectAttributes)).toEqual(['fixedTPM', 'fixedParent', 'sensitiveDataOrigin', 'userWithAuth', 'restricted', 'sign']);
    expect(ak.parameters.rsa).toEqual({ symmetric: null, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: 'sha256' }, keyBits: 2048, exponent: 0 });
    expect(ak.unique.rsa?.length).toBe(256);
    expect(ak.bytes).toEqual(bytes);
    // The TPMS_ATTEST qualifiedSigner of a quote is the signer's Name: the AK's, computed independently.
    const attest = parseTpmsAttest(new Uint8Array(readFileSync(path.join(GCE_DIR, 'quote1_sha256.tpms_attest.bin'))));
    expect(toHex(tpmObjectName(ak))).toBe('000bf175bdb57297b2b289973f819863d6c9d09c236725676914f4248c9a2404c2a4');
    expect(attest.qualifiedSigner.length).toBe(34);
    expect(publicKeyFromTpmt(ak).asymmetricKeyDetails?.modulusLength).toBe(2048);
    // Same bytes with a TPM2B size prefix parse to the same object; encoding reproduces both forms.
    const tpm2b = encodeTpm2bPublic(stripBytes(ak));
    expect(tpm2b.length).toBe(bytes.length + 2);
    expect(parsePublic(tpm2b)).toEqual(ak);
    expect(encodeTpmtPublic(stripBytes(ak))).toEqual(bytes);
  });

  it('parses the three real quotes and signatures and re-encodes them byte for byte', () => {
    for (const prefix of ['quote0_sha1', 'quote1_sha256', 'quote2_sha384']) {
      const q = new Uint8Array(readFileSync(path.join(GCE_DIR, `${prefix}.tpms_attest.bin`)));
      const s = new Uint8Array(readFileSync(path.join(GCE_DIR, `${prefix}.tpmt_signature.bin`)));
      const a = parseTpmsAttest(q);
      expect(a.magic).toBe(TPM_GENERATED_VALUE);
      expect(a.type).toBe(TPM_ST_ATTEST_QUOTE);
      expect(toHex(a.extraData)).toBe('9009');
      expect(a.clockInfo.resetCount).toBe(10);
      expect(a.clockInfo.safe).toBe(true);
      expect(a.firmwareVersion).toBe(0x2016051100162800n);
      expect(a.attested.kind).toBe('quote');
      if (a.attested.kind === 'quote') expect(a.attested.pcrSelect[0]?.pcrs).toEqual([...Array(24).keys()]);
      expect(encodeTpmsAttest(a)).toEqual(q);
      const sig = parseTpmtSignature(s);
      expect(sig.sigAlg).toBe('rsassa');
      expect(sig.hash).toBe('sha256');
      expect(encodeTpmtSignature(sig)).toEqual(s);
    }
  });
});

describe('TPMT_PUBLIC round trips', () => {
  const rsaNull = softRsaAk(TPM_ALG.NULL);
  const rsaPss = softRsaAk(TPM_ALG.RSAPSS, 'sha384');
  const p256 = softEccAk(TPM_ECC_CURVE.NIST_P256);
  const p384 = softEccAk(TPM_ECC_CURVE.NIST_P384, TPM_ALG.NULL);
  const p521 = softEccAk(TPM_ECC_CURVE.NIST_P521, TPM_ALG.ECDSA, 'sha512');
  const ekLike: Omit<TPMT_PUBLIC, 'bytes'> = {
    // Default RSA EK template shape: AES-128-CFB symmetric, NULL scheme, 32-byte policy.
    type: 'rsa',
    nameAlg: 'sha256',
    objectAttributes: 0x000300b2,
    authPolicy: new Uint8Array(32).fill(0x83),
    parameters: { rsa: { symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB }, scheme: { scheme: TPM_ALG.NULL }, keyBits: 2048, exponent: 0 } },
    unique: { rsa: new Uint8Array(256).fill(1) },
  };
  const eccEkLike: Omit<TPMT_PUBLIC, 'bytes'> = {
    type: 'ecc',
    nameAlg: 'sha384',
    objectAttributes: 0x000300b2,
    authPolicy: new Uint8Array(48).fill(0x11),
    parameters: {
      ecc: { symmetric: { algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB }, scheme: { scheme: TPM_ALG.NULL }, curveId: TPM_ECC_CURVE.NIST_P384, kdf: { scheme: TPM_ALG.KDF1_SP800_56A, hashAlg: 'sha384' } },
    },
    unique: { ecc: { x: new Uint8Array(48).fill(2), y: new Uint8Array(48).fill(3) } },
  };
  const keyedHash: Omit<TPMT_PUBLIC, 'bytes'> = {
    type: 'keyedhash',
    nameAlg: 'sha1',
    objectAttributes: 0x00040072,
    authPolicy: new Uint8Array(),
    parameters: { keyedhash: { scheme: { scheme: TPM_ALG.HMAC, hashAlg: 'sha256' } } },
    unique: { keyedhash: new Uint8Array(32).fill(9) },
  };
  const xorHash: Omit<TPMT_PUBLIC, 'bytes'> = {
    ...keyedHash,
    parameters: { keyedhash: { scheme: { scheme: 0x000a, hashAlg: 'sha256', kdf: TPM_ALG.KDF1_SP800_108 } } },
  };
  const sym: Omit<TPMT_PUBLIC, 'bytes'> = {
    type: 'symcipher',
    nameAlg: 'sha512',
    objectAttributes: 0x00060072,
    authPolicy: new Uint8Array(64).fill(5),
    parameters: { symcipher: { sym: { algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB } } },
    unique: { sym: new Uint8Array(64).fill(4) },
  };
  const ecdaa: Omit<TPMT_PUBLIC, 'bytes'> = {
    ...stripBytes(p256.pub),
    parameters: { ecc: { symmetric: null, scheme: { scheme: TPM_ALG.ECDAA, hashAlg: 'sha256', count: 7 }, curveId: TPM_ECC_CURVE.BN_P256, kdf: { scheme: TPM_ALG.NULL } } },
  };
  const cases: [string, Omit<TPMT_PUBLIC, 'bytes'>][] = [
    ['RSA NULL scheme', stripBytes(rsaNull.pub)],
    ['RSA RSAPSS-sha384', stripBytes(rsaPss.pub)],
    ['ECC P-256 ECDSA', stripBytes(p256.pub)],
    ['ECC P-384 NULL', stripBytes(p384.pub)],
    ['ECC P-521 ECDSA-sha512', stripBytes(p521.pub)],
    ['RSA EK template', ekLike],
    ['ECC P-384 EK template with KDF', eccEkLike],
    ['keyedhash HMAC', keyedHash],
    ['keyedhash XOR', xorHash],
    ['symcipher AES-256-CFB', sym],
    ['ECC ECDAA with count', ecdaa],
  ];
  it.each(cases)('%s: encode -> parse -> encode is stable, TPM2B and bare', (_name, fields) => {
    const bare = encodeTpmtPublic(fields);
    const parsed = parseTpmtPublic(bare);
    expect(stripBytes(parsed)).toEqual(fields);
    expect(parsed.bytes).toEqual(bare);
    expect(parsePublic(encodeTpm2bPublic(fields))).toEqual(parsed);
    expect(tpmObjectName(parsed).length).toBe(2 + { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[fields.nameAlg]);
  });

  it('derives working KeyObjects for RSA and P-256/384/521', () => {
    expect(publicKeyFromTpmt(rsaNull.pub).asymmetricKeyType).toBe('rsa');
    expect(publicKeyFromTpmt(p256.pub).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(publicKeyFromTpmt(p384.pub).asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(publicKeyFromTpmt(p521.pub).asymmetricKeyDetails?.namedCurve).toBe('secp521r1');
  });

  it('refuses keys it cannot use with ParseError: point off the curve, unknown curve, keyedhash', () => {
    const off = parseTpmtPublic(encodeTpmtPublic({ ...stripBytes(p256.pub), unique: { ecc: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) } } }));
    expect(() => publicKeyFromTpmt(off)).toThrow(ParseError);
    expect(() => publicKeyFromTpmt(parseTpmtPublic(encodeTpmtPublic(ecdaa)))).toThrow(/unsupported curve/);
    expect(() => publicKeyFromTpmt(parseTpmtPublic(encodeTpmtPublic(keyedHash)))).toThrow(ParseError);
    const shortMod = parseTpmtPublic(encodeTpmtPublic({ ...ekLike, unique: { rsa: new Uint8Array(8).fill(1) } }));
    expect(() => publicKeyFromTpmt(shortMod)).toThrow(ParseError);
  });

  it('names what it refuses: unknown type, hash, scheme; trailing bytes', () => {
    const bad = (mutate: (b: Uint8Array) => void): Uint8Array => {
      const b = encodeTpmtPublic(stripBytes(rsaNull.pub));
      mutate(b);
      return b;
    };
    expect(() => parseTpmtPublic(bad((b) => (b[1] = 0x99)))).toThrow(/unsupported object type TPM_ALG_0x0099/);
    expect(() => parseTpmtPublic(bad((b) => (b[3] = 0x12)))).toThrow(/nameAlg.*TPM_ALG_SM3_256/);
    expect(() => parseTpmtPublic(bad((b) => (b[13] = 0x1b)))).toThrow(/unsupported RSA scheme TPM_ALG_SM2/);
    expect(() => parseTpmtPublic(Uint8Array.from([...encodeTpmtPublic(stripBytes(rsaNull.pub)), 0]))).toThrow(/trailing/);
    const tpm2b = encodeTpm2bPublic(stripBytes(p256.pub));
    expect(() => parsePublic(tpm2b.subarray(0, tpm2b.length - 1))).toThrow(ParseError);
  });
});

describe('TPML_PCR_SELECTION', () => {
  it('round-trips several banks, keeps sizeofSelect, lists PCRs ascending', () => {
    const sel = [
      { hash: 'sha1' as const, pcrs: [0, 1, 7], sizeofSelect: 3 },
      { hash: 'sha256' as const, pcrs: [0, 8, 23], sizeofSelect: 3 },
      { hash: 'sha384' as const, pcrs: [], sizeofSelect: 3 },
      { hash: 'sha512' as const, pcrs: [31], sizeofSelect: 4 },
    ];
    const bytes = encodePcrSelectionList(sel);
    expect(toHex(bytes.subarray(0, 10))).toBe('0000000400040383' + '0000');
    expect(parsePcrSelectionList(bytes)).toEqual(sel);
  });

  it('refuses unknown banks, duplicate banks, sizeofSelect < 3 and absurd counts', () => {
    const one = (hash: number, size: number, extra: number[] = []): Uint8Array =>
      new ByteWriter().u32(1).u16(hash).u8(size).bytes(new Uint8Array(size)).bytes(Uint8Array.from(extra)).finish();
    expect(() => parsePcrSelectionList(one(0x0012, 3))).toThrow(/unsupported PCR bank TPM_ALG_SM3_256/);
    expect(() => parsePcrSelectionList(one(0x000b, 2))).toThrow(/sizeofSelect 2/);
    expect(() => parsePcrSelectionList(one(0x000b, 3, [0]))).toThrow(/trailing/);
    const dup = new ByteWriter().u32(2).u16(0x000b).u8(3).bytes(new Uint8Array(3)).u16(0x000b).u8(3).bytes(new Uint8Array(3)).finish();
    expect(() => parsePcrSelectionList(dup)).toThrow(/selected twice/);
    expect(() => parsePcrSelectionList(new ByteWriter().u32(0xffffffff).finish())).toThrow(ParseError);
  });
});

describe('TPMS_ATTEST', () => {
  const base: TPMS_ATTEST = {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST_ATTEST_QUOTE,
    qualifiedSigner: new Uint8Array(34).fill(1),
    extraData: new Uint8Array(32).fill(2),
    clockInfo: { clock: 0xffffffffffffn, resetCount: 0xffffffff, restartCount: 2, safe: false },
    firmwareVersion: 0xffffffffffffffffn,
    attested: { kind: 'quote', pcrSelect: [{ hash: 'sha256', pcrs: [0, 1, 2], sizeofSelect: 3 }], pcrDigest: new Uint8Array(32).fill(3) },
  };

  it('round-trips a quote, including an empty extraData', () => {
    for (const a of [base, { ...base, extraData: new Uint8Array() }]) {
      expect(parseTpmsAttest(encodeTpmsAttest(a))).toEqual(a);
    }
  });

  it('decodes other attestation types enough to delimit them, keeping the body raw', () => {
    const w = (f: (x: ByteWriter) => void): Uint8Array => {
      const x = new ByteWriter();
      f(x);
      return x.finish();
    };
    const bodies: [number, Uint8Array][] = [
      [TPM_ST.ATTEST_CERTIFY, w((x) => x.tpm2b(new Uint8Array(34)).tpm2b(new Uint8Array(34)))],
      [TPM_ST.ATTEST_CREATION, w((x) => x.tpm2b(new Uint8Array(34)).tpm2b(new Uint8Array(32)))],
      [TPM_ST.ATTEST_NV, w((x) => x.tpm2b(new Uint8Array(34)).u16(0).tpm2b(new Uint8Array(100)))],
      [TPM_ST.ATTEST_NV_DIGEST, w((x) => x.tpm2b(new Uint8Array(34)).tpm2b(new Uint8Array(32)))],
      [TPM_ST.ATTEST_TIME, w((x) => x.u64(1n).u64(2n).u32(3).u32(4).u8(1).u64(5n))],
      [TPM_ST.ATTEST_COMMAND_AUDIT, w((x) => x.u64(1n).u16(0x000b).tpm2b(new Uint8Array(32)).tpm2b(new Uint8Array(32)))],
      [TPM_ST.ATTEST_SESSION_AUDIT, w((x) => x.u8(1).tpm2b(new Uint8Array(32)))],
    ];
    for (const [type, raw] of bodies) {
      const a: TPMS_ATTEST = { ...base, type, attested: { kind: 'other', raw } };
      const bytes = encodeTpmsAttest(a);
      expect(parseTpmsAttest(bytes)).toEqual(a);
      expect(() => parseTpmsAttest(bytes.subarray(0, bytes.length - 1))).toThrow(ParseError);
    }
  });

  it('keeps a wrong magic for the verifier to report, but refuses unknown types and non-boolean safe', () => {
    expect(parseTpmsAttest(encodeTpmsAttest({ ...base, magic: 0x12345678 })).magic).toBe(0x12345678);
    const unknownType = encodeTpmsAttest({ ...base, type: 0x8099, attested: { kind: 'other', raw: new Uint8Array() } });
    expect(() => parseTpmsAttest(unknownType)).toThrow(/unknown attestation type/);
    const bytes = encodeTpmsAttest(base);
    const safeAt = 4 + 2 + 2 + 34 + 2 + 32 + 16;
    bytes[safeAt] = 2;
    expect(() => parseTpmsAttest(bytes)).toThrow(/safe/);
  });

  it('refuses oversized TPM2B fields', () => {
    const big = encodeTpmsAttest({ ...base, extraData: new Uint8Array(67) });
    expect(() => parseTpmsAttest(big)).toThrow(/extraData.size.*exceeds maximum 66/);
  });
});

describe('TPMT_SIGNATURE', () => {
  const cases: TPMT_SIGNATURE[] = [
    { sigAlg: 'rsassa', hash: 'sha1', sig: new Uint8Array(256).fill(1) },
    { sigAlg: 'rsassa', hash: 'sha256', sig: new Uint8Array(512).fill(2) },
    { sigAlg: 'rsapss', hash: 'sha384', sig: new Uint8Array(256).fill(3) },
    { sigAlg: 'rsapss', hash: 'sha512', sig: new Uint8Array(384).fill(4) },
    { sigAlg: 'ecdsa', hash: 'sha256', r: new Uint8Array(32).fill(5), s: new Uint8Array(31).fill(6) },
    { sigAlg: 'ecdsa', hash: 'sha512', r: new Uint8Array(66).fill(7), s: new Uint8Array(66).fill(8) },
  ];
  it.each(cases.map((c) => [`${c.sigAlg}-${c.hash}`, c] as const))('%s round-trips', (_n, sig) => {
    expect(parseTpmtSignature(encodeTpmtSignature(sig))).toEqual(sig);
  });

  it('names unsupported algorithms', () => {
    const sigOf = (alg: number, hash: number): Uint8Array => new ByteWriter().u16(alg).u16(hash).u16(0).finish();
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.NULL, 0x000b))).toThrow(/TPM_ALG_NULL/);
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.HMAC, 0x000b))).toThrow(/TPM_ALG_HMAC/);
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.ECDAA, 0x000b))).toThrow(/TPM_ALG_ECDAA/);
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.SM2, 0x000b))).toThrow(/TPM_ALG_SM2/);
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.ECSCHNORR, 0x000b))).toThrow(/TPM_ALG_ECSCHNORR/);
    expect(() => parseTpmtSignature(sigOf(TPM_ALG.RSASSA, 0x0027))).toThrow(/TPM_ALG_SHA3_256/);
    expect(() => parseTpmtSignature(Uint8Array.from([...encodeTpmtSignature(cases[0] as TPMT_SIGNATURE), 0]))).toThrow(/trailing/);
  });
});

describe('parsePublic input forms', () => {
  it('says why bytes are neither a TPM2B_PUBLIC nor a TPMT_PUBLIC', () => {
    const ak = softRsaAk();
    const { bytes: _b, ...fields } = ak.pub;
    const withTrailer = Uint8Array.from([...encodeTpm2bPublic(fields), 0, 0]);
    expect(() => parsePublic(withTrailer)).toThrow(/neither a TPM2B_PUBLIC \(size 280 but 282 bytes follow\)/);
    expect(() => parsePublic(new Uint8Array())).toThrow(ParseError);
    expect(() => encodePcrSelectionList([{ hash: 'sha256', pcrs: [256], sizeofSelect: 3 }])).toThrow(RangeError);
  });
});
