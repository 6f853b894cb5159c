/** Records and helpers the store suite's parts share. */
import { expect } from 'vitest';
import type { AppraisalRecord, EnrollmentRecord, Store } from '../../../src/store/types.ts';

export const NOW = new Date('2026-01-01T00:00:00.000Z');
export const later = (s: number): Date => new Date(NOW.getTime() + s * 1000);

export function enrollment(over: Partial<EnrollmentRecord> = {}): EnrollmentRecord {
  return {
    enrollmentId: 'e1',
    hostId: 'h1',
    ekFingerprint: 'ek-a',
    akName: '000b' + 'aa'.repeat(32),
    akPub: 'AAAA',
    profiles: ['ref'],
    secretHash: 'ff'.repeat(32),
    createdAt: NOW.toISOString(),
    expiresAt: later(600).toISOString(),
    ...over,
  };
}

export function appraisal(over: Partial<AppraisalRecord> = {}): AppraisalRecord {
  return {
    appraisalId: 'a1',
    hostId: 'h1',
    verdict: 'pass',
    profile: 'ref@1',
    failures: [],
    pcrs: { sha256: { '0': '00' } },
    evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' },
    timings: { total: 1 },
    appraisedAt: NOW.toISOString(),
    ...over,
  };
}

export async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What each part of the suite works with: the store of the current test, and more on its database. */
export interface SuiteContext {
  readonly store: Store;
  /** Another store on the same database, closed after the test (a second process or replica). */
  another(): Promise<Store>;
  /** Where the store keeps its data, for a child process. */
  location(): string;
  /** Enrolls and activates `hostId` with EK `ek`. */
  enrolledHost(hostId?: string, ek?: string): Promise<void>;
}

export async function enrollHost(store: Store, hostId = 'h1', ek = 'ek-a'): Promise<void> {
  await store.createEnrollment(enrollment({ enrollmentId: `enr-${hostId}-${ek}`, hostId, ekFingerprint: ek }));
  const out = await store.activateEnrollment(`enr-${hostId}-${ek}`, NOW);
  expect(out.ok).toBe(true);
}
