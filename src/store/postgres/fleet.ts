/**
 * History, evidence and drift in PostgreSQL (contract §6): kept event logs, drift groups, their
 * acceptances, and evidence retention. The appraisal's own write of its log and drift entry is in
 * attestations.ts (recordAppraisal), in the appraisal's statement.
 */
import type pg from 'pg';
import { inflateRawSync } from 'node:zlib';
import type { AppraisalRecord, AppraisalSummary, DriftAcceptanceRecord, DriftGroupRecord, EvidenceRetention, ProfileRecord } from '../types.ts';
import { inTransaction } from './pool.ts';
import { CHANGES_CHANNEL } from './catalog.ts';
import { iso } from './rows.ts';

interface SummaryRow {
  seq: number;
  appraisal_id: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: unknown[];
  appraised_at: Date;
  token_expires_at: Date | null;
  rejected: boolean;
  evidence: AppraisalRecord['evidence'];
  log_digest: string | null;
}

function summaryFromRow(r: SummaryRow): AppraisalSummary {
  const s: AppraisalSummary = {
    seq: r.seq,
    appraisalId: r.appraisal_id,
    verdict: r.verdict,
    profile: r.profile,
    failures: r.failures,
    appraisedAt: iso(r.appraised_at),
    eventLogDigest: r.evidence.eventLog,
    eventLogRetained: r.log_digest !== null,
  };
  if (r.token_expires_at !== null) s.tokenExpiresAt = iso(r.token_expires_at);
  if (r.rejected) s.rejected = true;
  return s;
}

const SUMMARY_COLUMNS = 'seq, appraisal_id, verdict, profile, failures, appraised_at, token_expires_at, rejected, evidence, log_digest';

