/**
 * What an appraisal answers. A Finding is one reason an appraisal failed, shaped as the
 * contract's failure object (§3.2) plus the golden rule and decoded component that decided it.
 */
import type { HashAlg } from '../tpm/alg.ts';

export interface Finding {
  /** Stable snake_case code, documented in the README's failure-code table. */
  code: string;
  /** One human sentence: which PCR, which event, which component, expected what, found what. */
  message: string;
  pcr?: number;
  bank?: HashAlg;
  eventIndex?: number;
  eventType?: string;
  /** Decoded component, e.g. "EFI application \\EFI\\ubuntu\\shimx64.efi" or "db certificate CN=...". */
  component?: string;
  /** The golden rule that decided, e.g. "pcr4.bootloader" or "secureBoot.enabled". */
  rule?: string;
  expected?: unknown;
  actual?: unknown;
  /** false when the event's data is not verified by its digest: the decoded data shown is the log's claim only. */
  dataVerified?: false;
}

/** An appraised event whose data its digest does not verify: the profile decided it by digest alone. */
export interface UnverifiedData {
  pcr: number;
  eventIndex: number;
  eventType: string;
  bank: HashAlg;
  /** The FIRMWARE_QUIRKS entry that explains the deviation, when one applies. */
  knownDeviation?: string;
}

export type Verdict = 'pass' | 'fail';
