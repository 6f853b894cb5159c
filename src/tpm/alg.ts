/** TPM_ALG_ID values for the hash algorithms bootgate understands, and their properties. */
import { createHash } from 'node:crypto';

export type HashAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const HASH_ALGS: readonly HashAlg[] = ['sha1', 'sha256', 'sha384', 'sha512'];

/** TPM_ALG_ID (TPM 2.0 Part 2, table 9). */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

const BY_ID = new Map<number, HashAlg>([
  [TPM_ALG.SHA1, 'sha1'],
  [TPM_ALG.SHA256, 'sha256'],
  [TPM_ALG.SHA384, 'sha384'],
  [TPM_ALG.SHA512, 'sha512'],
]);

const ID_OF: Record<HashAlg, number> = {
  sha1: TPM_ALG.SHA1,
  sha256: TPM_ALG.SHA256,
  sha384: TPM_ALG.SHA384,
  sha512: TPM_ALG.SHA512,
};

export const DIGEST_SIZE: Record<HashAlg, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** The hash for a TPM_ALG_ID, or undefined for an algorithm bootgate does not accept. */
export function hashAlgFromId(id: number): HashAlg | undefined {
  return BY_ID.get(id);
}

export function hashAlgId(alg: HashAlg): number {
  return ID_OF[alg];
}

export function isHashAlg(s: string): s is HashAlg {
  return (HASH_ALGS as readonly string[]).includes(s);
}

export function digest(alg: HashAlg, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** PCR values by bank: bank -> PCR index -> value. Used for replayed, claimed and quoted values alike. */
export type PcrBanks = Partial<Record<HashAlg, Map<number, Uint8Array>>>;
