/**
 * A host's appraisal history (contract §6 GET /v1/hosts/{id}/appraisals), newest first, in pages.
 * The cursor is opaque to clients: the store position of the last appraisal of the page, so
 * appraisals recorded while a client pages never shift what it has not read yet.
 */
import type { AppraisalSummary, Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';

export interface AppraisalView {
  appraisalId: string;
  appraisedAt: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: unknown[];
  expiresAt?: string;
  /** Evidence the host's TPM did not sign: kept for audit, never counted for trust. */
  rejected?: true;
  eventLog: { sha256: string; retained: boolean };
}

function view(a: AppraisalSummary): AppraisalView {
  return {
    appraisalId: a.appraisalId,
    appraisedAt: a.appraisedAt,
    verdict: a.verdict,
    profile: a.profile,
    failures: a.failures,
    ...(a.tokenExpiresAt !== undefined ? { expiresAt: a.tokenExpiresAt } : {}),
    ...(a.rejected === true ? { rejected: true as const } : {}),
    eventLog: { sha256: a.eventLogDigest, retained: a.eventLogRetained },
  };
}

export async function appraisalHistory(store: Store, hostId: string, limit: number, before?: string): Promise<{ appraisals: AppraisalView[]; next: string | null }> {
  if ((await store.getHost(hostId)) === undefined) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
  const beforeSeq = before === undefined ? undefined : Number(decodeCursor(before, 'a', /^[1-9][0-9]{0,14}$/));
  // One more than asked tells whether another page exists.
  const rows = await store.listAppraisals(hostId, limit + 1, beforeSeq);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { appraisals: page.map(view), next: rows.length > limit && last !== undefined ? encodeCursor('a', last.seq) : null };
}
