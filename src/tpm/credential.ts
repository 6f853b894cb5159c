/**
 * TPM2_MakeCredential computed by the verifier (TPM 2.0 Part 1 §24 "Credential Protection",
 * Part 3 §12.6), and the credential file tpm2-tools exchanges (`tpm2_makecredential -o`,
 * `tpm2_activatecredential -i`).
 *
 * The secret can only be recovered by TPM2_ActivateCredential on the TPM holding the EK's
 * private key, and only when the named object (the AK) is loaded in that same TPM: the
 * object's Name keys both the encryption and the integrity HMAC.
 */
import { constants, createCipheriv, createDecipheriv, createECDH, createHmac, publicEncrypt, randomBytes } from 'node:crypto';
import { ByteReader, ByteWriter } from '../util/bytes.ts';
import { concatBytes, constantTimeEqual } from '../util/encoding.ts';
import { DIGEST_SIZE, type HashAlg, TPM_ALG, hashAlgFromId } from './alg.ts';
import { TPM_ECC_CURVE } from './attributes.ts';
import { kdfa, kdfe } from './kdf.ts';
import { fixedWidth, publicKeyFromTpmt } from './public-key.ts';
import type { TPMT_PUBLIC, TPMT_SYM_DEF_OBJECT } from './public.ts';

/** Magic and version tpm2-tools writes at the head of a credential file. */
export const CREDENTIAL_FILE_MAGIC = 0xbadcc0de;
export const CREDENTIAL_FILE_VERSION = 1;

/** sizeof(TPMS_ID_OBJECT) with SHA-512 digests: two TPM2B_DIGESTs. */
const MAX_ID_OBJECT = 2 * (2 + 64);
/** sizeof(TPMU_ENCRYPTED_SECRET): an RSA-4096 ciphertext is the largest member. */
const MAX_ENCRYPTED_SECRET = 512;

export interface MadeCredential {
  /** TPM2B_ID_OBJECT, including its 2-byte size. */
  credentialBlob: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET, including its 2-byte size. */
  encryptedSecret: Uint8Array;
}

/** Node's OpenSSL curve names for the ECC EK curves MakeCredential supports. */
const ECDH_CURVES: Record<number, { name: string; size: number }> = {
  [TPM_ECC_CURVE.NIST_P256]: { name: 'prime256v1', size: 32 },
  [TPM_ECC_CURVE.NIST_P384]: { name: 'secp384r1', size: 48 },
  [TPM_ECC_CURVE.NIST_P521]: { name: 'secp521r1', size: 66 },
};

/** The EK's symmetric definition: a storage key must carry AES in CFB mode. */
function storageSymmetric(ek: TPMT_PUBLIC): TPMT_SYM_DEF_OBJECT {
  const sym = ek.type === 'rsa' ? ek.parameters.rsa?.symmetric : ek.type === 'ecc' ? ek.parameters.ecc?.symmetric : undefined;
  if (!sym) throw new RangeError('MakeCredential needs a storage key (EK) with a symmetric definition; this key has none');
  if (sym.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) {
    throw new RangeError(`MakeCredential supports AES-CFB storage keys only (EK has algorithm 0x${sym.algorithm.toString(16)}, mode 0x${sym.mode.toString(16)})`);
  }
  if (sym.keyBits !== 128 && sym.keyBits !== 192 && sym.keyBits !== 256) throw new RangeError(`unsupported AES key size ${sym.keyBits}`);
  return sym;
}

/** Checks that `name` is a TPM2B_NAME body for a digest-named object: u16 hashAlg ‖ digest. */
function checkObjectName(name: Uint8Array): void {
  const alg = name.length >= 2 ? hashAlgFromId(((name[0] ?? 0) << 8) | (name[1] ?? 0)) : undefined;
  if (!alg || name.length !== 2 + DIGEST_SIZE[alg]) {
    throw new RangeError(`object name of ${name.length} bytes is not a hash-algorithm-prefixed digest`);
  }
}

/** Seed for an RSA EK: random, OAEP-encrypted under the EK with label "IDENTITY". */
function rsaSeed(ek: TPMT_PUBLIC): { seed: Uint8Array; encryptedSeed: Uint8Array } {
  const seed = new Uint8Array(randomBytes(DIGEST_SIZE[ek.nameAlg]));
  const encrypted = publicEncrypt(
    {
      key: publicKeyFromTpmt(ek),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: ek.nameAlg,
      // The TPM decrypts with the label's terminating NUL included.
      oaepLabel: Buffer.from('IDENTITY\0', 'latin1'),
    },
    seed,
  );
  return { seed, encryptedSeed: new Uint8Array(encrypted) };
}

