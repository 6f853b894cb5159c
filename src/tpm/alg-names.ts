/** Human names for TPM_ALG_ID values, so errors name the algorithm instead of a bare number. */
import { TPM_ALG } from './alg.ts';

/** TPM_ALG_ID values that alg.ts does not list but structures may carry (Part 2, table 9). */
export const TPM_ALG_EXTRA = {
  MGF1: 0x0007,
  XOR: 0x000a,
  SM3_256: 0x0012,
  SM4: 0x0013,
  ECMQV: 0x001d,
  CAMELLIA: 0x0026,
  SHA3_256: 0x0027,
  SHA3_384: 0x0028,
  SHA3_512: 0x0029,
} as const;

const NAMES = new Map<number, string>();
for (const [k, v] of Object.entries({ ...TPM_ALG, ...TPM_ALG_EXTRA })) NAMES.set(v, `TPM_ALG_${k}`);

export function algName(id: number): string {
  return NAMES.get(id) ?? `TPM_ALG_0x${id.toString(16).padStart(4, '0')}`;
}
