/**
 * Delivers each trust event to each webhook, off the request path, with bounded retries and
 * exponential backoff (p-retry). Delivery is at-least-once per attempt budget, not guaranteed:
 * consumers that must not miss anything reconcile with GET /v1/events?after=<last seq they saw>.
 */
import pRetry, { AbortError } from 'p-retry';
import type { TrustEventRecord } from '../../store/types.ts';
import { fromBase64 } from '../../util/encoding.ts';
import type { TrustEventHub } from '../hub.ts';
import type { WebhookConfig, WebhookRegistry } from './registry.ts';
import { SEQ_HEADER, SIGNATURE_HEADER, signWebhookBody } from './signature.ts';

export interface DeliveryReport {
  webhookId: string;
  seq: number;
  /** 1-based attempt number. */
  attempt: number;
  ok: boolean;
  status?: number;
  error?: string;
  /** Set when another attempt is scheduled after this failure. */
  retryInMs?: number;
}

export interface DispatcherOptions {
  /** Attempts per event and webhook, first one included (default 6). */
  maxAttempts?: number;
  /** Delay before the 2nd attempt; doubles each time (default 1000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt HTTP timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Deliveries waiting or in flight beyond this are dropped (and reported), bounding memory. */
  maxPending?: number;
  fetch?: typeof fetch;
  onDelivery?: (r: DeliveryReport) => void;
}

/** The delay p-retry waits after failed attempt `failedAttempt` (factor 2, no randomisation), for the reports. */
export function backoffDelayMs(failedAttempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (failedAttempt - 1));
}

export class WebhookDispatcher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly doFetch: typeof fetch;
  /** Aborted by close(): backoff waits end at once. */
  private readonly stopped = new AbortController();
  private readonly report: (r: DeliveryReport) => void;
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly registry: WebhookRegistry, opts: DispatcherOptions = {}) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 6);
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxPending = opts.maxPending ?? 10_000;
    this.doFetch = opts.fetch ?? fetch;
    this.report = opts.onDelivery ?? (() => undefined);
  }

  /** Subscribe to the hub; returns the unsubscribe function. */
  attach(hub: TrustEventHub): () => void {
    return hub.subscribe((e) => this.dispatch(e));
  }

  /** Fire and forget: returns at once; deliveries run in the background. */
  dispatch(event: TrustEventRecord): void {
    if (this.closed) return;
    const body = JSON.stringify(event);
    for (const hook of this.registry.list()) {
      if (this.pending.size >= this.maxPending) {
        this.report({ webhookId: hook.id, seq: event.seq, attempt: 0, ok: false, error: 'dropped: too many pending deliveries' });
        continue;
      }
      const p: Promise<void> = this.deliver(hook, event.seq, body).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Resolves when every delivery started so far has finished (delivered or given up). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stop scheduling retries; in-flight attempts finish on their own. */
  close(): void {
    this.closed = true;
    this.stopped.abort();
  }

  private async deliver(hook: WebhookConfig, seq: number, body: string): Promise<void> {
    await pRetry(
      async (attempt) => {
        // The webhook may have been deleted or re-pointed while we were backing off.
        const current = this.registry.get(hook.id);
        if (current === undefined || current.url !== hook.url || this.closed) throw new AbortError('webhook gone');
        const secret = fromBase64(current.secret);
        if (secret === null) throw new AbortError('webhook secret unusable');
        const outcome = await this.attempt(current.url, secret, seq, body);
        const retryInMs = outcome.ok || attempt === this.maxAttempts ? undefined : backoffDelayMs(attempt, this.baseDelayMs, this.maxDelayMs);
        this.report({ webhookId: hook.id, seq, attempt, ...outcome, ...(retryInMs !== undefined ? { retryInMs } : {}) });
        if (!outcome.ok) throw new Error('delivery failed');
      },
      {
        retries: this.maxAttempts - 1,
        factor: 2,
        minTimeout: this.baseDelayMs,
        maxTimeout: this.maxDelayMs,
        randomize: false,
        unref: true,
        signal: this.stopped.signal,
      },
    ).catch(() => undefined);
  }

  private async attempt(url: string, secret: Uint8Array, seq: number, body: string): Promise<{ ok: boolean; status?: number; error?: string }> {
    try {
      const res = await this.doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'bootgate-webhook/1',
          [SIGNATURE_HEADER]: signWebhookBody(secret, body),
          [SEQ_HEADER]: String(seq),
        },
        body,
        // A redirect could point the signed event anywhere; the configured URL is the only target.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status };
    } catch (err) {
      return { ok: false, error: (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed' };
    }
  }
}