export async function listAppraisals(pool: pg.Pool, hostId: string, limit: number, beforeSeq?: number): Promise<AppraisalSummary[]> {
  const r =
    beforeSeq === undefined
      ? await pool.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM appraisals WHERE host_id = $1 ORDER BY seq DESC LIMIT $2`, [hostId, limit])
      : await pool.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM appraisals WHERE host_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, [hostId, beforeSeq, limit]);
  return r.rows.map(summaryFromRow);
}

export async function lastPassingByProfile(
  pool: pg.Pool,
  name: string,
): Promise<Array<Pick<AppraisalSummary, 'appraisalId' | 'profile' | 'eventLogDigest' | 'eventLogRetained'> & { hostId: string }>> {
  const prefix = `${name}@`;
  const r = await pool.query<SummaryRow & { host_id: string }>(
    `SELECT * FROM (
       SELECT DISTINCT ON (host_id) host_id, ${SUMMARY_COLUMNS} FROM appraisals
       WHERE verdict = 'pass' AND NOT rejected ORDER BY host_id, seq DESC) last
     WHERE left(profile, $1) = $2 ORDER BY host_id COLLATE "C"`,
    [prefix.length, prefix],
  );
  return r.rows.map((row) => {
    const s = summaryFromRow(row);
    return { hostId: row.host_id, appraisalId: s.appraisalId, profile: s.profile, eventLogDigest: s.eventLogDigest, eventLogRetained: s.eventLogRetained };
  });
}

export async function getEventLog(pool: pg.Pool, digest: string): Promise<Uint8Array | undefined> {
  const r = await pool.query<{ bytes: Buffer }>('SELECT bytes FROM event_logs WHERE digest = $1', [digest]);
  const row = r.rows[0];
  return row && new Uint8Array(inflateRawSync(row.bytes));
}

/** Never pruned, by either policy: each host's latest counted and last passing appraisal (its trust, and what changes compares against). */
const NOT_ALWAYS_KEPT = `seq NOT IN (SELECT MAX(seq) FROM appraisals WHERE NOT rejected GROUP BY host_id)
       AND seq NOT IN (SELECT MAX(seq) FROM appraisals WHERE NOT rejected AND verdict = 'pass' GROUP BY host_id)`;

/** Logs no appraisal keeps and drift groups no host is in; returns how many logs went. */
async function dropUnreferenced(c: pg.PoolClient): Promise<number> {
  const logs = await c.query('DELETE FROM event_logs l WHERE NOT EXISTS (SELECT 1 FROM appraisals a WHERE a.log_digest = l.digest)');
  await c.query('DELETE FROM drift_groups g WHERE NOT EXISTS (SELECT 1 FROM host_drift d WHERE d.group_id = g.group_id)');
  return logs.rowCount ?? 0;
}

/** The latest counted and the last passing appraisal of each host keep their logs whatever the policy. */
export function pruneEvidence(pool: pg.Pool, policy: EvidenceRetention): Promise<{ appraisals: number; logs: number }> {
  return inTransaction(pool, async (c) => {
    const dropped = await c.query(
      `UPDATE appraisals SET log_digest = NULL WHERE seq IN (
         SELECT seq FROM (
           SELECT seq, appraised_at, ROW_NUMBER() OVER (PARTITION BY host_id ORDER BY seq DESC) AS rn
           FROM appraisals WHERE log_digest IS NOT NULL) ranked
         WHERE rn > $1 OR ($2::timestamptz IS NOT NULL AND appraised_at < $2))
       AND ${NOT_ALWAYS_KEPT}`,
      [Math.max(0, Math.trunc(policy.keepPerHost)), policy.before ? iso(policy.before) : null],
    );
    return { appraisals: dropped.rowCount ?? 0, logs: await dropUnreferenced(c) };
  });
}

/** Whole appraisal records older than `before`, but never a host's latest counted or last passing one. */
export function pruneHistory(pool: pg.Pool, before: Date): Promise<number> {
  return inTransaction(pool, async (c) => {
    const dropped = await c.query(
      `DELETE FROM appraisals WHERE appraised_at < $1
       AND ${NOT_ALWAYS_KEPT}`,
      [iso(before)],
    );
    const n = dropped.rowCount ?? 0;
    if (n > 0) await dropUnreferenced(c);
    return n;
  });
}

export async function getHostDrift(pool: pg.Pool, hostId: string): Promise<{ groupId: string; appraisalId: string } | undefined> {
  const r = await pool.query<{ group_id: string; appraisal_id: string }>('SELECT group_id, appraisal_id FROM host_drift WHERE host_id = $1', [hostId]);
  const row = r.rows[0];
  return row && { groupId: row.group_id, appraisalId: row.appraisal_id };
}

interface GroupRow {
  group_id: string;
  bank: string | null;
  changes: unknown[];
  blockers: string[];
  n: number;
  first_seen: Date;
  last_seen: Date;
  host_ids: string[];
  profile: string | null;
}

// The profile of a group's latest failure: the newest host_drift row's, through an ordered aggregate.
const GROUP_SELECT = `SELECT d.group_id, g.bank, g.changes, g.blockers, COUNT(*)::int AS n, MIN(d.since) AS first_seen, MAX(d.last_at) AS last_seen,
    array_agg(d.host_id ORDER BY d.host_id) AS host_ids, (array_agg(d.profile ORDER BY d.last_at DESC))[1] AS profile
  FROM host_drift d JOIN drift_groups g ON g.group_id = d.group_id`;

function groupFromRow(r: GroupRow): DriftGroupRecord {
  return {
    groupId: r.group_id,
    profile: r.profile,
    bank: r.bank,
    changes: r.changes,
    blockers: r.blockers,
    hostIds: r.host_ids,
    firstSeen: iso(r.first_seen),
    lastSeen: iso(r.last_seen),
  };
}

export async function listDriftGroups(pool: pg.Pool): Promise<DriftGroupRecord[]> {
  const r = await pool.query<GroupRow>(`${GROUP_SELECT} GROUP BY d.group_id, g.group_id ORDER BY n DESC, d.group_id`);
  return r.rows.map(groupFromRow);
}

export async function getDriftGroup(pool: pg.Pool, groupId: string): Promise<(DriftGroupRecord & { members: Array<{ hostId: string; appraisalId: string }> }) | undefined> {
  // One snapshot for the group and its members.
  const r = await pool.query<GroupRow & { members: Array<{ host_id: string; appraisal_id: string }> }>(
    `SELECT grp.*, (SELECT json_agg(json_build_object('host_id', host_id, 'appraisal_id', appraisal_id) ORDER BY host_id)
                     FROM host_drift WHERE group_id = $1) AS members
     FROM (${GROUP_SELECT} WHERE d.group_id = $1 GROUP BY d.group_id, g.group_id) grp`,
    [groupId],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { ...groupFromRow(row), members: (row.members ?? []).map((m) => ({ hostId: m.host_id, appraisalId: m.appraisal_id })) };
}

/**
 * One transaction: the profile version and the acceptance that wrote it, or nothing. The insert
 * decides between concurrent acceptances on any replica: only the one that stored the version
 * records an acceptance.
 */
export function acceptDrift(pool: pg.Pool, p: ProfileRecord, a: DriftAcceptanceRecord): Promise<'created' | 'exists' | 'conflict'> {
  return inTransaction(pool, async (c) => {
    const inserted = await c.query(
      `INSERT INTO profiles (name, version, document, source, stored_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name, version) DO NOTHING RETURNING name`,
      [p.name, p.version, p.document, p.source, p.storedAt],
    );
    if ((inserted.rowCount ?? 0) === 0) {
      const existing = await c.query<{ document: string }>('SELECT document FROM profiles WHERE name = $1 AND version = $2', [p.name, p.version]);
      return existing.rows[0]?.document === p.document ? 'exists' : 'conflict';
    }
    await c.query(
      `INSERT INTO drift_acceptances (acceptance_id, group_id, profile_name, from_version, to_version, key_id, note, changes, host_ids, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [a.acceptanceId, a.groupId, a.profileName, a.fromVersion, a.toVersion, a.keyId, a.note, JSON.stringify(a.changes), JSON.stringify(a.hostIds), a.at],
    );
    await c.query(`SELECT pg_notify('${CHANGES_CHANNEL}', 'p')`);
    return 'created';
  });
}

interface AcceptanceRow {
  acceptance_id: string;
  group_id: string;
  profile_name: string;
  from_version: string;
  to_version: string;
  key_id: string;
  note: string;
  changes: unknown[];
  host_ids: string[];
  at: Date;
}

export async function listDriftAcceptances(pool: pg.Pool, groupId?: string): Promise<DriftAcceptanceRecord[]> {
  const r =
    groupId === undefined
      ? await pool.query<AcceptanceRow>('SELECT * FROM drift_acceptances ORDER BY seq')
      : await pool.query<AcceptanceRow>('SELECT * FROM drift_acceptances WHERE group_id = $1 ORDER BY seq', [groupId]);
  return r.rows.map((x) => ({
    acceptanceId: x.acceptance_id,
    groupId: x.group_id,
    profileName: x.profile_name,
    fromVersion: x.from_version,
    toVersion: x.to_version,
    keyId: x.key_id,
    note: x.note,
    changes: x.changes,
    hostIds: x.host_ids,
    at: iso(x.at),
  }));
}
