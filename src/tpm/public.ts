/**
 * TPMT_PUBLIC / TPM2B_PUBLIC (TPM 2.0 Part 2, 12.2): the public area of a TPM object, and its Name.
 */
import { ByteReader, ByteWriter } from '../util/bytes.ts';
import { ParseError } from '../util/errors.ts';
import { copyBytes } from './copy.ts';
import { DIGEST_SIZE, type HashAlg, TPM_ALG, digest, hashAlgFromId, hashAlgId } from './alg.ts';
import { TPM_ALG_EXTRA, algName } from './alg-names.ts';
import { TPM2B_MAX } from './attributes.ts';

export type TpmObjectType = 'rsa' | 'ecc' | 'keyedhash' | 'symcipher';

/** TPMT_SYM_DEF_OBJECT with a non-NULL algorithm (NULL is represented as `null`). */
export interface TPMT_SYM_DEF_OBJECT {
  algorithm: number;
  keyBits: number;
  mode: number;
}

/** A TPMT_*_SCHEME: `scheme` is a TPM_ALG_ID (TPM_ALG_NULL = 0x0010 for none). */
export interface TpmScheme {
  scheme: number;
  hashAlg?: HashAlg;
  /** ECDAA commit count. */
  count?: number;
  /** XOR keyed-hash scheme KDF. */
  kdf?: number;
}

export interface TPMS_RSA_PARMS {
  symmetric: TPMT_SYM_DEF_OBJECT | null;
  scheme: TpmScheme;
  keyBits: number;
  /** 0 means the default exponent 65537, as the TPM encodes it. */
  exponent: number;
}

export interface TPMS_ECC_PARMS {
  symmetric: TPMT_SYM_DEF_OBJECT | null;
  scheme: TpmScheme;
  curveId: number;
  kdf: { scheme: number; hashAlg?: HashAlg };
}

export interface TPMT_PUBLIC {
  type: TpmObjectType;
  nameAlg: HashAlg;
  objectAttributes: number;
  authPolicy: Uint8Array;
  /** Exactly one member is present, matching `type`. */
  parameters: {
    rsa?: TPMS_RSA_PARMS;
    ecc?: TPMS_ECC_PARMS;
    keyedhash?: { scheme: TpmScheme };
    symcipher?: { sym: TPMT_SYM_DEF_OBJECT | null };
  };
  /** Exactly one member is present, matching `type`. */
  unique: {
    rsa?: Uint8Array;
    ecc?: { x: Uint8Array; y: Uint8Array };
    keyedhash?: Uint8Array;
    sym?: Uint8Array;
  };
  /** The exact marshaled TPMT_PUBLIC this was parsed from (or encoded to). */
  bytes: Uint8Array;
}

const TYPE_BY_ID = new Map<number, TpmObjectType>([
  [TPM_ALG.RSA, 'rsa'],
  [TPM_ALG.ECC, 'ecc'],
  [TPM_ALG.KEYEDHASH, 'keyedhash'],
  [TPM_ALG.SYMCIPHER, 'symcipher'],
]);
const TYPE_ID: Record<TpmObjectType, number> = { rsa: TPM_ALG.RSA, ecc: TPM_ALG.ECC, keyedhash: TPM_ALG.KEYEDHASH, symcipher: TPM_ALG.SYMCIPHER };

const SYM_OBJECT_ALGS = new Set<number>([TPM_ALG.AES, TPM_ALG_EXTRA.SM4, TPM_ALG_EXTRA.CAMELLIA]);
const RSA_SCHEMES_WITH_HASH = new Set<number>([TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.OAEP]);
const ECC_SCHEMES_WITH_HASH = new Set<number>([TPM_ALG.ECDSA, TPM_ALG.ECDH, TPM_ALG.ECSCHNORR, TPM_ALG.SM2, TPM_ALG_EXTRA.ECMQV]);
const KDF_SCHEMES = new Set<number>([TPM_ALG.KDF1_SP800_56A, TPM_ALG.KDF2, TPM_ALG.KDF1_SP800_108, TPM_ALG_EXTRA.MGF1]);

