/** The quote's pcrDigest: H_sigHash over the selected PCR values in selection order. */
import { ParseError } from '../util/errors.ts';
import { DIGEST_SIZE, type HashAlg, type PcrBanks, digest } from './alg.ts';
import type { TPML_PCR_SELECTION } from './pcr-selection.ts';

/** A selected PCR for which no value was supplied. */
export class PcrValueMissingError extends Error {
  override readonly name = 'PcrValueMissingError';
  constructor(
    readonly bank: HashAlg,
    readonly pcr: number,
  ) {
    super(`no value for PCR ${pcr} in bank ${bank}`);
  }
}

/** The PCR values a selection covers, bank by bank as listed, PCR index ascending. */
export function selectedPcrValues(selection: TPML_PCR_SELECTION, values: PcrBanks): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const sel of selection) {
    const bank = values[sel.hash];
    for (const pcr of [...sel.pcrs].sort((a, b) => a - b)) {
      const v = bank?.get(pcr);
      if (v === undefined) throw new PcrValueMissingError(sel.hash, pcr);
      if (v.length !== DIGEST_SIZE[sel.hash]) {
        throw new ParseError('PcrBanks', `${sel.hash}[${pcr}]`, 0, `value is ${v.length} bytes, a ${sel.hash} PCR has ${DIGEST_SIZE[sel.hash]}`);
      }
      out.push(v);
    }
  }
  return out;
}

/**
 * H_hash(PCR values in selection order). `hash` is the quote signature's hash, which need not be
 * any selected bank's. Throws PcrValueMissingError when a selected value is absent.
 */
export function computePcrDigest(selection: TPML_PCR_SELECTION, values: PcrBanks, hash: HashAlg): Uint8Array {
  return digest(hash, ...selectedPcrValues(selection, values));
}
