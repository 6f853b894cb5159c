/**
 * History, evidence and drift in SQLite (contract §6): kept event logs (each distinct log once,
 * raw DEFLATE), each failing host's drift entry, drift groups, their acceptances, and evidence
 * retention.
 */
import type Database from 'better-sqlite3';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type {
  AppraisalRecord,
  AppraisalSummary,
  DriftAcceptanceRecord,
  DriftGroupRecord,
  EvidenceRetention,
  ProfileRecord,
} from '../types.ts';
import type { CatalogTables } from './catalog.ts';
import { parseJson } from './json.ts';

interface SummaryRow {
  seq: number;
  appraisal_id: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: string;
  appraised_at: string;
  token_expires_at: string | null;
  rejected: number;
  evidence: string;
  log_digest: string | null;
}

interface GroupRow {
  group_id: string;
  bank: string | null;
  changes: string;
  blockers: string;
  n: number;
  first_seen: string;
  last_seen: string;
  hosts: string;
  /** "<last_at>|<profile>" of the group's latest failure. */
  latest: string;
}

/** Ascending already (the index scan's order), or sorted. */
function sorted(list: string[]): string[] {
  for (let i = 1; i < list.length; i++) if ((list[i - 1] as string) > (list[i] as string)) return list.sort();
  return list;
}

interface AcceptanceRow {
  acceptance_id: string;
  group_id: string;
  profile_name: string;
  from_version: string;
  to_version: string;
  key_id: string;
  note: string;
  changes: string;
  host_ids: string;
  at: string;
}

function summaryFromRow(r: SummaryRow): AppraisalSummary {
  const s: AppraisalSummary = {
    seq: r.seq,
    appraisalId: r.appraisal_id,
    verdict: r.verdict,
    profile: r.profile,
    failures: parseJson<unknown[]>(r.failures),
    appraisedAt: r.appraised_at,
    eventLogDigest: parseJson<AppraisalRecord['evidence']>(r.evidence).eventLog,
    eventLogRetained: r.log_digest !== null,
  };
  if (r.token_expires_at !== null) s.tokenExpiresAt = r.token_expires_at;
  if (r.rejected !== 0) s.rejected = true;
  return s;
}

function groupFromRow(r: GroupRow): DriftGroupRecord {
  const profile = r.latest.slice(r.latest.indexOf('|') + 1);
  return {
    groupId: r.group_id,
    profile: profile === '' ? null : profile,
    bank: r.bank,
    changes: parseJson<unknown[]>(r.changes),
    blockers: parseJson<string[]>(r.blockers),
    // Host ids never contain a comma (contract §3.1).
    hostIds: sorted(r.hosts.split(',')),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
  };
}

function acceptanceFromRow(r: AcceptanceRow): DriftAcceptanceRecord {
  return {
    acceptanceId: r.acceptance_id,
    groupId: r.group_id,
    profileName: r.profile_name,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    keyId: r.key_id,
    note: r.note,
    changes: parseJson<unknown[]>(r.changes),
    hostIds: parseJson<string[]>(r.host_ids),
    at: r.at,
  };
}

const SUMMARY_COLUMNS = 'seq, appraisal_id, verdict, profile, failures, appraised_at, token_expires_at, rejected, evidence, log_digest';
// The profile of a group's latest failure rides on its timestamp: ISO-8601 text orders as time.
const GROUP_SELECT = `SELECT d.group_id, g.bank, g.changes, g.blockers, COUNT(*) AS n, MIN(d.since) AS first_seen, MAX(d.last_at) AS last_seen,
    MAX(d.last_at || '|' || COALESCE(d.profile, '')) AS latest, group_concat(d.host_id, ',') AS hosts
  FROM host_drift d JOIN drift_groups g ON g.group_id = d.group_id`;

/** Never pruned, by either policy: each host's latest counted and last passing appraisal (its trust, and what changes compares against). */
const NOT_ALWAYS_KEPT = `seq NOT IN (SELECT MAX(seq) FROM appraisals WHERE rejected = 0 GROUP BY host_id)
      AND seq NOT IN (SELECT MAX(seq) FROM appraisals WHERE rejected = 0 AND verdict = 'pass' GROUP BY host_id)`;

