/** Nonces, appraisals and token revocations in PostgreSQL: the hot path, one statement per call. */
import type pg from 'pg';
import type { AppraisalRecord, AppraisalVerdict, NonceOutcome, NonceRecord } from '../types.ts';
import { appraisalFromRow, iso, type AppraisalRow } from './rows.ts';

/** One statement: the host's existence and revocation are read where the nonce is written. */
export async function putNonce(pool: pg.Pool, n: NonceRecord): Promise<'issued' | 'host_revoked' | 'host_not_found'> {
  const r = await pool.query<{ known: boolean; issued: boolean }>({
    name: 'bg_put_nonce',
    text: `WITH h AS (SELECT host_id, revoked_at FROM hosts WHERE host_id = $2),
      n AS (INSERT INTO nonces (nonce_hash, host_id, created_at, expires_at) SELECT $1, host_id, $3, $4 FROM h WHERE revoked_at IS NULL RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM h) AS known, EXISTS (SELECT 1 FROM n) AS issued`,
    values: [n.nonceHash, n.hostId, n.createdAt, n.expiresAt],
  });
  const row = r.rows[0];
  return row?.issued ? 'issued' : row?.known ? 'host_revoked' : 'host_not_found';
}

/**
 * One atomic statement decides single use: the UPDATE marks the nonce used only where it was
 * unused, and a concurrent consumer on any replica blocks on the row, then finds it used. The
 * mark is written before any other check, so a nonce dies on its first presentation even for the
 * wrong host or after expiry. `known` (read from the statement's snapshot) only names the refusal.
 */
export async function consumeNonce(pool: pg.Pool, nonceHash: string, hostId: string, now: Date): Promise<NonceOutcome> {
  const r = await pool.query<{ host_id: string | null; expires_at: Date | null; known: boolean }>({
    name: 'bg_consume_nonce',
    text: `WITH used AS (UPDATE nonces SET used_at = $2 WHERE nonce_hash = $1 AND used_at IS NULL RETURNING host_id, expires_at)
      SELECT (SELECT host_id FROM used) AS host_id, (SELECT expires_at FROM used) AS expires_at,
             EXISTS (SELECT 1 FROM nonces WHERE nonce_hash = $1) AS known`,
    values: [nonceHash, iso(now)],
  });
  const row = r.rows[0];
  if (!row || row.host_id === null || row.expires_at === null) return row?.known ? 'used' : 'unknown';
  if (row.host_id !== hostId) return 'wrong_host';
  if (row.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'ok';
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
