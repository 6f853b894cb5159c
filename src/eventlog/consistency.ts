/**
 * Digest consistency: for event types whose digest can be checked against their data
 * (digest-conventions.ts), is each bank's digest one of the genuine forms, or a preimage a
 * FIRMWARE_QUIRKS entry accepts? Where it is, the event's data is verified. Where it is not, the
 * data is unverified: it must not be trusted by any rule, but replay still uses the logged digest,
 * so a rule that pins the event by its digest alone can still decide it (appraisal/ decides which).
 */
import type { HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';
import { DataHashes, hashOf } from './data-hash.ts';
import { checkableConvention, type DigestConvention } from './digest-conventions.ts';
import { opaqueQuirkFor, quirksFor, type FirmwareQuirk } from './quirks.ts';
import type { DigestMismatch, EventLog, TcgEvent } from './types.ts';

export interface QuirkUse {
  eventIndex: number;
  bank: HashAlg;
  quirkId: string;
}

export interface ConsistencyReport {
  /** Events whose digest is none of their type's genuine digests: their data is unverified. */
  mismatches: DigestMismatch[];
  /** Events verified only through a FIRMWARE_QUIRKS entry. */
  quirksApplied: QuirkUse[];
  /** The banks checked (undefined: every bank an event carries). */
  banks?: readonly HashAlg[];
  /** `${eventIndex}/${bank}` of each mismatch, for dataVerified(). */
  unverified: ReadonlySet<string>;
}

export interface ConsistencyOptions {
  /** Check only these banks (default: every bank an event carries). The pipeline passes the appraised banks. */
  banks?: readonly HashAlg[];
  /** Shared with the golden rules so event data is hashed once per algorithm. */
  dataHashes?: DataHashes;
}

/** The preimages a quirk accepts for this event; none when its structure does not fit. */
function quirkPreimages(quirk: FirmwareQuirk, e: TcgEvent): Uint8Array[] {
  try {
    return quirk.alternatives?.(e) ?? [];
  } catch {
    return []; // a quirk whose structure does not fit this event does not apply
  }
}

/**
 * The id of the form (or quirk) whose preimage hashes to `logged`, or undefined. Preimages of one
 * event differ, so at most one matches: quirks marked tryFirst go first when they apply (one hash
 * instead of two for every grub command), which changes the cost and never the answer.
 */
function genuineForm(e: TcgEvent, convention: DigestConvention, bank: HashAlg, logged: Uint8Array, hashes: DataHashes): { id: string; quirk: boolean } | undefined {
  const quirks = quirksFor(e);
  let tried: FirmwareQuirk | undefined;
  for (const quirk of quirks) {
    if (quirk.tryFirst !== true) continue;
    const preimages = quirkPreimages(quirk, e);
    if (preimages.length === 0) continue;
    if (preimages.some((p) => hashOf(bank, p).equals(logged))) return { id: quirk.id, quirk: true };
    tried = quirk;
    break;
  }
  for (const form of convention.forms) {
    const bytes = form.bytes(e);
    if (bytes === null) continue;
    if (bytes === e.data ? hashes.matches(e.data, bank, logged) : hashOf(bank, bytes).equals(logged)) return { id: form.id, quirk: false };
  }
  for (const quirk of quirks) {
    if (quirk === tried) continue;
    if (quirkPreimages(quirk, e).some((p) => hashOf(bank, p).equals(logged))) return { id: quirk.id, quirk: true };
  }
  return undefined;
}

function oneDigest(e: TcgEvent, bank: HashAlg): [HashAlg, Uint8Array][] {
  const d = e.digests[bank];
  return d === undefined ? [] : [[bank, d]];
}

export function checkDigestConsistencyDetailed(log: EventLog, opts: ConsistencyOptions = {}): ConsistencyReport {
  const mismatches: DigestMismatch[] = [];
  const quirksApplied: QuirkUse[] = [];
  const unverified = new Set<string>();
  const hashes = opts.dataHashes ?? new DataHashes();
  // One bank (the pipeline's usual case): look it up rather than walk every digest of every event.
  const one = opts.banks?.length === 1 ? opts.banks[0] : undefined;
  for (const e of log.events) {
    const convention = checkableConvention(e);
    if (convention === undefined) continue;
    for (const [bank, logged] of one !== undefined ? oneDigest(e, one) : (Object.entries(e.digests) as [HashAlg, Uint8Array][])) {
      if (opts.banks !== undefined && !opts.banks.includes(bank)) continue;
      const form = genuineForm(e, convention, bank, logged, hashes);
      if (form?.quirk === true) quirksApplied.push({ eventIndex: e.index, bank, quirkId: form.id });
      if (form !== undefined) continue;
      const m: DigestMismatch = { eventIndex: e.index, pcr: e.pcr, typeName: e.typeName, bank, logged: toHex(logged), computed: toHex(hashes.of(e.data, bank)) };
      const known = opaqueQuirkFor(e, log);
      if (known !== undefined) m.knownDeviation = known.id;
      mismatches.push(m);
      unverified.add(`${e.index}/${bank}`);
    }
  }
  const report: ConsistencyReport = { mismatches, quirksApplied, unverified };
  if (opts.banks !== undefined) report.banks = opts.banks;
  return report;
}

export function checkDigestConsistency(log: EventLog, opts: ConsistencyOptions = {}): DigestMismatch[] {
  return checkDigestConsistencyDetailed(log, opts).mismatches;
}

/**
 * Whether the event's data is verified by its digest in `bank`: true or false for types whose
 * digest can be checked against their data (in a bank the report checked), undefined where the
 * digest measures content the log does not hold, so the data can never be verified.
 */
export function dataVerified(report: ConsistencyReport, e: TcgEvent, bank: HashAlg): boolean | undefined {
  if (checkableConvention(e) === undefined || e.digests[bank] === undefined) return undefined;
  if (report.banks !== undefined && !report.banks.includes(bank)) return undefined;
  // Most logs have no unverified event: skip building the key for each of their events.
  return report.unverified.size === 0 || !report.unverified.has(`${e.index}/${bank}`);
}
