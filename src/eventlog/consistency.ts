/**
 * Digest consistency: for event types whose digest the PC Client PFP defines as the hash of the
 * event data itself, every bank's digest must be that hash (or a preimage a FIRMWARE_QUIRKS entry
 * accepts). Otherwise a log could describe one thing while the PCR holds another.
 * Types that measure something outside the log (images, firmware volumes, files) are not checked.
 */
import type { HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';
import { EV } from './event-types.ts';
import { DataHashes, hashOf } from './data-hash.ts';
import { quirksFor, type FirmwareQuirk } from './quirks.ts';
import type { DigestMismatch, EventLog, TcgEvent } from './types.ts';

/** EventType -> PCRs where its digest is H(event data) (undefined: any PCR). */
const DATA_HASHED: ReadonlyMap<number, ReadonlySet<number> | undefined> = new Map([
  [EV.EV_SEPARATOR, undefined],
  [EV.EV_ACTION, undefined],
  [EV.EV_EFI_ACTION, undefined],
  [EV.EV_S_CRTM_VERSION, undefined],
  [EV.EV_OMIT_BOOT_DEVICE_EVENTS, undefined],
  [EV.EV_EFI_VARIABLE_DRIVER_CONFIG, undefined],
  [EV.EV_EFI_VARIABLE_BOOT, undefined],
  [EV.EV_EFI_VARIABLE_BOOT2, undefined],
  [EV.EV_EFI_VARIABLE_AUTHORITY, undefined],
  [EV.EV_EFI_GPT_EVENT, undefined],
  [EV.EV_EFI_GPT_EVENT2, undefined],
  // EV_IPL: grub's commands and kernel command line (PCR 8) and systemd-boot's (PCR 12). Elsewhere
  // (grub/shim PCR 9 and 14) the data names a file or variable whose contents were hashed.
  [EV.EV_IPL, new Set([8, 12])],
]);

export interface QuirkUse {
  eventIndex: number;
  bank: HashAlg;
  quirkId: string;
}

export interface ConsistencyReport {
  mismatches: DigestMismatch[];
  /** Events accepted only through a FIRMWARE_QUIRKS entry. */
  quirksApplied: QuirkUse[];
}

function isChecked(e: TcgEvent): boolean {
  if (!DATA_HASHED.has(e.type)) return false;
  const pcrs = DATA_HASHED.get(e.type);
  return pcrs === undefined || pcrs.has(e.pcr);
}

interface QuirkPreimages {
  quirk: FirmwareQuirk;
  preimages: Uint8Array[];
}

/** The alternative preimages each applicable quirk accepts for this event, in table order. */
function quirkPreimages(e: TcgEvent): QuirkPreimages[] {
  return quirksFor(e).map((quirk) => {
    try {
      return { quirk, preimages: quirk.alternatives?.(e) ?? [] };
    } catch {
      return { quirk, preimages: [] }; // a quirk whose structure does not fit this event does not apply
    }
  });
}

export interface ConsistencyOptions {
  /** Check only these banks (default: every bank an event carries). The pipeline passes the appraised banks. */
  banks?: readonly HashAlg[];
  /** Shared with the golden rules so event data is hashed once per algorithm. */
  dataHashes?: DataHashes;
}

export function checkDigestConsistencyDetailed(log: EventLog, opts: ConsistencyOptions = {}): ConsistencyReport {
  const mismatches: DigestMismatch[] = [];
  const quirksApplied: QuirkUse[] = [];
  const hashes = opts.dataHashes ?? new DataHashes();
  for (const e of log.events) {
    if (!isChecked(e)) continue;
    let quirks: QuirkPreimages[] | undefined; // the same for every bank: derived once, on first need
    for (const [bank, logged] of Object.entries(e.digests) as [HashAlg, Uint8Array][]) {
      if (opts.banks !== undefined && !opts.banks.includes(bank)) continue;
      if (hashes.matches(e.data, bank, logged)) continue;
      quirks ??= quirkPreimages(e);
      const quirk = quirks.find((q) => q.preimages.some((alt) => hashOf(bank, alt).equals(logged)))?.quirk;
      if (quirk !== undefined) quirksApplied.push({ eventIndex: e.index, bank, quirkId: quirk.id });
      else mismatches.push({ eventIndex: e.index, pcr: e.pcr, typeName: e.typeName, bank, logged: toHex(logged), computed: toHex(hashes.of(e.data, bank)) });
    }
  }
  return { mismatches, quirksApplied };
}

export function checkDigestConsistency(log: EventLog, opts: ConsistencyOptions = {}): DigestMismatch[] {
  return checkDigestConsistencyDetailed(log, opts).mismatches;
}
