/** Row shapes of the PostgreSQL store and their records: timestamps come back as Date, JSON parsed. */
import type { AppraisalRecord, EnrollmentRecord, HostRecord, TrustEventRecord } from '../types.ts';

export const iso = (d: Date): string => d.toISOString();

export interface EnrollmentRow {
  enrollment_id: string;
  host_id: string;
  ek_fingerprint: string;
  ak_name: string;
  ak_pub: string;
  profiles: string[];
  secret_hash: string;
  created_at: Date;
  expires_at: Date;
  activated_at: Date | null;
}

export interface HostRow {
  host_id: string;
  ek_fingerprint: string;
  ak_name: string;
  ak_pub: string;
  profiles: string[];
  enrolled_at: Date;
  last_clock: HostRecord['lastClock'] | null;
  revoked_at: Date | null;
}

export interface AppraisalRow {
  appraisal_id: string;
  host_id: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: unknown[];
  pcrs: unknown;
  evidence: AppraisalRecord['evidence'];
  clock: AppraisalRecord['clock'] | null;
  token_id: string | null;
  token_expires_at: Date | null;
  binding_key_thumbprint: string | null;
  binding_key: string | null;
  rejected: boolean;
  timings: Record<string, number>;
  appraised_at: Date;
  log_digest: string | null;
}

export interface EventRow {
  seq: number;
  host_id: string;
  kind: TrustEventRecord['kind'];
  appraisal_id: string | null;
  detail: unknown;
  at: Date;
}

export function enrollmentFromRow(r: EnrollmentRow): EnrollmentRecord {
  const e: EnrollmentRecord = {
    enrollmentId: r.enrollment_id,
    hostId: r.host_id,
    ekFingerprint: r.ek_fingerprint,
    akName: r.ak_name,
    akPub: r.ak_pub,
    profiles: r.profiles,
    secretHash: r.secret_hash,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
  };
  if (r.activated_at !== null) e.activatedAt = iso(r.activated_at);
  return e;
}

export function hostFromRow(r: HostRow): HostRecord {
  const h: HostRecord = {
    hostId: r.host_id,
    ekFingerprint: r.ek_fingerprint,
    akName: r.ak_name,
    akPub: r.ak_pub,
    profiles: r.profiles,
    enrolledAt: iso(r.enrolled_at),
  };
  if (r.last_clock !== null && r.last_clock !== undefined) h.lastClock = r.last_clock;
  if (r.revoked_at !== null) h.revokedAt = iso(r.revoked_at);
  return h;
}

export function appraisalFromRow(r: AppraisalRow): AppraisalRecord {
  const a: AppraisalRecord = {
    appraisalId: r.appraisal_id,
    hostId: r.host_id,
    verdict: r.verdict,
    profile: r.profile,
    failures: r.failures,
    pcrs: r.pcrs,
    evidence: r.evidence,
    timings: r.timings,
    appraisedAt: iso(r.appraised_at),
  };
  if (r.clock !== null) a.clock = r.clock;
  if (r.token_id !== null) a.tokenId = r.token_id;
  if (r.token_expires_at !== null) a.tokenExpiresAt = iso(r.token_expires_at);
  if (r.binding_key_thumbprint !== null) a.bindingKeyThumbprint = r.binding_key_thumbprint;
  if (r.binding_key !== null) a.bindingKey = r.binding_key;
  if (r.rejected) a.rejected = true;
  if (r.log_digest !== null) a.eventLogRetained = true;
  return a;
}

export function eventFromRow(r: EventRow): TrustEventRecord {
  const e: TrustEventRecord = { seq: r.seq, hostId: r.host_id, kind: r.kind, at: iso(r.at) };
  if (r.appraisal_id !== null) e.appraisalId = r.appraisal_id;
  if (r.detail !== null && r.detail !== undefined) e.detail = r.detail;
  return e;
}
