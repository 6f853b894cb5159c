/**
 * Delivers trust events to webhooks from the store's delivery outbox, off the request path.
 *
 * Every trust event is written with one delivery per webhook in the same transaction, so an
 * acknowledged event is owed to every webhook even if this process dies. Each replica runs a
 * dispatcher; a delivery is claimed by one of them under a lease, attempted, then removed
 * (delivered or given up) or rescheduled with exponential backoff. A replica that dies holding a
 * lease leaves the delivery to another once the lease passes: delivery is once per attempt, and
 * at least once overall. Receivers that must not miss anything reconcile with
 * GET /v1/events?after=<last seq they saw>.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Store, WebhookDelivery } from '../../store/types.ts';
import type { TrustEventHub } from '../hub.ts';
import type { WebhookRegistry } from './registry.ts';
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
  /** Deliveries in flight at once (default 32); the rest wait in the store, not in memory. */
  maxInFlight?: number;
  /** How long a claim keeps other replicas off a delivery (default 30 s; longer than timeoutMs). */
  leaseMs?: number;
  /** Re-read the outbox at least this often, for deliveries another process enqueued or released (default 1000 ms). */
  pollMs?: number;
  /** Names this dispatcher's leases (default host:pid:random). */
  owner?: string;
  fetch?: typeof fetch;
  now?: () => Date;
  onDelivery?: (r: DeliveryReport) => void;
  /** The store failed (unreachable database); the dispatcher retries on its own. Called once per outage. */
  onStoreError?: (err: unknown) => void;
}

export function backoffDelayMs(failedAttempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (failedAttempt - 1));
}

type OutboxStore = Pick<Store, 'claimWebhookDeliveries' | 'finishWebhookDelivery' | 'pendingWebhookDeliveries'>;

export class WebhookDispatcher {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  readonly owner: string;
  private readonly doFetch: typeof fetch;
  private readonly now: () => Date;
  private readonly report: (r: DeliveryReport) => void;
  private readonly storeError: (err: unknown) => void;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private wake: (() => void) | undefined;
  private poked = false;
  private closed = false;
  private running: Promise<void> | undefined;
  /** The last claim failed: later failures of the same outage are not reported again. */
  private storeDown = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly registry: Pick<WebhookRegistry, 'secretOf'>,
    opts: DispatcherOptions = {},
  ) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 6);
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 32);
    this.leaseMs = Math.max(opts.leaseMs ?? 30_000, this.timeoutMs * 2);
    this.pollMs = opts.pollMs ?? 1000;
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.doFetch = opts.fetch ?? fetch;
    this.now = opts.now ?? (() => new Date());
    this.report = opts.onDelivery ?? (() => undefined);
    this.storeError = opts.onStoreError ?? (() => undefined);
  }

  /** Starts the background loop (idempotent). */
  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /** Look at the outbox now (an event was appended, here or by another replica). */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /** Pokes on every event published to the hub; returns the unsubscribe function. */
  attach(hub: TrustEventHub): () => void {
    return hub.subscribe(() => this.poke());
  }

  /** Resolves once nothing is owed to any webhook and nothing is in flight here. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      else if ((await this.store.pendingWebhookDeliveries()) === 0) return;
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops claiming; attempts in flight finish and are recorded. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wake?.();
    await this.running;
    await Promise.allSettled([...this.inFlight]);
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.poked = false;
      const room = this.maxInFlight - this.inFlight.size;
      let claimed: WebhookDelivery[] = [];
      if (room > 0) {
        try {
          const now = this.now();
          claimed = await this.store.claimWebhookDeliveries(this.owner, now, new Date(now.getTime() + this.leaseMs), room);
          this.storeDown = false;
        } catch (err) {
          if (!this.storeDown) this.storeError(err);
          this.storeDown = true;
        }
      }
      for (const d of claimed) {
        const p: Promise<void> = this.deliver(d).finally(() => {
          this.inFlight.delete(p);
          this.poke();
        });
        this.inFlight.add(p);
      }
      if (this.closed || (room > 0 && claimed.length === room) || this.poked) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.pollMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async deliver(d: WebhookDelivery): Promise<void> {
    const attempt = d.attempts + 1;
    const secret = this.registry.secretOf(d);
    const body = JSON.stringify(d.event);
    const outcome = secret === null ? { ok: false, error: 'the webhook secret does not open with this master key' } : await this.post(d.url, secret, d.event.seq, body);
    const retryInMs = outcome.ok || attempt >= this.maxAttempts || secret === null ? undefined : backoffDelayMs(attempt, this.baseDelayMs, this.maxDelayMs);
    this.report({ webhookId: d.webhookId, seq: d.event.seq, attempt, ...outcome, ...(retryInMs !== undefined ? { retryInMs } : {}) });
    const retryAt = retryInMs === undefined ? null : new Date(this.now().getTime() + retryInMs);
    try {
      await this.store.finishWebhookDelivery(d.deliveryId, this.owner, retryAt);
    } catch (err) {
      // The lease runs out and the delivery is attempted again, here or elsewhere.
      this.storeError(err);
      return;
    }
    if (retryInMs !== undefined && !this.closed) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.poke();
      }, retryInMs);
      t.unref();
      this.timers.add(t);
    }
  }

  private async post(url: string, secret: Uint8Array, seq: number, body: string): Promise<{ ok: boolean; status?: number; error?: string }> {
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
