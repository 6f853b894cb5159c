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
 * The appraisal with everything that goes with it, in one statement (so one implicit transaction,
 * one round trip): the host's new clock; its event log, kept once per digest; its drift entry, set
 * by a counted failure and cleared by a counted pass; and the previous counted verdict, which `prev`
 * reads from the statement's snapshot, before the insert.
 *
 * `log` is the DEFLATE'd log when the caller does not know it is stored already, null when it does
 * (the appraisal then keeps the digest only if the log is still there), undefined when the
 * appraisal keeps no log.
 */
export async function recordAppraisal(
  pool: pg.Pool,
  a: AppraisalRecord,
  log: Buffer | null | undefined,
): Promise<{ previous?: AppraisalVerdict; logKept: boolean }> {
  const counted = a.rejected !== true;
  const drift = counted && a.verdict === 'fail' ? a.drift : undefined;
  const r = await pool.query<Partial<VerdictRow> & { log_kept: boolean }>({
    name: 'bg_record_appraisal',
    text: `WITH prev AS (
        SELECT appraisal_id, verdict, appraised_at, token_expires_at FROM appraisals WHERE host_id = $2 AND NOT rejected ORDER BY seq DESC LIMIT 1),
      log AS (
        INSERT INTO event_logs (digest, bytes, size, stored_at) SELECT $16, $17, $18, $15 WHERE $17::bytea IS NOT NULL
        ON CONFLICT (digest) DO NOTHING RETURNING digest),
      a AS (
        INSERT INTO appraisals (appraisal_id, host_id, verdict, profile, failures, pcrs, evidence, clock, token_id, token_expires_at,
          binding_key_thumbprint, binding_key, rejected, timings, appraised_at, log_digest)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
          CASE WHEN $16::text IS NULL THEN NULL WHEN $17::bytea IS NOT NULL THEN $16
               ELSE (SELECT digest FROM event_logs WHERE digest = $16) END)
        RETURNING host_id, log_digest),
      clock AS (UPDATE hosts SET last_clock = $8 FROM a WHERE hosts.host_id = a.host_id AND $8::json IS NOT NULL RETURNING 1),
      cleared AS (DELETE FROM host_drift WHERE host_id = $2 AND $19::boolean AND $20::text IS NULL RETURNING 1),
      grp AS (
        INSERT INTO drift_groups (group_id, bank, changes, blockers, first_seen) SELECT $20, $21, $22, $23, $15 WHERE $20::text IS NOT NULL
        ON CONFLICT (group_id) DO NOTHING RETURNING 1),
      drift AS (
        INSERT INTO host_drift (host_id, appraisal_id, group_id, profile, since, last_at) SELECT a.host_id, $1, $20, $4, $15, $15 FROM a WHERE $20::text IS NOT NULL
        ON CONFLICT (host_id) DO UPDATE SET appraisal_id = excluded.appraisal_id, profile = excluded.profile, last_at = excluded.last_at,
          since = CASE WHEN host_drift.group_id = excluded.group_id THEN host_drift.since ELSE excluded.since END, group_id = excluded.group_id
        RETURNING 1)
      SELECT prev.*, (SELECT log_digest IS NOT NULL FROM a) AS log_kept FROM (SELECT 1) one LEFT JOIN prev ON true`,
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
      !counted,
      JSON.stringify(a.timings),
      a.appraisedAt,
      a.eventLog !== undefined ? a.evidence.eventLog : null,
      log ?? null,
      a.eventLog?.length ?? null,
      counted,
      drift?.groupId ?? null,
      drift?.bank ?? null,
      drift ? JSON.stringify(drift.changes) : null,
      drift ? JSON.stringify(drift.blockers) : null,
    ],
  });
  const row = r.rows[0];
  const logKept = row?.log_kept === true;
  return row?.appraisal_id ? { previous: verdictFromRow(row as VerdictRow), logKept } : { logKept };
}

/** After recordAppraisal found a log it took for stored gone (evidence retention dropped it): store it and point the appraisal at it. */
export async function keepAppraisalLog(pool: pg.Pool, appraisalId: string, digest: string, log: Buffer, size: number, at: string): Promise<void> {
  await pool.query(
    `WITH log AS (INSERT INTO event_logs (digest, bytes, size, stored_at) VALUES ($2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING RETURNING 1)
     UPDATE appraisals SET log_digest = $2 WHERE appraisal_id = $1`,
    [appraisalId, digest, log, size, at],
  );
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
