/**
 * Kept event logs, parsed on demand. The store holds bytes; changes, drift and the census read the
 * same few logs over and over (every failing host's last good boot), so parsed logs are kept in a
 * bounded LRU by digest. A log that no longer parses (a parser that became stricter) reads as absent.
 */
import { parseEventLog } from '../eventlog/index.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { Store } from '../store/types.ts';
import { BoundedLru } from '../util/lru.ts';
import { ParseError } from '../util/errors.ts';

/** A parsed log takes a few times its bytes in memory. */
const PARSED_WEIGHT = 4;

export class EvidenceLogs {
  private readonly parsed = new BoundedLru<string, EventLog | null>(1024, 128 * 1024 * 1024);

  constructor(private readonly store: Pick<Store, 'getEventLog'>) {}

  /** The kept log with this SHA-256 (hex), parsed; undefined when it is not kept or does not parse. */
  async get(digest: string): Promise<EventLog | undefined> {
    const hit = this.parsed.get(digest);
    if (hit !== undefined) return hit ?? undefined;
    const bytes = await this.store.getEventLog(digest);
    if (bytes === undefined) return undefined;
    return this.parse(digest, bytes);
  }

  /** Parses bytes in hand (the log of the appraisal being recorded), sharing the cache. */
  parse(digest: string, bytes: Uint8Array): EventLog | undefined {
    const hit = this.parsed.get(digest);
    if (hit !== undefined) return hit ?? undefined;
    let log: EventLog | null;
    try {
      log = parseEventLog(bytes);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      log = null;
    }
    this.parsed.set(digest, log, Math.max(1, bytes.length * PARSED_WEIGHT));
    return log ?? undefined;
  }
}
