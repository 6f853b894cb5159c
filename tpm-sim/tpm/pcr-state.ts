/** The PCR banks of a PC Client TPM: 24 PCRs in each of SHA-1, SHA-256 and SHA-384. */
import { DIGEST_SIZE, digest, type HashAlg, type PcrBanks } from '../../src/tpm/alg.ts';

export const SIM_BANKS = ['sha1', 'sha256', 'sha384'] as const satisfies readonly HashAlg[];
export type SimBank = (typeof SIM_BANKS)[number];
export const PCR_COUNT = 24;

export type EventDigests = Partial<Record<HashAlg, Uint8Array>>;

export class PcrState {
  private banks = new Map<SimBank, Uint8Array[]>();

  constructor() {
    this.startup(0);
  }

  /**
   * TPM2_Startup(CLEAR): PCRs 0-16 and 23 are zero, 17-22 all ones (PC Client PTP). With an H-CRTM /
   * Intel TXT start the S-CRTM runs at locality 3 and PCR 0 starts at 00..03 instead.
   */
  startup(locality: number): void {
    for (const bank of SIM_BANKS) {
      const size = DIGEST_SIZE[bank];
      const values: Uint8Array[] = [];
      for (let i = 0; i < PCR_COUNT; i++) values.push(new Uint8Array(size).fill(i >= 17 && i <= 22 ? 0xff : 0));
      const pcr0 = values[0];
      if (pcr0 && (locality === 3 || locality === 4)) pcr0[size - 1] = locality;
      this.banks.set(bank, values);
    }
  }

  /** TPM2_PCR_Extend for one bank: PCR = H(PCR ‖ digest). */
  extend(pcr: number, bank: SimBank, value: Uint8Array): void {
    const values = this.bankValues(bank);
    const old = values[pcr];
    if (!old) throw new RangeError(`PCR ${pcr} does not exist`);
    if (value.length !== DIGEST_SIZE[bank]) throw new RangeError(`${bank} digest must be ${DIGEST_SIZE[bank]} bytes, got ${value.length}`);
    values[pcr] = digest(bank, old, value);
  }

  /** TPM2_PCR_Reset: only the debug PCR 16 and the application PCR 23 are resettable from locality 0. */
  reset(pcr: number): void {
    if (pcr !== 16 && pcr !== 23) throw new RangeError(`PCR ${pcr} is not resettable at locality 0`);
    for (const bank of SIM_BANKS) {
      const values = this.bankValues(bank);
      values[pcr] = new Uint8Array(DIGEST_SIZE[bank]);
    }
  }

  read(bank: SimBank, pcr: number): Uint8Array {
    const v = this.bankValues(bank)[pcr];
    if (!v) throw new RangeError(`PCR ${pcr} does not exist`);
    return v.slice();
  }

  /** A copy of the selected PCRs (every PCR of every bank when no selection is given). */
  snapshot(selection?: { hash: HashAlg; pcrs: number[] }[]): PcrBanks {
    const sel = selection ?? SIM_BANKS.map((hash) => ({ hash, pcrs: [...Array(PCR_COUNT).keys()] }));
    const out: PcrBanks = {};
    for (const { hash, pcrs } of sel) {
      if (!isSimBank(hash)) throw new RangeError(`the simulated TPM has no ${hash} bank`);
      const m = out[hash] ?? new Map<number, Uint8Array>();
      for (const p of pcrs) m.set(p, this.read(hash, p));
      out[hash] = m;
    }
    return out;
  }

  private bankValues(bank: SimBank): Uint8Array[] {
    const v = this.banks.get(bank);
    if (!v) throw new RangeError(`no ${bank} bank`);
    return v;
  }
}

export function isSimBank(h: HashAlg): h is SimBank {
  return (SIM_BANKS as readonly string[]).includes(h);
}
