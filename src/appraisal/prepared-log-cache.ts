/**
 * A bounded LRU of PreparedLogs keyed by the SHA-256 of the log bytes and the banks prepared.
 * Hosts re-attest many times per boot with a byte-identical log; parsing, replaying and checking
 * it again would give the same answer. Bounded by entry count and by the total size of the logs
 * held, so hostile logs cannot grow it without limit; a log larger than the budget is not kept.
 */
import { createHash } from 'node:crypto';
import type { HashAlg } from '../tpm/alg.ts';
import { BoundedLru } from '../util/lru.ts';
import { prepareLog, type LogPreparer, type PreparedLog } from './prepared-log.ts';

export interface PreparedLogCacheOptions {
  maxEntries: number;
  /** Sum of the raw sizes of the cached logs. */
  maxLogBytes: number;
}

export class PreparedLogCache implements LogPreparer {
  private readonly entries: BoundedLru<string, PreparedLog>;
  hits = 0;
  misses = 0;

  constructor(options: PreparedLogCacheOptions) {
    this.entries = new BoundedLru(options.maxEntries, options.maxLogBytes);
  }

  prepare(eventLog: Uint8Array, replayBanks: HashAlg[], consistencyBanks: HashAlg[], sha256Hex?: string): { prepared: PreparedLog; cached: boolean } {
    const digest = sha256Hex ?? createHash('sha256').update(eventLog).digest('hex');
    const key = `${digest}|${replayBanks.join(',')}|${consistencyBanks.join(',')}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      return { prepared: hit, cached: true };
    }
    this.misses++;
    // A log that does not parse throws here and is never cached.
    const prepared = prepareLog(eventLog, replayBanks, consistencyBanks);
    this.entries.set(key, prepared, eventLog.length);
    return { prepared, cached: false };
  }

  get size(): number {
    return this.entries.size;
  }
}
