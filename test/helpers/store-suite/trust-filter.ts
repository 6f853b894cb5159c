/**
 * The store suite, part 4: listHostTrust filtered by trust state (GET /v1/hosts?trust=) equals the
 * full listing filtered by trustStatusOf, for hosts in every state and at expiry boundaries.
 */
import { describe, it, expect } from 'vitest';
import type { AppraisalRecord, HostTrustState } from '../../../src/store/types.ts';
import { trustStatusOf, TRUST_STATUSES } from '../../../src/attestation/trust.ts';
import { appraisal, enrollHost, NOW, type SuiteContext } from './fixtures.ts';

const ms = (d: number): string => new Date(NOW.getTime() + d).toISOString();

/** hostId -> what happens to it: its appraisals in order, and whether it is revoked. */
const FLEET: Record<string, { appraisals: Array<Partial<AppraisalRecord>>; revoked?: boolean }> = {
  'pass-future': { appraisals: [{ tokenExpiresAt: ms(3600_000) }] },
  'pass-at-now': { appraisals: [{ tokenExpiresAt: ms(0) }] },
  'pass-1ms-after': { appraisals: [{ tokenExpiresAt: ms(1) }] },
  'pass-no-token': { appraisals: [{}] },
  // The same instants written with offsets: the filter must compare times, not text.
  'pass-offset-at-now': { appraisals: [{ tokenExpiresAt: '2026-01-01T01:00:00+01:00' }] },
  'pass-offset-1s-after': { appraisals: [{ tokenExpiresAt: '2025-12-31T23:00:01-01:00' }] },
  'fail-future': { appraisals: [{ verdict: 'fail', tokenExpiresAt: ms(3600_000) }] },
  'revoked-pass': { appraisals: [{ tokenExpiresAt: ms(3600_000) }], revoked: true },
  'revoked-none': { appraisals: [], revoked: true },
  'never-appraised': { appraisals: [] },
  'pass-then-rejected': { appraisals: [{ tokenExpiresAt: ms(3600_000) }, { verdict: 'fail', rejected: true }] },
  'fail-then-pass': { appraisals: [{ verdict: 'fail' }, { tokenExpiresAt: ms(3600_000) }] },
  'pass-then-fail': { appraisals: [{ tokenExpiresAt: ms(3600_000) }, { verdict: 'fail' }] },
};

export function trustFilterTests(name: string, ctx: SuiteContext): void {
  describe(`${name} store: hosts filtered by trust state`, () => {
    it('lists exactly the hosts in each state, whole and in pages, at any time', async () => {
      let n = 0;
      for (const [hostId, h] of Object.entries(FLEET)) {
        await enrollHost(ctx.store, hostId, `ek-${hostId}`);
        for (const a of h.appraisals) {
          n++;
          await ctx.store.recordAppraisal(appraisal({ appraisalId: `a${n}`, hostId, evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: `n${n}` }, ...a }));
        }
        if (h.revoked) expect(await ctx.store.revokeHost(hostId, NOW)).toBe(true);
      }
      const all = await ctx.store.listHostTrust();
      expect(all).toHaveLength(Object.keys(FLEET).length);
      const seen = new Set<HostTrustState>();
      for (const now of [new Date(NOW.getTime() - 1), NOW, new Date(NOW.getTime() + 1), new Date(NOW.getTime() + 2 * 3600_000)]) {
        for (const state of TRUST_STATUSES) {
          const expected = all.filter((x) => trustStatusOf(x.host, x.last, now) === state).map((x) => x.host.hostId);
          expected.forEach(() => seen.add(state));
          const whole = await ctx.store.listHostTrust({ trust: { state, now } });
          expect(whole.map((x) => x.host.hostId), `${state} at ${now.toISOString()}`).toEqual(expected);
          // Rows come back whole: the same host and last appraisal as in the full listing.
          for (const x of whole) expect(x).toEqual(all.find((y) => y.host.hostId === x.host.hostId));
          // In pages of 2 after the cursor, each host once.
          const paged: string[] = [];
          for (let after: string | undefined; ; ) {
            const page = await ctx.store.listHostTrust({ ...(after !== undefined ? { after } : {}), limit: 2, trust: { state, now } });
            paged.push(...page.map((x) => x.host.hostId));
            if (page.length < 2) break;
            after = page.at(-1)?.host.hostId;
          }
          expect(paged, `${state} paged at ${now.toISOString()}`).toEqual(expected);
        }
        // The metrics gauge's count agrees with the same derivation.
        const counted = Object.fromEntries(TRUST_STATUSES.map((s) => [s, all.filter((x) => trustStatusOf(x.host, x.last, now) === s).length]));
        expect(await ctx.store.countHostTrust(now), `counts at ${now.toISOString()}`).toEqual(counted);
      }
      // The fleet does exercise every state.
      expect([...seen].sort()).toEqual([...TRUST_STATUSES].sort());
    });
  });
}
