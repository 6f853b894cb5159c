/**
 * A bounded LRU of PreparedLogs keyed by the SHA-256 of the log bytes and the banks prepared.
 * Hosts re-attest many times per boot with a byte-identical log; parsing, replaying and checking
 * it again would give the same answer. Bounded by entry count and by the total size of the logs
 * held, so hostile logs cannot grow it without limit; a log larger than the budget is not kept.
 */
import { createHash } from 'node:crypto';
import type { HashAlg } from '../tpm/alg.ts';
import { prepareLog, type LogPreparer, type PreparedLog } from './prepared-log.ts';

export interface PreparedLogCacheOptions {
  maxEntries: number;
  /** Sum of the raw sizes of the cached logs. */
  maxLogBytes: number;
}

export class PreparedLogCache implements LogPreparer {
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recent.
  private readonly entries = new Map<string, { prepared: PreparedLog; bytes: number }>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly options: PreparedLogCacheOptions) {}

  prepare(eventLog: Uint8Array, replayBanks: HashAlg[], consistencyBanks: HashAlg[], sha256Hex?: string): { prepared: PreparedLog; cached: boolean } {
    const digest = sha256Hex ?? createHash('sha256').update(eventLog).digest('hex');
    const key = `${digest}|${replayBanks.join(',')}|${consistencyBanks.join(',')}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.hits++;
      return { prepared: hit.prepared, cached: true };
    }
    this.misses++;
    // A log that does not parse throws here and is never cached.
    const prepared = prepareLog(eventLog, replayBanks, consistencyBanks);
    if (eventLog.length <= this.options.maxLogBytes && this.options.maxEntries > 0) {
      this.entries.set(key, { prepared, bytes: eventLog.length });
      this.bytes += eventLog.length;
      for (const [k, e] of this.entries) {
        if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxLogBytes) break;
        this.entries.delete(k);
        this.bytes -= e.bytes;
      }
    }
    return { prepared, cached: false };
  }

  get size(): number {
    return this.entries.size;
  }
}
