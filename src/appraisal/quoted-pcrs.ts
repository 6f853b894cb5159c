/**
 * Which value each quoted PCR takes for the pcrDigest check (contract §3.2): a PCR the event log
 * covers takes its replayed value whatever the host claims; one it does not cover takes the claimed
 * value. When the result does not reproduce the quote's pcrDigest, the claimed values tell us why.
 */
import type { ReplayResult } from '../eventlog/types.ts';
import { type HashAlg, type PcrBanks } from '../tpm/alg.ts';
import { computePcrDigest } from '../tpm/pcr-digest.ts';
import { type TPML_PCR_SELECTION, formatPcrSelection } from '../tpm/pcr-selection.ts';
import { constantTimeEqual, bytesEqual, toHex } from '../util/encoding.ts';
import type { Finding } from './types.ts';

export type PcrSource = 'log' | 'claimed';

export interface ResolvedQuotedPcrs {
  /** The value used for each quoted PCR that has one. */
  values: PcrBanks;
  /** Where each value came from. */
  source: Partial<Record<HashAlg, Map<number, PcrSource>>>;
  findings: Finding[];
}

function setIn<T>(banks: Partial<Record<HashAlg, Map<number, T>>>, bank: HashAlg, pcr: number, v: T): void {
  const m = banks[bank] ?? new Map<number, T>();
  banks[bank] = m;
  m.set(pcr, v);
}

export function resolveQuotedPcrs(
  selection: TPML_PCR_SELECTION,
  replay: ReplayResult | undefined,
  claimed: PcrBanks | undefined,
  quotePcrDigest: Uint8Array,
  hash: HashAlg,
): ResolvedQuotedPcrs {
  const values: PcrBanks = {};
  const source: ResolvedQuotedPcrs['source'] = {};
  const findings: Finding[] = [];
  const unreplayable = new Map<string, number>();
  for (const u of replay?.unreplayable ?? []) {
    const key = `${u.bank}:${u.pcr}`;
    if (!unreplayable.has(key)) unreplayable.set(key, u.eventIndex);
  }
  let complete = true;

  for (const sel of selection) {
    for (const pcr of [...sel.pcrs].sort((a, b) => a - b)) {
      const claimedValue = claimed?.[sel.hash]?.get(pcr);
      const badEvent = unreplayable.get(`${sel.hash}:${pcr}`);
      if (badEvent !== undefined) {
        // The log touches this PCR but cannot be replayed in this bank: its value cannot come from the log.
        findings.push({
          code: 'pcr_bank_unreplayable',
          message: `PCR ${pcr} cannot be replayed in bank ${sel.hash}: event ${badEvent} carries no ${sel.hash} digest.`,
          pcr,
          bank: sel.hash,
          eventIndex: badEvent,
        });
        if (claimedValue === undefined) complete = false;
        else {
          setIn(values, sel.hash, pcr, claimedValue);
          setIn(source, sel.hash, pcr, 'claimed');
        }
        continue;
      }
      const replayed = replay?.pcrs[sel.hash]?.get(pcr);
      if (replayed !== undefined) {
        setIn(values, sel.hash, pcr, replayed);
        setIn(source, sel.hash, pcr, 'log');
      } else if (claimedValue !== undefined) {
        setIn(values, sel.hash, pcr, claimedValue);
        setIn(source, sel.hash, pcr, 'claimed');
      } else {
        complete = false;
        findings.push({
          code: 'pcr_value_missing',
          message: `PCR ${pcr} (${sel.hash}) is quoted, but the event log does not cover it and no value was supplied for it.`,
          pcr,
          bank: sel.hash,
        });
      }
    }
  }
  if (!complete) return { values, source, findings };

  const resolvedDigest = computePcrDigest(selection, values, hash);
  if (constantTimeEqual(resolvedDigest, quotePcrDigest)) return { values, source, findings };

  // The values we trust do not reproduce the quote. If the host's own claims do, the quote is
  // genuine and the log disagrees with it PCR by PCR; otherwise we cannot say which PCR is wrong.
  let claimedDigest: Uint8Array | undefined;
  try {
    claimedDigest = claimed ? computePcrDigest(selection, claimed, hash) : undefined;
  } catch {
    claimedDigest = undefined;
  }
  if (claimedDigest !== undefined && constantTimeEqual(claimedDigest, quotePcrDigest)) {
    for (const sel of selection) {
      for (const pcr of [...sel.pcrs].sort((a, b) => a - b)) {
        if (source[sel.hash]?.get(pcr) !== 'log') continue;
        const replayed = values[sel.hash]?.get(pcr) as Uint8Array;
        const quoted = claimed?.[sel.hash]?.get(pcr) as Uint8Array;
        if (bytesEqual(replayed, quoted)) continue;
        findings.push({
          code: 'pcr_replay_mismatch',
          message: `PCR ${pcr} (${sel.hash}): replaying the event log gives ${toHex(replayed)}, but the TPM quoted ${toHex(quoted)}; the log does not describe what was measured.`,
          pcr,
          bank: sel.hash,
          expected: toHex(quoted),
          actual: toHex(replayed),
        });
      }
    }
    if (findings.some((f) => f.code === 'pcr_replay_mismatch')) return { values, source, findings };
  }
  findings.push({
    code: 'pcr_digest_mismatch',
    message: `The ${hash} digest of the quoted PCRs (${formatPcrSelection(selection)}), taken from the event log replay and the claimed values, does not match the quote's pcrDigest.`,
    expected: toHex(quotePcrDigest),
    actual: toHex(resolvedDigest),
  });
  return { values, source, findings };
}
