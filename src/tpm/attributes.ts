/** TPMA_OBJECT bits (TPM 2.0 Part 2, 8.3). */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
  x509sign: 1 << 19,
} as const;

export type TpmaObjectName = keyof typeof TPMA_OBJECT;

/** Names of the set TPMA_OBJECT bits, for messages and JSON output. */
export function describeObjectAttributes(attrs: number): TpmaObjectName[] {
  return (Object.keys(TPMA_OBJECT) as TpmaObjectName[]).filter((k) => (attrs & TPMA_OBJECT[k]) !== 0);
}

/** True when every bit of `mask` is set in `attrs`. */
export function hasAttributes(attrs: number, mask: number): boolean {
  return ((attrs & mask) >>> 0) === mask >>> 0;
}

/** TPM_ST values for TPMS_ATTEST.type (Part 2, 6.9). */
export const TPM_ST = {
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  ATTEST_NV_DIGEST: 0x801c,
} as const;

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = TPM_ST.ATTEST_QUOTE;

/** TPM_ECC_CURVE values bootgate can verify with. */
export const TPM_ECC_CURVE = {
  NIST_P192: 0x0001,
  NIST_P224: 0x0002,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
  BN_P256: 0x0010,
  BN_P638: 0x0011,
  SM2_P256: 0x0020,
} as const;

/** Buffer bounds from Part 2 (sizes of the unions the TPM2Bs wrap), with SHA-512 as the largest digest. */
export const TPM2B_MAX = {
  DIGEST: 64,
  /** TPMU_NAME: a TPMT_HA (2 + 64) or a 4-byte handle. */
  NAME: 66,
  /** TPM2B_DATA holds a TPMT_HA. */
  DATA: 66,
  PUBLIC_KEY_RSA: 512,
  ECC_PARAMETER: 128,
  /** Generous bound for TPM2B_MAX_NV_BUFFER. */
  MAX_NV_BUFFER: 2048,
} as const;