/** Seed for an ECC EK: one-pass ECDH with an ephemeral key, KDFe over the shared x-coordinate. */
function eccSeed(ek: TPMT_PUBLIC): { seed: Uint8Array; encryptedSeed: Uint8Array } {
  const d = ek.parameters.ecc;
  const u = ek.unique.ecc;
  if (!d || !u) throw new RangeError('ECC EK without parameters or point');
  const curve = ECDH_CURVES[d.curveId];
  if (!curve) throw new RangeError(`unsupported EK curve 0x${d.curveId.toString(16)}`);
  publicKeyFromTpmt(ek); // rejects a point that is not on the curve before we use it
  const ekX = fixedWidth(u.x, curve.size);
  const ekY = fixedWidth(u.y, curve.size);
  if (!ekX || !ekY) throw new RangeError('EK point coordinates wider than the curve');
  const ephemeral = createECDH(curve.name);
  ephemeral.generateKeys();
  const ephPoint = new Uint8Array(ephemeral.getPublicKey());
  const ephX = ephPoint.subarray(1, 1 + curve.size);
  const ephY = ephPoint.subarray(1 + curve.size);
  const z = new Uint8Array(ephemeral.computeSecret(concatBytes(Uint8Array.of(4), ekX, ekY)));
  const seed = kdfe(ek.nameAlg, z, 'IDENTITY', ephX, ekX, DIGEST_SIZE[ek.nameAlg] * 8);
  // TPMS_ECC_POINT: TPM2B_ECC_PARAMETER x ‖ TPM2B_ECC_PARAMETER y.
  const encryptedSeed = new ByteWriter().tpm2b(ephX).tpm2b(ephY).finish();
  return { seed, encryptedSeed };
}

/**
 * TPM2_MakeCredential(ekPub, credential = secret, objectName) done in software.
 * `objectName` is the object's Name (u16 nameAlg ‖ digest), e.g. `tpmObjectName(akPub)`.
 * The secret must be no longer than the EK nameAlg's digest, as the TPM requires.
 */
export function makeCredential(ekPub: TPMT_PUBLIC, objectName: Uint8Array, secret: Uint8Array): MadeCredential {
  const nameAlg = ekPub.nameAlg;
  const sym = storageSymmetric(ekPub);
  checkObjectName(objectName);
  if (secret.length === 0 || secret.length > DIGEST_SIZE[nameAlg]) {
    throw new RangeError(`credential of ${secret.length} bytes must be 1..${DIGEST_SIZE[nameAlg]} bytes for a ${nameAlg} EK`);
  }
  const { seed, encryptedSeed } =
    ekPub.type === 'rsa' ? rsaSeed(ekPub) : ekPub.type === 'ecc' ? eccSeed(ekPub) : (() => {
      throw new RangeError(`MakeCredential needs an RSA or ECC EK, not ${ekPub.type}`);
    })();
  const credentialBlob = wrapCredential(nameAlg, sym.keyBits, seed, objectName, secret);
  const encryptedSecret = new ByteWriter().tpm2b(encryptedSeed).finish();
  return { credentialBlob, encryptedSecret };
}

/**
 * The TPM2B_ID_OBJECT for a known seed: encIdentity = AES-CFB(KDFa(seed, "STORAGE", name), TPM2B_DIGEST(secret)),
 * integrityHMAC = HMAC(KDFa(seed, "INTEGRITY"), encIdentity ‖ name). Exported for simulators that
 * derive the seed themselves.
 */
export function wrapCredential(nameAlg: HashAlg, symKeyBits: number, seed: Uint8Array, objectName: Uint8Array, secret: Uint8Array): Uint8Array {
  const empty = new Uint8Array(0);
  const symKey = kdfa(nameAlg, seed, 'STORAGE', objectName, empty, symKeyBits);
  const cipher = createCipheriv(`aes-${symKeyBits}-cfb`, symKey, Buffer.alloc(16));
  const plain = new ByteWriter().tpm2b(secret).finish();
  const encIdentity = new Uint8Array(Buffer.concat([cipher.update(plain), cipher.final()]));
  const hmacKey = kdfa(nameAlg, seed, 'INTEGRITY', empty, empty, DIGEST_SIZE[nameAlg] * 8);
  const outerHmac = new Uint8Array(createHmac(nameAlg, hmacKey).update(encIdentity).update(objectName).digest());
  // TPMS_ID_OBJECT: integrityHMAC as a TPM2B_DIGEST, then encIdentity with no size of its own.
  const idObject = new ByteWriter().tpm2b(outerHmac).bytes(encIdentity).finish();
  return new ByteWriter().tpm2b(idObject).finish();
}