export class FleetTables {
  private readonly logExists;
  private readonly insertLog;
  private readonly selectLog;
  private readonly selectDrift;
  private readonly upsertDrift;
  private readonly insertGroup;
  private readonly deleteDrift;
  private readonly selectHistory;
  private readonly selectHistoryBefore;
  private readonly selectLastPassing;
  private readonly selectGroups;
  private readonly selectGroup;
  private readonly selectMembers;
  private readonly insertAcceptance;
  private readonly selectAcceptances;
  private readonly selectAcceptancesFor;
  private readonly dropOldEvidence;
  private readonly dropOldHistory;
  private readonly dropOrphanLogs;
  private readonly dropEmptyGroups;

  constructor(db: Database.Database) {
    this.logExists = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM event_logs WHERE digest = ?');
    this.insertLog = db.prepare('INSERT INTO event_logs (digest, bytes, size, stored_at) VALUES (?, ?, ?, ?) ON CONFLICT(digest) DO NOTHING');
    this.selectLog = db.prepare<[string], { bytes: Buffer }>('SELECT bytes FROM event_logs WHERE digest = ?');
    this.selectDrift = db.prepare<[string], { group_id: string; appraisal_id: string; since: string }>('SELECT group_id, appraisal_id, since FROM host_drift WHERE host_id = ?');
    this.upsertDrift = db.prepare(`INSERT INTO host_drift (host_id, appraisal_id, group_id, profile, since, last_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(host_id) DO UPDATE SET appraisal_id = excluded.appraisal_id, group_id = excluded.group_id, profile = excluded.profile,
        since = excluded.since, last_at = excluded.last_at`);
    this.insertGroup = db.prepare('INSERT INTO drift_groups (group_id, bank, changes, blockers, first_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT(group_id) DO NOTHING');
    this.deleteDrift = db.prepare('DELETE FROM host_drift WHERE host_id = ?');
    this.selectHistory = db.prepare<[string, number], SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM appraisals WHERE host_id = ? ORDER BY seq DESC LIMIT ?`);
    this.selectHistoryBefore = db.prepare<[string, number, number], SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM appraisals WHERE host_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    );
    this.selectLastPassing = db.prepare<[number, string], SummaryRow & { host_id: string }>(`SELECT a.host_id, ${SUMMARY_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}
      FROM appraisals a
      JOIN (SELECT host_id, MAX(seq) AS seq FROM appraisals WHERE verdict = 'pass' AND rejected = 0 GROUP BY host_id) p ON p.seq = a.seq
      WHERE substr(a.profile, 1, ?) = ? ORDER BY a.host_id`);
    this.selectGroups = db.prepare<[], GroupRow>(`${GROUP_SELECT} GROUP BY d.group_id ORDER BY n DESC, d.group_id`);
    this.selectGroup = db.prepare<[string], GroupRow>(`${GROUP_SELECT} WHERE d.group_id = ? GROUP BY d.group_id`);
    this.selectMembers = db.prepare<[string], { host_id: string; appraisal_id: string }>('SELECT host_id, appraisal_id FROM host_drift WHERE group_id = ? ORDER BY host_id');
    this.insertAcceptance = db.prepare(`INSERT INTO drift_acceptances
      (acceptance_id, group_id, profile_name, from_version, to_version, key_id, note, changes, host_ids, at)
      VALUES (@acceptanceId, @groupId, @profileName, @fromVersion, @toVersion, @keyId, @note, @changes, @hostIds, @at)`);
    this.selectAcceptances = db.prepare<[], AcceptanceRow>('SELECT * FROM drift_acceptances ORDER BY seq');
    this.selectAcceptancesFor = db.prepare<[string], AcceptanceRow>('SELECT * FROM drift_acceptances WHERE group_id = ? ORDER BY seq');
    // The latest counted and the last passing appraisal of each host keep their logs whatever the policy.
    this.dropOldEvidence = db.prepare<[number, string]>(`UPDATE appraisals SET log_digest = NULL WHERE seq IN (
        SELECT seq FROM (
          SELECT seq, appraised_at, ROW_NUMBER() OVER (PARTITION BY host_id ORDER BY seq DESC) AS rn
          FROM appraisals WHERE log_digest IS NOT NULL)
        WHERE rn > ? OR appraised_at < ?)
      AND ${NOT_ALWAYS_KEPT}`);
    this.dropOldHistory = db.prepare<[string]>(`DELETE FROM appraisals WHERE appraised_at < ?
      AND ${NOT_ALWAYS_KEPT}`);
    this.dropOrphanLogs = db.prepare('DELETE FROM event_logs WHERE NOT EXISTS (SELECT 1 FROM appraisals a WHERE a.log_digest = event_logs.digest)');
    this.dropEmptyGroups = db.prepare('DELETE FROM drift_groups WHERE NOT EXISTS (SELECT 1 FROM host_drift d WHERE d.group_id = drift_groups.group_id)');
  }

  /** Inside recordAppraisal's transaction: keep the log, and set or clear the host's drift entry. */
  recordEvidence(a: AppraisalRecord): void {
    if (a.eventLog !== undefined && this.logExists.get(a.evidence.eventLog) === undefined) {
      this.insertLog.run(a.evidence.eventLog, deflateRawSync(a.eventLog), a.eventLog.length, a.appraisedAt);
    }
    if (a.rejected === true) return;
    if (a.verdict === 'pass' || a.drift === undefined) {
      this.deleteDrift.run(a.hostId);
      return;
    }
    const d = a.drift;
    const prev = this.selectDrift.get(a.hostId);
    const since = prev !== undefined && prev.group_id === d.groupId ? prev.since : a.appraisedAt;
    this.insertGroup.run(d.groupId, d.bank, JSON.stringify(d.changes), JSON.stringify(d.blockers), a.appraisedAt);
    this.upsertDrift.run(a.hostId, a.appraisalId, d.groupId, a.profile, since, a.appraisedAt);
  }

  getLog(digest: string): Uint8Array | undefined {
    const r = this.selectLog.get(digest);
    return r === undefined ? undefined : new Uint8Array(inflateRawSync(r.bytes));
  }

  history(hostId: string, limit: number, beforeSeq?: number): AppraisalSummary[] {
    const rows = beforeSeq === undefined ? this.selectHistory.all(hostId, limit) : this.selectHistoryBefore.all(hostId, beforeSeq, limit);
    return rows.map(summaryFromRow);
  }

  lastPassingByProfile(name: string): Array<Pick<AppraisalSummary, 'appraisalId' | 'profile' | 'eventLogDigest' | 'eventLogRetained'> & { hostId: string }> {
    const prefix = `${name}@`;
    return this.selectLastPassing.all(prefix.length, prefix).map((r) => {
      const s = summaryFromRow(r);
      return { hostId: r.host_id, appraisalId: s.appraisalId, profile: s.profile, eventLogDigest: s.eventLogDigest, eventLogRetained: s.eventLogRetained };
    });
  }

  hostDrift(hostId: string): { groupId: string; appraisalId: string } | undefined {
    const r = this.selectDrift.get(hostId);
    return r === undefined ? undefined : { groupId: r.group_id, appraisalId: r.appraisal_id };
  }

  groups(): DriftGroupRecord[] {
    return this.selectGroups.all().map(groupFromRow);
  }

  group(groupId: string): (DriftGroupRecord & { members: Array<{ hostId: string; appraisalId: string }> }) | undefined {
    const r = this.selectGroup.get(groupId);
    if (r === undefined) return undefined;
    const members = this.selectMembers.all(groupId).map((m) => ({ hostId: m.host_id, appraisalId: m.appraisal_id }));
    return { ...groupFromRow(r), members };
  }

  /** One write: the profile version and the acceptance that wrote it, or nothing. */
  accept(catalog: CatalogTables, p: ProfileRecord, a: DriftAcceptanceRecord): 'created' | 'exists' | 'conflict' {
    const existing = catalog.getProfile(p.name, p.version);
    if (existing !== undefined) return existing.document === p.document ? 'exists' : 'conflict';
    catalog.putProfile(p);
    this.insertAcceptance.run({ ...a, changes: JSON.stringify(a.changes), hostIds: JSON.stringify(a.hostIds) });
    return 'created';
  }

  acceptances(groupId?: string): DriftAcceptanceRecord[] {
    return (groupId === undefined ? this.selectAcceptances.all() : this.selectAcceptancesFor.all(groupId)).map(acceptanceFromRow);
  }

  pruneEvidence(policy: EvidenceRetention): { appraisals: number; logs: number } {
    const before = policy.before?.toISOString() ?? '';
    const appraisals = this.dropOldEvidence.run(Math.max(0, Math.trunc(policy.keepPerHost)), before).changes;
    const logs = this.dropOrphanLogs.run().changes;
    this.dropEmptyGroups.run();
    return { appraisals, logs };
  }

  pruneHistory(before: Date): number {
    const appraisals = this.dropOldHistory.run(before.toISOString()).changes;
    if (appraisals > 0) {
      this.dropOrphanLogs.run();
      this.dropEmptyGroups.run();
    }
    return appraisals;
  }
}
