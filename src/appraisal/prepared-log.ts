/**
 * The part of an appraisal that depends on the event log alone: parse, replay of the banks asked
 * for, and the digest/data consistency check. It is a pure function of (log bytes, banks), so a
 * host that attests again during one boot, with the same log, can reuse it (see PreparedLogCache);
 * the quote, the clock and the golden rules are still judged afresh every time.
 *
 * Nothing downstream mutates a PreparedLog; DataHashes only memoizes hashes of event data.
 */
import { performance } from 'node:perf_hooks';
import { checkDigestConsistencyDetailed, DataHashes, parseEventLog, replayEventLog, type ConsistencyReport } from '../eventlog/index.ts';
import type { EventLog, ReplayResult } from '../eventlog/types.ts';
import type { HashAlg } from '../tpm/alg.ts';

export interface PreparedLog {
  log: EventLog;
  replay: ReplayResult;
  consistency: ConsistencyReport;
  dataHashes: DataHashes;
  timings: { parseMs: number; replayMs: number; consistencyMs: number };
}

/**
 * `replayBanks` undefined replays every bank of the log (offline appraisal). Consistency is
 * checked over `consistencyBanks` only: each bank costs one hash per event.
 */
export function prepareLog(eventLog: Uint8Array | EventLog, replayBanks: HashAlg[] | undefined, consistencyBanks: HashAlg[]): PreparedLog {
  const t0 = performance.now();
  const log = eventLog instanceof Uint8Array ? parseEventLog(eventLog) : eventLog;
  const t1 = performance.now();
  const replay = replayBanks === undefined ? replayEventLog(log) : replayEventLog(log, replayBanks);
  const t2 = performance.now();
  const dataHashes = new DataHashes();
  const consistency = checkDigestConsistencyDetailed(log, { banks: consistencyBanks, dataHashes });
  const t3 = performance.now();
  return { log, replay, consistency, dataHashes, timings: { parseMs: t1 - t0, replayMs: t2 - t1, consistencyMs: t3 - t2 } };
}

/** Where the pipeline gets its PreparedLog: prepareLog itself, or a cache in front of it. */
export interface LogPreparer {
  /** `sha256Hex`: the log's SHA-256 when the caller has it (it is computed otherwise). */
  prepare(eventLog: Uint8Array, replayBanks: HashAlg[], consistencyBanks: HashAlg[], sha256Hex?: string): { prepared: PreparedLog; cached: boolean };
}