/**
 * The inverse of wrapCredential, as TPM2_ActivateCredential does once it has recovered the seed:
 * checks the integrity HMAC for this object's Name (constant time) and decrypts the credential.
 * Throws ParseError when the blob is malformed, Error('credential integrity check failed') when
 * the HMAC does not match (wrong seed or wrong object).
 */
export function unwrapCredential(nameAlg: HashAlg, symKeyBits: number, seed: Uint8Array, objectName: Uint8Array, credentialBlob: Uint8Array): Uint8Array {
  const outer = new ByteReader(credentialBlob, 'TPM2B_ID_OBJECT');
  const idObject = outer.sub(outer.u16('size'), 'credential', 'TPMS_ID_OBJECT');
  outer.expectEnd();
  const outerHmac = idObject.tpm2b('integrityHMAC', DIGEST_SIZE[nameAlg]);
  const encIdentity = idObject.bytesView(idObject.remaining, 'encIdentity');
  const empty = new Uint8Array(0);
  const hmacKey = kdfa(nameAlg, seed, 'INTEGRITY', empty, empty, DIGEST_SIZE[nameAlg] * 8);
  const expected = new Uint8Array(createHmac(nameAlg, hmacKey).update(encIdentity).update(objectName).digest());
  if (!constantTimeEqual(expected, outerHmac)) throw new Error('credential integrity check failed');
  const symKey = kdfa(nameAlg, seed, 'STORAGE', objectName, empty, symKeyBits);
  const decipher = createDecipheriv(`aes-${symKeyBits}-cfb`, symKey, Buffer.alloc(16));
  const plain = new Uint8Array(Buffer.concat([decipher.update(encIdentity), decipher.final()]));
  const r = new ByteReader(plain, 'TPM2B_DIGEST');
  const secret = r.tpm2b('credential', DIGEST_SIZE[nameAlg]);
  r.expectEnd();
  return secret.slice();
}

/** The tpm2-tools credential file: u32 0xBADCC0DE ‖ u32 1 ‖ TPM2B_ID_OBJECT ‖ TPM2B_ENCRYPTED_SECRET (big-endian). */
export function encodeCredentialFile(c: MadeCredential): Uint8Array {
  // Re-read both so a malformed blob can never be written out.
  checkTpm2b(c.credentialBlob, 'TPM2B_ID_OBJECT', MAX_ID_OBJECT);
  checkTpm2b(c.encryptedSecret, 'TPM2B_ENCRYPTED_SECRET', MAX_ENCRYPTED_SECRET);
  return new ByteWriter().u32(CREDENTIAL_FILE_MAGIC).u32(CREDENTIAL_FILE_VERSION).bytes(c.credentialBlob).bytes(c.encryptedSecret).finish();
}

function checkTpm2b(b: Uint8Array, structure: string, max: number): void {
  const r = new ByteReader(b, structure);
  r.tpm2b('buffer', max);
  r.expectEnd();
}

/** Strict reader for a tpm2-tools credential file; throws ParseError on anything else. */
export function parseCredentialFile(bytes: Uint8Array): MadeCredential {
  const r = new ByteReader(bytes, 'tpm2_credential_file');
  const magic = r.u32('magic');
  if (magic !== CREDENTIAL_FILE_MAGIC) r.fail('magic', `expected 0xbadcc0de, found 0x${magic.toString(16).padStart(8, '0')}`, 0);
  const version = r.u32('version');
  if (version !== CREDENTIAL_FILE_VERSION) r.fail('version', `expected version 1, found ${version}`, 4);
  const idStart = r.offset;
  r.structure = 'TPM2B_ID_OBJECT';
  const idObject = r.tpm2b('credentialBlob', MAX_ID_OBJECT);
  const id = new ByteReader(idObject, 'TPMS_ID_OBJECT', 'be', idStart + 2);
  const hmac = id.tpm2b('integrityHMAC', 64);
  if (hmac.length === 0) id.fail('integrityHMAC.size', 'empty integrity HMAC', 0);
  if (id.remaining < 2) id.fail('encIdentity', 'encrypted identity shorter than its size field');
  const secretStart = r.offset;
  r.structure = 'TPM2B_ENCRYPTED_SECRET';
  const secret = r.tpm2b('secret', MAX_ENCRYPTED_SECRET);
  if (secret.length === 0) r.fail('secret.size', 'empty encrypted secret', secretStart);
  r.structure = 'tpm2_credential_file';
  r.expectEnd();
  return {
    credentialBlob: bytes.slice(idStart, secretStart),
    encryptedSecret: bytes.slice(secretStart),
  };
}