function readHash(r: ByteReader, field: string): HashAlg {
  const at = r.offset;
  const id = r.u16(field);
  const h = hashAlgFromId(id);
  if (h === undefined) r.fail(field, `unsupported hash algorithm ${algName(id)}`, at);
  return h;
}

function readSymDefObject(r: ByteReader, field: string): TPMT_SYM_DEF_OBJECT | null {
  const at = r.offset;
  const algorithm = r.u16(`${field}.algorithm`);
  if (algorithm === TPM_ALG.NULL) return null;
  if (!SYM_OBJECT_ALGS.has(algorithm)) r.fail(`${field}.algorithm`, `unsupported symmetric algorithm ${algName(algorithm)}`, at);
  const keyBits = r.u16(`${field}.keyBits`);
  const mode = r.u16(`${field}.mode`);
  return { algorithm, keyBits, mode };
}

function writeSymDefObject(w: ByteWriter, s: TPMT_SYM_DEF_OBJECT | null): void {
  if (s === null) w.u16(TPM_ALG.NULL);
  else w.u16(s.algorithm).u16(s.keyBits).u16(s.mode);
}

function readRsaScheme(r: ByteReader, field: string): TpmScheme {
  const at = r.offset;
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL || scheme === TPM_ALG.RSAES) return { scheme };
  if (!RSA_SCHEMES_WITH_HASH.has(scheme)) r.fail(`${field}.scheme`, `unsupported RSA scheme ${algName(scheme)}`, at);
  return { scheme, hashAlg: readHash(r, `${field}.details.hashAlg`) };
}

function readEccScheme(r: ByteReader, field: string): TpmScheme {
  const at = r.offset;
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL) return { scheme };
  if (scheme === TPM_ALG.ECDAA) {
    const hashAlg = readHash(r, `${field}.details.hashAlg`);
    return { scheme, hashAlg, count: r.u16(`${field}.details.count`) };
  }
  if (!ECC_SCHEMES_WITH_HASH.has(scheme)) r.fail(`${field}.scheme`, `unsupported ECC scheme ${algName(scheme)}`, at);
  return { scheme, hashAlg: readHash(r, `${field}.details.hashAlg`) };
}

function readKeyedHashScheme(r: ByteReader, field: string): TpmScheme {
  const at = r.offset;
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL) return { scheme };
  if (scheme === TPM_ALG.HMAC) return { scheme, hashAlg: readHash(r, `${field}.details.hashAlg`) };
  if (scheme === TPM_ALG_EXTRA.XOR) {
    const hashAlg = readHash(r, `${field}.details.hashAlg`);
    const kdfAt = r.offset;
    const kdf = r.u16(`${field}.details.kdf`);
    if (!KDF_SCHEMES.has(kdf)) r.fail(`${field}.details.kdf`, `unsupported KDF ${algName(kdf)}`, kdfAt);
    return { scheme, hashAlg, kdf };
  }
  return r.fail(`${field}.scheme`, `unsupported keyed-hash scheme ${algName(scheme)}`, at);
}

function writeScheme(w: ByteWriter, s: TpmScheme): void {
  w.u16(s.scheme);
  if (s.scheme === TPM_ALG.NULL || s.scheme === TPM_ALG.RSAES) return;
  if (s.hashAlg === undefined) throw new RangeError(`scheme ${algName(s.scheme)} needs a hashAlg`);
  w.u16(hashAlgId(s.hashAlg));
  if (s.scheme === TPM_ALG.ECDAA) w.u16(s.count ?? 0);
  if (s.scheme === TPM_ALG_EXTRA.XOR) w.u16(s.kdf ?? TPM_ALG.KDF1_SP800_108);
}

