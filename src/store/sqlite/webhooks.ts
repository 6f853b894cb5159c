/** Webhooks and their delivery outbox in SQLite. */
import type Database from 'better-sqlite3';
import type { TrustEventRecord, WebhookDelivery, WebhookRecord } from '../types.ts';
import { eventFromRow, type EventRow } from './catalog.ts';

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  updated_at: string;
}

interface DeliveryRow extends EventRow {
  delivery_id: number;
  webhook_id: string;
  url: string;
  secret: string;
  attempts: number;
}

export function deliveryFromRow(r: DeliveryRow): WebhookDelivery {
  return { deliveryId: r.delivery_id, webhookId: r.webhook_id, url: r.url, secret: r.secret, attempts: r.attempts, event: eventFromRow(r) };
}

export class WebhookTables {
  private readonly selectHook;
  private readonly selectHooks;
  private readonly upsertHook;
  private readonly dropDeliveriesOf;
  private readonly removeHook;
  private readonly enqueue;
  private readonly selectDue;
  private readonly lease;
  private readonly removeDelivery;
  private readonly reschedule;
  private readonly countPending;
  private readonly selectAnyDue;

  constructor(db: Database.Database) {
    this.selectHook = db.prepare<[string], WebhookRow>('SELECT * FROM webhooks WHERE id = ?');
    this.selectHooks = db.prepare<[], WebhookRow>('SELECT * FROM webhooks ORDER BY id');
    this.upsertHook = db.prepare(`INSERT INTO webhooks (id, url, secret, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at`);
    this.dropDeliveriesOf = db.prepare('DELETE FROM webhook_deliveries WHERE webhook_id = ?');
    this.removeHook = db.prepare('DELETE FROM webhooks WHERE id = ?');
    this.enqueue = db.prepare('INSERT INTO webhook_deliveries (webhook_id, seq, next_attempt_at) SELECT id, ?, ? FROM webhooks');
    this.selectDue = db.prepare<[string, string, number], DeliveryRow>(`SELECT d.delivery_id, d.webhook_id, w.url, w.secret, d.attempts, e.*
      FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN trust_events e ON e.seq = d.seq
      WHERE d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
      ORDER BY d.delivery_id LIMIT ?`);
    this.lease = db.prepare('UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE delivery_id = ?');
    this.removeDelivery = db.prepare('DELETE FROM webhook_deliveries WHERE delivery_id = ? AND lease_owner = ?');
    this.reschedule = db.prepare(`UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
      WHERE delivery_id = ? AND lease_owner = ?`);
    this.countPending = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM webhook_deliveries');
    this.selectAnyDue = db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM webhook_deliveries WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1',
    );
  }

  put(w: WebhookRecord): 'created' | 'updated' {
    const before = this.selectHook.get(w.id);
    if (before && before.url !== w.url) this.dropDeliveriesOf.run(w.id);
    this.upsertHook.run(w.id, w.url, w.secret, w.updatedAt);
    return before ? 'updated' : 'created';
  }
  delete(id: string): boolean {
    return this.removeHook.run(id).changes > 0;
  }
  list(): WebhookRecord[] {
    return this.selectHooks.all().map((r) => ({ id: r.id, url: r.url, secret: r.secret, updatedAt: r.updated_at }));
  }
  /** In the trust event's own transaction: one delivery per webhook, due at once. */
  enqueueFor(e: TrustEventRecord): number {
    return this.enqueue.run(e.seq, e.at).changes;
  }
  /** A read outside any transaction: the dispatcher's idle polls cost no write and no fsync. */
  anyDue(now: Date): boolean {
    const at = now.toISOString();
    return this.selectAnyDue.get(at, at) !== undefined;
  }
  claim(owner: string, now: Date, leaseUntil: Date, limit: number): WebhookDelivery[] {
    const at = now.toISOString();
    const rows = this.selectDue.all(at, at, limit);
    for (const r of rows) this.lease.run(owner, leaseUntil.toISOString(), r.delivery_id);
    return rows.map(deliveryFromRow);
  }
  finish(deliveryId: number, owner: string, retryAt: Date | null): boolean {
    const r = retryAt === null ? this.removeDelivery.run(deliveryId, owner) : this.reschedule.run(retryAt.toISOString(), deliveryId, owner);
    return r.changes > 0;
  }
  pending(): number {
    return this.countPending.get()?.n ?? 0;
  }
}
