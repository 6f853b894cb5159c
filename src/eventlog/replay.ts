/**
 * Replays every bank of a parsed log: PCR := H(PCR ‖ digest) for each measured event.
 *
 * Initial values (TPM 2.0 Part 1 / PC Client PTP): PCRs 17–22 reset to all ones (dynamic-launch
 * PCRs), every other PCR to zeros. PCR 0 starts at 00…0L when the firmware logged a
 * StartupLocality event for locality L (Boot Guard / TXT start at locality 3). When the platform ran
 * an H-CRTM sequence (EV_EFI_HCRTM_EVENT in PCR 0), the TPM starts PCR 0 at 00…04 (locality 4) and
 * the H-CRTM digest is the first extend; that event is replayed like any other.
 *
 * Not extended: EV_NO_ACTION, and Windows' PCR-index 0xFFFFFFFF entries. A bank missing an event's
 * digest makes that (bank, PCR) unreplayable: it is reported and left out of `pcrs`, never guessed.
 */
import { DIGEST_SIZE, type HashAlg } from '../tpm/alg.ts';
import { hash } from 'node:crypto';
import { EV, PCR_INDEX_NOT_EXTENDED } from './event-types.ts';
import type { EventLog, ReplayResult, UnreplayablePcr } from './types.ts';

const HCRTM_LOCALITY = 4;

function resetValue(alg: HashAlg, pcr: number, pcr0Locality: number): Uint8Array {
  const v = new Uint8Array(DIGEST_SIZE[alg]);
  if (pcr >= 17 && pcr <= 22) v.fill(0xff);
  else if (pcr === 0) v[v.length - 1] = pcr0Locality;
  return v;
}

/** Events that the firmware records but never extends into a PCR. */
export function isExtended(pcr: number, type: number): boolean {
  return type !== EV.EV_NO_ACTION && pcr !== PCR_INDEX_NOT_EXTENDED;
}

/**
 * `banks` limits the replay to those banks (default: every bank the log declares). The appraisal
 * pipeline passes the banks it will read, since each bank costs one hash per event.
 */
export function replayEventLog(log: EventLog, banks: readonly HashAlg[] = log.banks): ReplayResult {
  let startupLocality: number | undefined;
  let hcrtm = false;
  for (const e of log.events) {
    if (e.decoded.kind === 'startup_locality' && startupLocality === undefined) startupLocality = e.decoded.locality;
    if (e.type === EV.EV_EFI_HCRTM_EVENT && e.pcr === 0) hcrtm = true;
  }
  const pcr0Locality = hcrtm ? HCRTM_LOCALITY : (startupLocality ?? 0);

  // One scratch buffer per extend (PCR ‖ digest): one-shot hashing of it is much cheaper than a Hash object.
  const scratch = new Uint8Array(128);
  const pcrs: ReplayResult['pcrs'] = {};
  const unreplayable: UnreplayablePcr[] = [];
  for (const bank of log.banks) {
    if (banks !== log.banks && !banks.includes(bank)) continue;
    const values = new Map<number, Uint8Array>();
    const broken = new Set<number>();
    for (const e of log.events) {
      if (!isExtended(e.pcr, e.type) || broken.has(e.pcr)) continue;
      const d = e.digests[bank];
      if (d === undefined) {
        broken.add(e.pcr);
        values.delete(e.pcr);
        unreplayable.push({ bank, pcr: e.pcr, eventIndex: e.index });
        continue;
      }
      const prev = values.get(e.pcr) ?? resetValue(bank, e.pcr, pcr0Locality);
      scratch.set(prev, 0);
      scratch.set(d, prev.length);
      // Intermediate values stay Buffers (no copy); the final ones are plain Uint8Arrays below.
      values.set(e.pcr, hash(bank, scratch.subarray(0, prev.length + d.length), 'buffer') as unknown as Uint8Array);
    }
    for (const [pcr, v] of values) if (v instanceof Buffer) values.set(pcr, new Uint8Array(v));
    // A StartupLocality event initialises PCR 0 even when nothing else in the log extends it.
    if (startupLocality !== undefined && !values.has(0) && !broken.has(0)) values.set(0, resetValue(bank, 0, pcr0Locality));
    pcrs[bank] = values;
  }
  const result: ReplayResult = { pcrs, unreplayable };
  if (startupLocality !== undefined) result.startupLocality = startupLocality;
  return result;
}
