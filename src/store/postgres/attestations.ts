/** Nonces, appraisals and token revocations in PostgreSQL: the hot path, one statement per call. */
import type pg from 'pg';
import type { AppraisalRecord, AppraisalVerdict, HostRecord, NonceOutcome, NonceRecord } from '../types.ts';
import { appraisalFromRow, hostFromRow, iso, type AppraisalRow, type HostRow } from './rows.ts';

/** One statement: the host is read where the nonce is written, and no nonce is written for a revoked one. */
export async function putNonce(pool: pg.Pool, n: NonceRecord): Promise<{ outcome: 'issued' | 'host_revoked'; host: HostRecord } | undefined> {
  const r = await pool.query<HostRow & { issued: boolean }>({
    name: 'bg_put_nonce',
    text: `WITH h AS (SELECT * FROM hosts WHERE host_id = $2),
      n AS (INSERT INTO nonces (nonce_hash, host_id, created_at, expires_at) SELECT $1, host_id, $3, $4 FROM h WHERE revoked_at IS NULL RETURNING 1)
      SELECT h.*, EXISTS (SELECT 1 FROM n) AS issued FROM h`,
    values: [n.nonceHash, n.hostId, n.createdAt, n.expiresAt],
  });
  const row = r.rows[0];
  return row && { outcome: row.issued ? 'issued' : 'host_revoked', host: hostFromRow(row) };
}

interface ConsumeRow extends HostRow {
  nonce_host: string | null;
  nonce_expires_at: Date | null;
  known: boolean;
}

/**
 * One atomic statement reads the host and decides single use: the UPDATE marks the nonce used only
 * where it was unused (and only for an enrolled, unrevoked host), and a concurrent consumer on any
 * replica blocks on the row, then finds it used. The mark is written before any other check, so a
 * nonce dies on its first presentation even for the wrong host or after expiry. `known` (read from
 * the statement's snapshot) only names the refusal.
 */
export async function consumeNonce(pool: pg.Pool, nonceHash: string, hostId: string, now: Date): Promise<{ outcome: NonceOutcome; host?: HostRecord }> {
  const r = await pool.query<ConsumeRow>({
    name: 'bg_consume_nonce',
    text: `WITH h AS (SELECT * FROM hosts WHERE host_id = $3),
      used AS (UPDATE nonces SET used_at = $2 WHERE nonce_hash = $1 AND used_at IS NULL AND EXISTS (SELECT 1 FROM h WHERE revoked_at IS NULL)
        RETURNING host_id, expires_at)
      SELECT h.*, (SELECT host_id FROM used) AS nonce_host, (SELECT expires_at FROM used) AS nonce_expires_at,
             EXISTS (SELECT 1 FROM nonces WHERE nonce_hash = $1) AS known
      FROM h`,
    values: [nonceHash, iso(now), hostId],
  });
  const row = r.rows[0];
  if (!row) return { outcome: 'unknown' };
  const host = hostFromRow(row);
  if (host.revokedAt !== undefined) return { outcome: 'unknown', host };
  if (row.nonce_host === null || row.nonce_expires_at === null) return { outcome: row.known ? 'used' : 'unknown', host };
  if (row.nonce_host !== hostId) return { outcome: 'wrong_host', host };
  if (row.nonce_expires_at.getTime() <= now.getTime()) return { outcome: 'expired', host };
  return { outcome: 'ok', host };
}

export async function pruneNonces(pool: pg.Pool, before: Date): Promise<number> {
  return (await pool.query('DELETE FROM nonces WHERE expires_at < $1', [iso(before)])).rowCount ?? 0;
}

interface VerdictRow {
  appraisal_id: string;
  verdict: 'pass' | 'fail';
  appraised_at: Date;
  token_expires_at: Date | null;
}

function verdictFromRow(row: VerdictRow): AppraisalVerdict {
  const v: AppraisalVerdict = { appraisalId: row.appraisal_id, verdict: row.verdict, appraisedAt: iso(row.appraised_at) };
  if (row.token_expires_at !== null) v.tokenExpiresAt = iso(row.token_expires_at);
  return v;
}

