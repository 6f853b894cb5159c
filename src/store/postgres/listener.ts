/**
 * LISTEN on one dedicated connection: every replica learns of trust events, signing-key changes and
 * webhook deliveries committed by any replica. A lost connection is re-opened with backoff, and
 * then announces `resync`: notifications sent meanwhile are gone, listeners re-read instead.
 */
import type pg from 'pg';
import type { StoreChange } from '../types.ts';
import type { ChangeFeed } from '../change-feed.ts';
import { CHANGES_CHANNEL } from './catalog.ts';

export function changeOf(payload: string | undefined): StoreChange | undefined {
  if (payload === 'k') return { kind: 'signing_keys' };
  if (payload === 'p') return { kind: 'profiles' };
  if (payload === 'd') return { kind: 'webhook_delivery' };
  const m = /^e:(\d{1,15})$/.exec(payload ?? '');
  return m ? { kind: 'trust_event', seq: Number(m[1]) } : undefined;
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connect: () => pg.Client,
    private readonly feed: ChangeFeed,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Resolves once listening; rejects if the first connection fails (start-up reports it). */
  async start(): Promise<void> {
    await this.open();
  }

  private async open(): Promise<void> {
    const client = this.connect();
    client.on('notification', (n) => {
      const change = changeOf(n.payload);
      if (change) this.feed.emit(change);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the LISTEN connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 250;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.onError(err);
    client.end().catch(() => undefined);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open().then(
        () => this.feed.emit({ kind: 'resync' }),
        () => {
          this.retryMs = Math.min(this.retryMs * 2, 5000);
          this.scheduleReopen();
        },
      );
    }, this.retryMs);
    this.timer.unref();
  }

  /** Whether the LISTEN connection is up (for /healthz detail). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
