/** Long-poll over the trust event sequence: answer at once if events exist, else wait for one. */
import type { Store, TrustEventRecord } from '../store/types.ts';
import type { TrustEventHub } from './hub.ts';

export interface PollResult {
  events: TrustEventRecord[];
  /** Sequence to pass as `after` next time: the last returned event's, or `after` unchanged. */
  lastSeq: number;
}

export async function pollTrustEvents(opts: {
  store: Pick<Store, 'trustEventsAfter'>;
  hub: TrustEventHub;
  after: number;
  limit: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Re-read the store at least this often while waiting, for events appended by other processes. */
  recheckMs?: number;
}): Promise<PollResult> {
  const { store, hub, after, limit, signal } = opts;
  const recheckMs = opts.recheckMs ?? 1000;
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const events = await store.trustEventsAfter(after, limit);
    const left = deadline - Date.now();
    if (events.length > 0 || left <= 0 || signal?.aborted) {
      return { events, lastSeq: events.at(-1)?.seq ?? after };
    }
    await hub.wait(after, Math.min(left, recheckMs), signal);
  }
}