/**
 * The appraisal, the host's new clock and the previous counted verdict in one statement (so one
 * implicit transaction, one round trip): `prev` reads the statement's snapshot, before the insert.
 */
export async function recordAppraisal(pool: pg.Pool, a: AppraisalRecord): Promise<{ previous?: AppraisalVerdict }> {
  const r = await pool.query<VerdictRow>({
    name: 'bg_record_appraisal',
    text: `WITH prev AS (
        SELECT appraisal_id, verdict, appraised_at, token_expires_at FROM appraisals WHERE host_id = $2 AND NOT rejected ORDER BY seq DESC LIMIT 1),
      a AS (
        INSERT INTO appraisals (appraisal_id, host_id, verdict, profile, failures, pcrs, evidence, clock, token_id, token_expires_at,
          binding_key_thumbprint, binding_key, rejected, timings, appraised_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING host_id),
      clock AS (UPDATE hosts SET last_clock = $8 FROM a WHERE hosts.host_id = a.host_id AND $8::json IS NOT NULL RETURNING 1)
      SELECT * FROM prev`,
    values: [
      a.appraisalId,
      a.hostId,
      a.verdict,
      a.profile,
      JSON.stringify(a.failures),
      JSON.stringify(a.pcrs ?? {}),
      JSON.stringify(a.evidence),
      a.clock ? JSON.stringify(a.clock) : null,
      a.tokenId ?? null,
      a.tokenExpiresAt ?? null,
      a.bindingKeyThumbprint ?? null,
      a.bindingKey ?? null,
      a.rejected === true,
      JSON.stringify(a.timings),
      a.appraisedAt,
    ],
  });
  const row = r.rows[0];
  return row ? { previous: verdictFromRow(row) } : {};
}

export async function getAppraisal(pool: pg.Pool, appraisalId: string): Promise<AppraisalRecord | undefined> {
  const r = await pool.query<AppraisalRow>('SELECT * FROM appraisals WHERE appraisal_id = $1', [appraisalId]);
  return r.rows[0] && appraisalFromRow(r.rows[0]);
}

export async function lastAppraisal(pool: pg.Pool, hostId: string): Promise<AppraisalRecord | undefined> {
  const r = await pool.query<AppraisalRow>({ name: 'bg_last_appraisal', text: 'SELECT * FROM appraisals WHERE host_id = $1 AND NOT rejected ORDER BY seq DESC LIMIT 1', values: [hostId] });
  return r.rows[0] && appraisalFromRow(r.rows[0]);
}

export async function lastAppraisalVerdict(pool: pg.Pool, hostId: string): Promise<AppraisalVerdict | undefined> {
  const r = await pool.query<VerdictRow>({
    name: 'bg_last_verdict',
    text: 'SELECT appraisal_id, verdict, appraised_at, token_expires_at FROM appraisals WHERE host_id = $1 AND NOT rejected ORDER BY seq DESC LIMIT 1',
    values: [hostId],
  });
  return r.rows[0] && verdictFromRow(r.rows[0]);
}

export async function lastPassingAppraisal(pool: pg.Pool, hostId: string): Promise<AppraisalRecord | undefined> {
  const r = await pool.query<AppraisalRow>({
    name: 'bg_last_pass',
    text: "SELECT * FROM appraisals WHERE host_id = $1 AND verdict = 'pass' AND NOT rejected ORDER BY seq DESC LIMIT 1",
    values: [hostId],
  });
  return r.rows[0] && appraisalFromRow(r.rows[0]);
}

export async function revokeToken(pool: pg.Pool, jti: string, hostId: string | null, at: Date, expiresAt: Date | null): Promise<void> {
  await pool.query('INSERT INTO revoked_tokens (jti, host_id, revoked_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING', [
    jti,
    hostId,
    iso(at),
    expiresAt === null ? null : iso(expiresAt),
  ]);
}

export async function isTokenRevoked(pool: pg.Pool, jti: string): Promise<boolean> {
  return ((await pool.query({ name: 'bg_is_revoked', text: 'SELECT 1 FROM revoked_tokens WHERE jti = $1', values: [jti] })).rowCount ?? 0) > 0;
}
