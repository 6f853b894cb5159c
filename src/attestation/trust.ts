/**
 * Trust status of a host (contract §3.3), derived from its last appraisal: trusted until the
 * token of the last passing appraisal expires, unless a later appraisal failed.
 */
import type { AppraisalRecord, HostRecord } from '../store/types.ts';

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

export function trustOf(host: HostRecord, last: AppraisalRecord | undefined, now: Date): TrustView {
  const base = {
    appraisalId: last?.appraisalId ?? null,
    appraisedAt: last?.appraisedAt ?? null,
    expiresAt: last?.tokenExpiresAt ?? null,
    profile: last?.profile ?? null,
    failures: last?.failures ?? [],
  };
  if (host.revokedAt !== undefined) {
    return {
      ...base,
      status: 'untrusted',
      failures: [...base.failures, { code: 'host_revoked', message: `an administrator revoked this host at ${host.revokedAt}` }],
    };
  }
  if (!last) return { ...base, status: 'unknown' };
  if (last.verdict === 'fail') return { ...base, status: 'untrusted' };
  const expires = last.tokenExpiresAt === undefined ? 0 : Date.parse(last.tokenExpiresAt);
  return { ...base, status: expires > now.getTime() ? 'trusted' : 'expired' };
}
