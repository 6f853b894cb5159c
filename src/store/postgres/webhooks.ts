/** Webhooks and their delivery outbox in PostgreSQL: replicas claim deliveries with FOR UPDATE SKIP LOCKED under a lease. */
import type pg from 'pg';
import type { WebhookDelivery, WebhookRecord } from '../types.ts';
import { inTransaction } from './pool.ts';
import { eventFromRow, iso, type EventRow } from './rows.ts';

export function putWebhook(pool: pg.Pool, w: WebhookRecord): Promise<'created' | 'updated'> {
  return inTransaction(pool, async (c) => {
    const before = (await c.query<{ url: string }>('SELECT url FROM webhooks WHERE id = $1 FOR UPDATE', [w.id])).rows[0];
    // Re-pointed: what was owed to the old URL is not sent to the new one.
    if (before && before.url !== w.url) await c.query('DELETE FROM webhook_deliveries WHERE webhook_id = $1', [w.id]);
    await c.query(
      `INSERT INTO webhooks (id, url, secret, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at`,
      [w.id, w.url, w.secret, w.updatedAt],
    );
    return before ? 'updated' : 'created';
  });
}

export async function deleteWebhook(pool: pg.Pool, id: string): Promise<boolean> {
  return ((await pool.query('DELETE FROM webhooks WHERE id = $1', [id])).rowCount ?? 0) > 0;
}

export async function listWebhooks(pool: pg.Pool): Promise<WebhookRecord[]> {
  const r = await pool.query<{ id: string; url: string; secret: string; updated_at: Date }>('SELECT * FROM webhooks ORDER BY id');
  return r.rows.map((x) => ({ id: x.id, url: x.url, secret: x.secret, updatedAt: iso(x.updated_at) }));
}

interface DeliveryRow extends EventRow {
  delivery_id: number;
  webhook_id: string;
  url: string;
  secret: string;
  attempts: number;
}

/**
 * Due deliveries no live lease holds are locked with SKIP LOCKED (a replica claiming at the same
 * moment takes others, never the same), leased to `owner`, and returned with their event.
 */
export async function claimWebhookDeliveries(pool: pg.Pool, owner: string, now: Date, leaseUntil: Date, limit: number): Promise<WebhookDelivery[]> {
  const r = await pool.query<DeliveryRow>({
    name: 'bg_claim_deliveries',
    text: `WITH due AS (
        SELECT delivery_id FROM webhook_deliveries
        WHERE next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
        ORDER BY delivery_id LIMIT $4 FOR UPDATE SKIP LOCKED),
      leased AS (
        UPDATE webhook_deliveries d SET lease_owner = $1, lease_until = $3 FROM due WHERE d.delivery_id = due.delivery_id
        RETURNING d.delivery_id, d.webhook_id, d.seq AS delivery_seq, d.attempts)
      SELECT l.delivery_id, l.webhook_id, w.url, w.secret, l.attempts, e.*
      FROM leased l JOIN webhooks w ON w.id = l.webhook_id JOIN trust_events e ON e.seq = l.delivery_seq
      ORDER BY l.delivery_id`,
    values: [owner, iso(now), iso(leaseUntil), limit],
  });
  return r.rows.map((x) => ({ deliveryId: x.delivery_id, webhookId: x.webhook_id, url: x.url, secret: x.secret, attempts: x.attempts, event: eventFromRow(x) }));
}

export async function finishWebhookDelivery(pool: pg.Pool, deliveryId: number, owner: string, retryAt: Date | null): Promise<boolean> {
  const r =
    retryAt === null
      ? await pool.query('DELETE FROM webhook_deliveries WHERE delivery_id = $1 AND lease_owner = $2', [deliveryId, owner])
      : await pool.query(
          `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $3, lease_owner = NULL, lease_until = NULL
           WHERE delivery_id = $1 AND lease_owner = $2`,
          [deliveryId, owner, iso(retryAt)],
        );
  return (r.rowCount ?? 0) > 0;
}

export async function pendingWebhookDeliveries(pool: pg.Pool): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM webhook_deliveries')).rows[0]?.n ?? 0;
}
