/** Enrollments and hosts in SQLite. activateEnrollment is the one atomic step of enrollment. */
import type Database from 'better-sqlite3';
import type { ActivateOutcome, AppraisalTrust, EnrollmentRecord, HostRecord, HostTrustPage, HostTrustState } from '../types.ts';
import { parseJson } from './json.ts';

interface EnrollmentRow {
  enrollment_id: string;
  host_id: string;
  ek_fingerprint: string;
  ak_name: string;
  ak_pub: string;
  profiles: string;
  secret_hash: string;
  created_at: string;
  expires_at: string;
  activated_at: string | null;
}

export interface HostRow {
  host_id: string;
  ek_fingerprint: string;
  ak_name: string;
  ak_pub: string;
  profiles: string;
  enrolled_at: string;
  last_clock: string | null;
  revoked_at: string | null;
}

interface HostTrustRow extends HostRow {
  a_appraisal_id: string | null;
  a_verdict: string | null;
  a_profile: string | null;
  a_failures: string | null;
  a_appraised_at: string | null;
  a_token_expires_at: string | null;
}

function enrollmentFromRow(r: EnrollmentRow): EnrollmentRecord {
  const e: EnrollmentRecord = {
    enrollmentId: r.enrollment_id,
    hostId: r.host_id,
    ekFingerprint: r.ek_fingerprint,
    akName: r.ak_name,
    akPub: r.ak_pub,
    profiles: parseJson<string[]>(r.profiles),
    secretHash: r.secret_hash,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
  if (r.activated_at !== null) e.activatedAt = r.activated_at;
  return e;
}

export function hostFromRow(r: HostRow): HostRecord {
  const h: HostRecord = {
    hostId: r.host_id,
    ekFingerprint: r.ek_fingerprint,
    akName: r.ak_name,
    akPub: r.ak_pub,
    profiles: parseJson<string[]>(r.profiles),
    enrolledAt: r.enrolled_at,
  };
  if (r.last_clock !== null) h.lastClock = parseJson<NonNullable<HostRecord['lastClock']>>(r.last_clock);
  if (r.revoked_at !== null) h.revokedAt = r.revoked_at;
  return h;
}

/**
 * The trust state as a condition on the joined row, with `?` the time as ISO text: the same
 * derivation as trustStatusOf (src/attestation/trust.ts). strftime reads the stored expiry as a
 * time and writes it back in toISOString's form, so text order is time order; an expiry it cannot
 * read is '' and, like a NaN from Date.parse, never later than now.
 */
const EXPIRY = "COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', a.token_expires_at), '')";
const TRUST_WHERE: Record<HostTrustState, string> = {
  trusted: `h.revoked_at IS NULL AND a.verdict = 'pass' AND ${EXPIRY} > ?`,
  expired: `h.revoked_at IS NULL AND a.verdict = 'pass' AND ${EXPIRY} <= ?`,
  untrusted: `(h.revoked_at IS NOT NULL OR a.verdict = 'fail')`,
  unknown: `h.revoked_at IS NULL AND a.appraisal_id IS NULL`,
};
/** The same derivation as one expression, in trustStatusOf's order, for counting. */
const TRUST_STATE = `CASE WHEN h.revoked_at IS NOT NULL THEN 'untrusted' WHEN a.appraisal_id IS NULL THEN 'unknown'
  WHEN a.verdict = 'fail' THEN 'untrusted' WHEN ${EXPIRY} > ? THEN 'trusted' ELSE 'expired' END`;

export class HostTables {
  private readonly insertEnrollment;
  private readonly selectEnrollment;
  private readonly markActivated;
  private readonly selectHost;
  private readonly selectHosts;
  private readonly selectHostTrust;
  private readonly selectHostTrustPage;
  private readonly selectHostTrustIn: Record<HostTrustState, Database.Statement<Array<string | number>, HostTrustRow>>;
  private readonly countTrust;
  private readonly insertHost;
  private readonly updateHostKeys;
  private readonly updateProfiles;
  private readonly removeHost;
  private readonly markRevoked;
  private readonly deleteStaleEnrollments;
  readonly activate: (enrollmentId: string, now: Date) => ActivateOutcome;

  constructor(db: Database.Database) {
    this.insertEnrollment = db.prepare(`INSERT INTO enrollments
      (enrollment_id, host_id, ek_fingerprint, ak_name, ak_pub, profiles, secret_hash, created_at, expires_at, activated_at)
      VALUES (@enrollmentId, @hostId, @ekFingerprint, @akName, @akPub, @profiles, @secretHash, @createdAt, @expiresAt, @activatedAt)`);
    this.selectEnrollment = db.prepare<[string], EnrollmentRow>('SELECT * FROM enrollments WHERE enrollment_id = ?');
    this.markActivated = db.prepare('UPDATE enrollments SET activated_at = ? WHERE enrollment_id = ? AND activated_at IS NULL');
    this.selectHost = db.prepare<[string], HostRow>('SELECT * FROM hosts WHERE host_id = ?');
    this.selectHosts = db.prepare<[], HostRow>('SELECT * FROM hosts ORDER BY host_id');
    // The last counted appraisal per host through the (host_id, rejected, seq) index, not one query per host.
    const trustSelect = `SELECT h.*, a.appraisal_id AS a_appraisal_id, a.verdict AS a_verdict, a.profile AS a_profile,
        a.failures AS a_failures, a.appraised_at AS a_appraised_at, a.token_expires_at AS a_token_expires_at
      FROM hosts h
      LEFT JOIN appraisals a ON a.seq = (SELECT MAX(seq) FROM appraisals WHERE host_id = h.host_id AND rejected = 0)`;
    this.selectHostTrust = db.prepare<[], HostTrustRow>(`${trustSelect} ORDER BY h.host_id`);
    this.selectHostTrustPage = db.prepare<[string, number], HostTrustRow>(`${trustSelect} WHERE h.host_id > ? ORDER BY h.host_id LIMIT ?`);
    // Hosts in hostId order until `limit` match: a page reads about what it returns when its state is common.
    const inState = (s: HostTrustState) =>
      db.prepare<Array<string | number>, HostTrustRow>(`${trustSelect} WHERE h.host_id > ? AND ${TRUST_WHERE[s]} ORDER BY h.host_id LIMIT ?`);
    this.selectHostTrustIn = { trusted: inState('trusted'), untrusted: inState('untrusted'), unknown: inState('unknown'), expired: inState('expired') };
    this.countTrust = db.prepare<[string], { state: HostTrustState; n: number }>(`SELECT ${TRUST_STATE} AS state, COUNT(*) AS n
      FROM hosts h
      LEFT JOIN appraisals a ON a.seq = (SELECT MAX(seq) FROM appraisals WHERE host_id = h.host_id AND rejected = 0)
      GROUP BY state`);
    this.insertHost = db.prepare(`INSERT INTO hosts (host_id, ek_fingerprint, ak_name, ak_pub, profiles, enrolled_at)
      VALUES (?, ?, ?, ?, ?, ?)`);
    // Same TPM enrolling a new AK: the AK changes, the admin-set profiles and the clock history stay.
    this.updateHostKeys = db.prepare('UPDATE hosts SET ak_name = ?, ak_pub = ?, enrolled_at = ? WHERE host_id = ?');
    this.updateProfiles = db.prepare('UPDATE hosts SET profiles = ? WHERE host_id = ?');
    this.removeHost = db.prepare('DELETE FROM hosts WHERE host_id = ?');
    this.markRevoked = db.prepare('UPDATE hosts SET revoked_at = COALESCE(revoked_at, ?) WHERE host_id = ?');
    this.deleteStaleEnrollments = db.prepare('DELETE FROM enrollments WHERE activated_at IS NULL AND expires_at < ?');

    const activateTx = db.transaction((enrollmentId: string, now: Date): ActivateOutcome => {
      const row = this.selectEnrollment.get(enrollmentId);
      if (!row) return { ok: false, reason: 'not_found' };
      if (row.activated_at !== null) return { ok: false, reason: 'already_activated' };
      if (Date.parse(row.expires_at) <= now.getTime()) return { ok: false, reason: 'expired' };
      const at = now.toISOString();
      const existing = this.selectHost.get(row.host_id);
      if (existing && existing.ek_fingerprint !== row.ek_fingerprint) return { ok: false, reason: 'ek_conflict' };
      if (existing) {
        this.updateHostKeys.run(row.ak_name, row.ak_pub, at, row.host_id);
      } else {
        this.insertHost.run(row.host_id, row.ek_fingerprint, row.ak_name, row.ak_pub, row.profiles, at);
      }
      this.markActivated.run(at, enrollmentId);
      const host = this.selectHost.get(row.host_id);
      if (!host) throw new Error('host row vanished inside its own transaction');
      return { ok: true, host: hostFromRow(host) };
    });
    this.activate = (id, now) => activateTx.immediate(id, now);
  }

  createEnrollment(e: EnrollmentRecord): void {
    this.insertEnrollment.run({
      ...e,
      profiles: JSON.stringify(e.profiles),
      activatedAt: e.activatedAt ?? null,
    });
  }

  getEnrollment(id: string): EnrollmentRecord | undefined {
    const r = this.selectEnrollment.get(id);
    return r ? enrollmentFromRow(r) : undefined;
  }

  getHost(hostId: string): HostRecord | undefined {
    const r = this.selectHost.get(hostId);
    return r ? hostFromRow(r) : undefined;
  }

  listHosts(): HostRecord[] {
    return this.selectHosts.all().map(hostFromRow);
  }

  listHostTrust(page?: HostTrustPage): Array<{ host: HostRecord; last?: AppraisalTrust }> {
    const rows =
      page === undefined
        ? this.selectHostTrust.all()
        : page.trust !== undefined
          ? this.selectHostTrustIn[page.trust.state].all(
              page.after ?? '',
              ...(page.trust.state === 'trusted' || page.trust.state === 'expired' ? [page.trust.now.toISOString()] : []),
              page.limit ?? -1,
            )
          : this.selectHostTrustPage.all(page.after ?? '', page.limit ?? -1);
    return rows.map((r) => {
      const host = hostFromRow(r);
      if (r.a_appraisal_id === null) return { host };
      const last: AppraisalTrust = {
        appraisalId: r.a_appraisal_id,
        verdict: r.a_verdict as AppraisalTrust['verdict'],
        profile: r.a_profile,
        failures: parseJson<unknown[]>(r.a_failures as string),
        appraisedAt: r.a_appraised_at as string,
      };
      if (r.a_token_expires_at !== null) last.tokenExpiresAt = r.a_token_expires_at;
      return { host, last };
    });
  }

  countHostTrust(now: Date): Record<HostTrustState, number> {
    const counts: Record<HostTrustState, number> = { trusted: 0, untrusted: 0, unknown: 0, expired: 0 };
    for (const r of this.countTrust.all(now.toISOString())) counts[r.state] = r.n;
    return counts;
  }

  setProfiles(hostId: string, profiles: string[]): boolean {
    return this.updateProfiles.run(JSON.stringify(profiles), hostId).changes > 0;
  }

  delete(hostId: string): boolean {
    return this.removeHost.run(hostId).changes > 0;
  }

  /** Forgets enrollments never activated that expired before `before`; activated ones stay as the audit trail. */
  pruneEnrollments(before: Date): number {
    return this.deleteStaleEnrollments.run(before.toISOString()).changes;
  }

  revoke(hostId: string, at: Date): boolean {
    return this.markRevoked.run(at.toISOString(), hostId).changes > 0;
  }
}
