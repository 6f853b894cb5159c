/**
 * What a host must quote (contract §3.2 `pcrSelection`): every PCR its profiles appraise, in the
 * bank each profile appraises, as one TPML_PCR_SELECTION written in `tpm2_quote -l` syntax
 * (`sha1:0,1+sha256:0,1,2`). A host that quotes it verbatim is never refused for pcr_not_quoted,
 * whichever of its profiles ends up deciding.
 */
import type { GoldenProfile } from '../golden/schema.ts';
import { HASH_ALGS, type HashAlg } from '../tpm/alg.ts';
import { PCR_SELECT_MIN, formatPcrSelection, type TPML_PCR_SELECTION } from '../tpm/pcr-selection.ts';

/** PC Client TPMs have 24 PCRs. */
const ALL_PCRS = Array.from({ length: 24 }, (_, i) => i);

/**
 * Without a profile the verdict is profile_not_found whatever is quoted (deny by default); the host
 * is asked for every sha256 PCR, so the evidence recorded with that verdict shows all it booted.
 */
export const NO_PROFILE_SELECTION: TPML_PCR_SELECTION = [{ hash: 'sha256', pcrs: ALL_PCRS, sizeofSelect: PCR_SELECT_MIN }];

/** The union, per bank, of the PCRs the profiles appraise; banks in TPM_ALG_ID order, PCRs ascending. */
export function requiredPcrSelection(profiles: readonly Pick<GoldenProfile, 'bank' | 'pcrs'>[]): TPML_PCR_SELECTION {
  if (profiles.length === 0) return NO_PROFILE_SELECTION;
  const byBank = new Map<HashAlg, Set<number>>();
  for (const p of profiles) {
    const set = byBank.get(p.bank) ?? new Set<number>();
    for (const pcr of p.pcrs) set.add(pcr);
    byBank.set(p.bank, set);
  }
  return HASH_ALGS.filter((b) => byBank.has(b)).map((hash) => ({
    hash,
    pcrs: [...byBank.get(hash)!].sort((a, b) => a - b),
    sizeofSelect: PCR_SELECT_MIN,
  }));
}

/** The selection in `tpm2_quote -l` syntax. */
export function requiredPcrSelectionText(profiles: readonly Pick<GoldenProfile, 'bank' | 'pcrs'>[]): string {
  return formatPcrSelection(requiredPcrSelection(profiles));
}
