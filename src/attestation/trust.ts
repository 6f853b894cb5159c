/**
 * Trust status of a host (contract §3.3), derived from its last appraisal: trusted until the
 * token of the last passing appraisal expires, unless a later appraisal failed.
 */
import type { AppraisalTrust, AppraisalVerdict, HostRecord } from '../store/types.ts';

export type TrustStatus = 'trusted' | 'untrusted' | 'unknown' | 'expired';
export const TRUST_STATUSES: readonly TrustStatus[] = ['trusted', 'untrusted', 'unknown', 'expired'];

export interface TrustView {
  status: TrustStatus;
  appraisalId: string | null;
  appraisedAt: string | null;
  expiresAt: string | null;
  profile: string | null;
  failures: unknown[];
}

/** The status alone: what the host's revocation and its last counted appraisal's verdict and token expiry say. */
export function trustStatusOf(host: HostRecord, last: AppraisalVerdict | undefined, now: Date): TrustStatus {
  if (host.revokedAt !== undefined) return 'untrusted';
  if (!last) return 'unknown';
  if (last.verdict === 'fail') return 'untrusted';
  const expires = last.tokenExpiresAt === undefined ? 0 : Date.parse(last.tokenExpiresAt);
  return expires > now.getTime() ? 'trusted' : 'expired';
}

export function trustOf(host: HostRecord, last: AppraisalTrust | undefined, now: Date): TrustView {
  const base = {
    appraisalId: last?.appraisalId ?? null,
    appraisedAt: last?.appraisedAt ?? null,
    expiresAt: last?.tokenExpiresAt ?? null,
    profile: last?.profile ?? null,
    failures: last?.failures ?? [],
  };
  const status = trustStatusOf(host, last, now);
  if (host.revokedAt !== undefined) {
    return { ...base, status, failures: [...base.failures, { code: 'host_revoked', message: `an administrator revoked this host at ${host.revokedAt}` }] };
  }
  return { ...base, status };
}
