/** Enrollments and hosts in PostgreSQL. activateEnrollment is the one transaction of enrollment. */
import type pg from 'pg';
import type { ActivateOutcome, AppraisalTrust, EnrollmentRecord, HostRecord, HostTrustPage, HostTrustState } from '../types.ts';
import { inTransaction } from './pool.ts';
import { enrollmentFromRow, hostFromRow, iso, type EnrollmentRow, type HostRow } from './rows.ts';

const SELECT_HOST = { name: 'bg_host', text: 'SELECT * FROM hosts WHERE host_id = $1' };

export async function createEnrollment(pool: pg.Pool, e: EnrollmentRecord): Promise<void> {
  await pool.query(
    `INSERT INTO enrollments (enrollment_id, host_id, ek_fingerprint, ak_name, ak_pub, profiles, secret_hash, created_at, expires_at, activated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [e.enrollmentId, e.hostId, e.ekFingerprint, e.akName, e.akPub, JSON.stringify(e.profiles), e.secretHash, e.createdAt, e.expiresAt, e.activatedAt ?? null],
  );
}

export async function getEnrollment(pool: pg.Pool, id: string): Promise<EnrollmentRecord | undefined> {
  const r = await pool.query<EnrollmentRow>('SELECT * FROM enrollments WHERE enrollment_id = $1', [id]);
  return r.rows[0] && enrollmentFromRow(r.rows[0]);
}

/**
 * Row locks make concurrent activations on several replicas serialise: the enrollment row for
 * "activated once", the host row for "one EK per host" (a host inserted by a racing activation is
 * found by ON CONFLICT and then checked like any existing host).
 */
export function activateEnrollment(pool: pg.Pool, enrollmentId: string, now: Date): Promise<ActivateOutcome> {
  return inTransaction(pool, async (c) => {
    const row = (await c.query<EnrollmentRow>('SELECT * FROM enrollments WHERE enrollment_id = $1 FOR UPDATE', [enrollmentId])).rows[0];
    if (!row) return { ok: false, reason: 'not_found' };
    if (row.activated_at !== null) return { ok: false, reason: 'already_activated' };
    if (row.expires_at.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
    const at = iso(now);
    let host = (
      await c.query<HostRow>(
        `INSERT INTO hosts (host_id, ek_fingerprint, ak_name, ak_pub, profiles, enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (host_id) DO NOTHING RETURNING *`,
        [row.host_id, row.ek_fingerprint, row.ak_name, row.ak_pub, JSON.stringify(row.profiles), at],
      )
    ).rows[0];
    if (!host) {
      const existing = (await c.query<HostRow>('SELECT * FROM hosts WHERE host_id = $1 FOR UPDATE', [row.host_id])).rows[0];
      if (!existing) throw new Error('host row vanished inside its own transaction');
      if (existing.ek_fingerprint !== row.ek_fingerprint) return { ok: false, reason: 'ek_conflict' };
      // Same TPM enrolling a new AK: the AK changes, the admin-set profiles and the clock history stay.
      host = (
        await c.query<HostRow>('UPDATE hosts SET ak_name = $1, ak_pub = $2, enrolled_at = $3 WHERE host_id = $4 RETURNING *', [row.ak_name, row.ak_pub, at, row.host_id])
      ).rows[0];
    }
    await c.query('UPDATE enrollments SET activated_at = $1 WHERE enrollment_id = $2', [at, enrollmentId]);
    if (!host) throw new Error('host row vanished inside its own transaction');
    return { ok: true, host: hostFromRow(host) };
  });
}

export async function getHost(pool: pg.Pool, hostId: string): Promise<HostRecord | undefined> {
  const r = await pool.query<HostRow>({ ...SELECT_HOST, values: [hostId] });
  return r.rows[0] && hostFromRow(r.rows[0]);
}

export async function listHosts(pool: pg.Pool): Promise<HostRecord[]> {
  return (await pool.query<HostRow>('SELECT * FROM hosts ORDER BY host_id')).rows.map(hostFromRow);
}

interface HostTrustRow extends HostRow {
  a_appraisal_id: string | null;
  a_verdict: 'pass' | 'fail' | null;
  a_profile: string | null;
  a_failures: unknown[] | null;
  a_appraised_at: Date | null;
  a_token_expires_at: Date | null;
}

/** The trust state as a condition on the joined row, $3 the time: the same derivation as trustStatusOf (src/attestation/trust.ts). */
const TRUST_WHERE: Record<HostTrustState, string> = {
  trusted: `h.revoked_at IS NULL AND a.verdict = 'pass' AND a.token_expires_at > $3`,
  expired: `h.revoked_at IS NULL AND a.verdict = 'pass' AND (a.token_expires_at IS NULL OR a.token_expires_at <= $3)`,
  untrusted: `(h.revoked_at IS NOT NULL OR a.verdict = 'fail')`,
  unknown: `h.revoked_at IS NULL AND a.appraisal_id IS NULL`,
};

/** How many hosts are in each trust state: the same derivation as one expression, in trustStatusOf's order. */
export async function countHostTrust(pool: pg.Pool, now: Date): Promise<Record<HostTrustState, number>> {
  const r = await pool.query<{ state: HostTrustState; n: string }>(
    `SELECT CASE WHEN h.revoked_at IS NOT NULL THEN 'untrusted' WHEN a.appraisal_id IS NULL THEN 'unknown'
        WHEN a.verdict = 'fail' THEN 'untrusted' WHEN a.token_expires_at > $1 THEN 'trusted' ELSE 'expired' END AS state,
      COUNT(*) AS n
    FROM hosts h
    LEFT JOIN LATERAL (SELECT appraisal_id, verdict, token_expires_at FROM appraisals WHERE host_id = h.host_id AND NOT rejected ORDER BY seq DESC LIMIT 1) a ON true
    GROUP BY 1`,
    [iso(now)],
  );
  const counts: Record<HostTrustState, number> = { trusted: 0, untrusted: 0, unknown: 0, expired: 0 };
  for (const row of r.rows) counts[row.state] = Number(row.n);
  return counts;
}

/**
 * Hosts (all, or a page after a hostId, optionally in one trust state) with their last counted
 * appraisal, through the (host_id, rejected, seq) index.
 */
export async function listHostTrust(pool: pg.Pool, page?: HostTrustPage): Promise<Array<{ host: HostRecord; last?: AppraisalTrust }>> {
  const trust = page?.trust;
  const r = await pool.query<HostTrustRow>(
    `SELECT h.*, a.appraisal_id AS a_appraisal_id, a.verdict AS a_verdict, a.profile AS a_profile,
      a.failures AS a_failures, a.appraised_at AS a_appraised_at, a.token_expires_at AS a_token_expires_at
    FROM hosts h
    LEFT JOIN LATERAL (SELECT * FROM appraisals WHERE host_id = h.host_id AND NOT rejected ORDER BY seq DESC LIMIT 1) a ON true
    WHERE h.host_id > $1${trust ? ` AND ${TRUST_WHERE[trust.state]}` : ''} ORDER BY h.host_id LIMIT $2`,
    [page?.after ?? '', page?.limit ?? null, ...(trust?.state === 'trusted' || trust?.state === 'expired' ? [iso(trust.now)] : [])],
  );
  return r.rows.map((row) => {
    const host = hostFromRow(row);
    if (row.a_appraisal_id === null) return { host };
    const last: AppraisalTrust = {
      appraisalId: row.a_appraisal_id,
      verdict: row.a_verdict as AppraisalTrust['verdict'],
      profile: row.a_profile,
      failures: row.a_failures ?? [],
      appraisedAt: iso(row.a_appraised_at as Date),
    };
    if (row.a_token_expires_at !== null) last.tokenExpiresAt = iso(row.a_token_expires_at);
    return { host, last };
  });
}

export async function setHostProfiles(pool: pg.Pool, hostId: string, profiles: string[]): Promise<boolean> {
  return ((await pool.query('UPDATE hosts SET profiles = $1 WHERE host_id = $2', [JSON.stringify(profiles), hostId])).rowCount ?? 0) > 0;
}

export async function deleteHost(pool: pg.Pool, hostId: string): Promise<boolean> {
  return ((await pool.query('DELETE FROM hosts WHERE host_id = $1', [hostId])).rowCount ?? 0) > 0;
}

export async function revokeHost(pool: pg.Pool, hostId: string, at: Date): Promise<boolean> {
  return ((await pool.query('UPDATE hosts SET revoked_at = COALESCE(revoked_at, $1) WHERE host_id = $2', [iso(at), hostId])).rowCount ?? 0) > 0;
}

export async function pruneEnrollments(pool: pg.Pool, before: Date): Promise<number> {
  return (await pool.query('DELETE FROM enrollments WHERE activated_at IS NULL AND expires_at < $1', [iso(before)])).rowCount ?? 0;
}
