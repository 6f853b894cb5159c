/**
 * In-process notifier for trust events. The store owns the sequence (so it survives restarts and
 * is shared by replicas); the hub only wakes long-polls and pokes webhook dispatch the moment an
 * event is appended in this process (publish), or the store reports one another replica appended
 * (announce). A long-poll that misses a wake-up still finds the event at its next store re-check.
 */
import type { TrustEventRecord } from '../store/types.ts';

export type TrustEventListener = (e: TrustEventRecord) => void;
export type WaitOutcome = 'event' | 'timeout' | 'aborted';

export class TrustEventHub {
  private highestSeq = 0;
  /** Recently published sequences: publishing the same event twice (wrapped store + explicit call) notifies once. */
  private readonly recent = new Set<number>();
  private static readonly RECENT_MAX = 4096;
  private readonly waiters = new Set<{ after: number; wake: (o: WaitOutcome) => void }>();
  private readonly listeners = new Set<TrustEventListener>();

  /** Highest sequence published in this process (0 before the first). */
  get lastPublishedSeq(): number {
    return this.highestSeq;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** Call after the event is durable in the store. Never throws: a faulty listener is isolated. */
  publish(e: TrustEventRecord): void {
    if (this.recent.has(e.seq)) return;
    this.recent.add(e.seq);
    if (this.recent.size > TrustEventHub.RECENT_MAX) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    if (e.seq > this.highestSeq) this.highestSeq = e.seq;
    for (const w of [...this.waiters]) if (e.seq > w.after) w.wake('event');
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A listener's failure must not break the request that appended the event.
      }
    }
  }

  /** An event appended elsewhere (Store.subscribe): wakes the long-polls waiting for it. */
  announce(seq: number): void {
    if (seq > this.highestSeq) this.highestSeq = seq;
    for (const w of [...this.waiters]) if (seq > w.after) w.wake('event');
  }

  subscribe(listener: TrustEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when an event with seq > after is published, the timeout passes, or the signal aborts. */
  wait(after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.highestSeq > after) return Promise.resolve('event');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const waiter = {
        after,
        wake: (o: WaitOutcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(o);
        },
      };
      const onAbort = () => waiter.wake('aborted');
      const timer = setTimeout(() => waiter.wake('timeout'), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }
}