function readTpmtPublic(r: ByteReader): TPMT_PUBLIC {
  const start = r.offset;
  const typeId = r.u16('type');
  const type = TYPE_BY_ID.get(typeId);
  if (type === undefined) r.fail('type', `unsupported object type ${algName(typeId)}`, start);
  const nameAlg = readHash(r, 'nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b('authPolicy', TPM2B_MAX.DIGEST);
  const parameters: TPMT_PUBLIC['parameters'] = {};
  const unique: TPMT_PUBLIC['unique'] = {};
  switch (type) {
    case 'rsa': {
      const symmetric = readSymDefObject(r, 'parameters.rsaDetail.symmetric');
      const scheme = readRsaScheme(r, 'parameters.rsaDetail.scheme');
      const keyBits = r.u16('parameters.rsaDetail.keyBits');
      const exponent = r.u32('parameters.rsaDetail.exponent');
      parameters.rsa = { symmetric, scheme, keyBits, exponent };
      unique.rsa = r.tpm2b('unique.rsa', TPM2B_MAX.PUBLIC_KEY_RSA);
      break;
    }
    case 'ecc': {
      const symmetric = readSymDefObject(r, 'parameters.eccDetail.symmetric');
      const scheme = readEccScheme(r, 'parameters.eccDetail.scheme');
      const curveId = r.u16('parameters.eccDetail.curveID');
      const kdfAt = r.offset;
      const kdfScheme = r.u16('parameters.eccDetail.kdf.scheme');
      let kdf: TPMS_ECC_PARMS['kdf'] = { scheme: kdfScheme };
      if (kdfScheme !== TPM_ALG.NULL) {
        if (!KDF_SCHEMES.has(kdfScheme)) r.fail('parameters.eccDetail.kdf.scheme', `unsupported KDF ${algName(kdfScheme)}`, kdfAt);
        kdf = { scheme: kdfScheme, hashAlg: readHash(r, 'parameters.eccDetail.kdf.details.hashAlg') };
      }
      parameters.ecc = { symmetric, scheme, curveId, kdf };
      unique.ecc = { x: r.tpm2b('unique.ecc.x', TPM2B_MAX.ECC_PARAMETER), y: r.tpm2b('unique.ecc.y', TPM2B_MAX.ECC_PARAMETER) };
      break;
    }
    case 'keyedhash':
      parameters.keyedhash = { scheme: readKeyedHashScheme(r, 'parameters.keyedHashDetail.scheme') };
      unique.keyedhash = r.tpm2b('unique.keyedHash', TPM2B_MAX.DIGEST);
      break;
    case 'symcipher':
      parameters.symcipher = { sym: readSymDefObject(r, 'parameters.symDetail.sym') };
      unique.sym = r.tpm2b('unique.sym', TPM2B_MAX.DIGEST);
      break;
  }
  const bytes = copyBytes(r.bytes.subarray(start, r.offset));
  return { type, nameAlg, objectAttributes, authPolicy: copyBytes(authPolicy), parameters, unique: copyUnique(unique), bytes };
}

/** Detach unique values from the input buffer so callers may reuse it. */
function copyUnique(u: TPMT_PUBLIC['unique']): TPMT_PUBLIC['unique'] {
  const out: TPMT_PUBLIC['unique'] = {};
  if (u.rsa) out.rsa = copyBytes(u.rsa);
  if (u.ecc) out.ecc = { x: copyBytes(u.ecc.x), y: copyBytes(u.ecc.y) };
  if (u.keyedhash) out.keyedhash = copyBytes(u.keyedhash);
  if (u.sym) out.sym = copyBytes(u.sym);
  return out;
}

/** TPMT_PUBLIC from a bare TPMT_PUBLIC (tpm2 -f tpmt / go-tpm) or a size-prefixed TPM2B_PUBLIC (tpm2_createak -u). */
export function parsePublic(bytes: Uint8Array): TPMT_PUBLIC {
  // A TPM2B's size equals the bytes that follow it; a bare TPMT_PUBLIC starts with its type
  // (1, 8, 0x23 or 0x25), which can never equal that because a public area is longer than 0x25 + 2 bytes.
  if (bytes.length >= 2 && ((bytes[0] ?? 0) << 8 | (bytes[1] ?? 0)) === bytes.length - 2) {
    const outer = new ByteReader(bytes, 'TPM2B_PUBLIC');
    const inner = outer.sub(outer.u16('size'), 'publicArea', 'TPMT_PUBLIC');
    const pub = readTpmtPublic(inner);
    inner.expectEnd('publicArea.trailing');
    return pub;
  }
  const looksSized = bytes.length >= 2 && !TYPE_BY_ID.has(((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0));
  if (looksSized) {
    const size = ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
    throw new ParseError('TPM2B_PUBLIC', 'size', 0, `neither a TPM2B_PUBLIC (size ${size} but ${bytes.length - 2} bytes follow) nor a TPMT_PUBLIC (type 0x${size.toString(16).padStart(4, '0')} is not an object type)`);
  }
  return parseTpmtPublic(bytes);
}

/** A bare TPMT_PUBLIC that must fill `bytes` exactly. */
export function parseTpmtPublic(bytes: Uint8Array): TPMT_PUBLIC {
  const r = new ByteReader(bytes, 'TPMT_PUBLIC');
  const pub = readTpmtPublic(r);
  r.expectEnd();
  return pub;
}

/** Reads a TPM2B_PUBLIC from inside a larger structure. */
export function readTpm2bPublic(r: ByteReader, field = 'public'): TPMT_PUBLIC {
  const inner = r.sub(r.u16(`${field}.size`), `${field}.publicArea`, 'TPMT_PUBLIC');
  const pub = readTpmtPublic(inner);
  inner.expectEnd(`${field}.publicArea.trailing`);
  return pub;
}

/** Marshals from the fields (never from `p.bytes`), so edited objects encode as edited. */
export function encodeTpmtPublic(p: Omit<TPMT_PUBLIC, 'bytes'>): Uint8Array {
  const w = new ByteWriter();
  w.u16(TYPE_ID[p.type]).u16(hashAlgId(p.nameAlg)).u32(p.objectAttributes).tpm2b(p.authPolicy);
  switch (p.type) {
    case 'rsa': {
      const d = need(p.parameters.rsa, 'parameters.rsa');
      writeSymDefObject(w, d.symmetric);
      writeScheme(w, d.scheme);
      w.u16(d.keyBits).u32(d.exponent).tpm2b(need(p.unique.rsa, 'unique.rsa'));
      break;
    }
    case 'ecc': {
      const d = need(p.parameters.ecc, 'parameters.ecc');
      writeSymDefObject(w, d.symmetric);
      writeScheme(w, d.scheme);
      w.u16(d.curveId).u16(d.kdf.scheme);
      if (d.kdf.scheme !== TPM_ALG.NULL) w.u16(hashAlgId(need(d.kdf.hashAlg, 'parameters.ecc.kdf.hashAlg')));
      const u = need(p.unique.ecc, 'unique.ecc');
      w.tpm2b(u.x).tpm2b(u.y);
      break;
    }
    case 'keyedhash':
      writeScheme(w, need(p.parameters.keyedhash, 'parameters.keyedhash').scheme);
      w.tpm2b(need(p.unique.keyedhash, 'unique.keyedhash'));
      break;
    case 'symcipher':
      writeSymDefObject(w, need(p.parameters.symcipher, 'parameters.symcipher').sym);
      w.tpm2b(need(p.unique.sym, 'unique.sym'));
      break;
  }
  return w.finish();
}

export function encodeTpm2bPublic(p: Omit<TPMT_PUBLIC, 'bytes'>): Uint8Array {
  return new ByteWriter().tpm2b(encodeTpmtPublic(p)).finish();
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new RangeError(`TPMT_PUBLIC is missing ${what}`);
  return v;
}

/** The object's Name: nameAlg (u16) ‖ H_nameAlg(marshaled TPMT_PUBLIC). */
export function tpmObjectName(pub: TPMT_PUBLIC): Uint8Array {
  const out = new Uint8Array(2 + DIGEST_SIZE[pub.nameAlg]);
  new DataView(out.buffer).setUint16(0, hashAlgId(pub.nameAlg));
  out.set(digest(pub.nameAlg, pub.bytes), 2);
  return out;
}
