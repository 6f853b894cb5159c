/** The store suite, part 3: history, evidence, drift and acceptance (contract §6). */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import type { AppraisalRecord, DriftAcceptanceRecord, StoreChange } from '../../../src/store/types.ts';
import { waitFor, type SuiteContext } from './fixtures.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const at = (s: number): string => new Date(NOW.getTime() + s * 1000).toISOString();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const logBytes = (label: string): Uint8Array => new Uint8Array(Buffer.from(`event log ${label} `.repeat(50)));

export function fleetTests(name: string, ctx: SuiteContext): void {
  describe(`${name} store: history, evidence and drift`, () => {
    let seq = 0;

    async function host(hostId: string): Promise<void> {
      await ctx.store.createEnrollment({
        enrollmentId: `e-${hostId}`, hostId, ekFingerprint: `ek-${hostId}`, akName: 'ak', akPub: 'AAAA', profiles: ['p'],
        secretHash: '00', createdAt: NOW.toISOString(), expiresAt: at(600),
      });
      expect((await ctx.store.activateEnrollment(`e-${hostId}`, NOW)).ok).toBe(true);
    }

    async function appraise(hostId: string, over: Partial<AppraisalRecord> & { log?: Uint8Array }): Promise<AppraisalRecord> {
      const n = seq++;
      const { log, ...rest } = over;
      const a: AppraisalRecord = {
        appraisalId: `a${n}`, hostId, verdict: 'pass', profile: 'p@1', failures: [], pcrs: {},
        evidence: { quote: 'q', signature: 's', eventLog: log ? sha(log) : `nolog${n}`, nonce: `n${n}` },
        timings: {}, appraisedAt: at(n), ...(log ? { eventLog: log } : {}), ...rest,
      };
      await ctx.store.recordAppraisal(a);
      return a;
    }

    const fail = (groupId: string, changes: unknown[] = [{ pcr: 4 }]) => ({
      verdict: 'fail' as const,
      failures: [{ code: 'bootloader_not_allowed', message: 'x' }],
      drift: { groupId, changes, blockers: [], bank: 'sha256' },
    });

    it('lists a host\'s appraisals newest first, in pages by position, with the evidence kept', async () => {
      await host('h1');
      const log = logBytes('one');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await appraise('h1', { log, ...(i === 3 ? fail('g1') : {}) })).appraisalId);
      const forged = await appraise('h1', { rejected: true, verdict: 'fail' });
      const first = await ctx.store.listAppraisals('h1', 3);
      expect(first.map((a) => a.appraisalId)).toEqual([forged.appraisalId, ids[4], ids[3]]);
      expect(first[0]).toMatchObject({ rejected: true, eventLogRetained: false });
      expect(first[1]).toMatchObject({ verdict: 'pass', eventLogRetained: true, eventLogDigest: sha(log) });
      expect(first[2]).toMatchObject({ verdict: 'fail' });
      const rest = await ctx.store.listAppraisals('h1', 10, first.at(-1)!.seq);
      expect(rest.map((a) => a.appraisalId)).toEqual(ids.slice(0, 3).reverse());
      expect(await ctx.store.listAppraisals('nobody', 10)).toEqual([]);
      // Each distinct log is kept once, and reads back byte for byte.
      expect(await ctx.store.getEventLog(sha(log))).toEqual(log);
      expect(await ctx.store.getEventLog('00'.repeat(32))).toBeUndefined();
      expect((await ctx.store.getAppraisal(ids[0]!))?.eventLogRetained).toBe(true);
    });

    it('keeps one drift entry per failing host: set by a counted failure, kept by a rejected one, cleared by a pass', async () => {
      await host('h1');
      await host('h2');
      await appraise('h1', {});
      const f1 = await appraise('h1', fail('g1', [{ pcr: 4, change: 'modified' }]));
      await appraise('h2', fail('g1', [{ pcr: 4, change: 'other host, same group' }]));
      expect(await ctx.store.getHostDrift('h1')).toEqual({ groupId: 'g1', appraisalId: f1.appraisalId });
      // Evidence the host did not sign changes nothing.
      await appraise('h1', { ...fail('g2'), rejected: true });
      let groups = await ctx.store.listDriftGroups();
      expect(groups).toHaveLength(1);
      expect(groups[0]).toMatchObject({ groupId: 'g1', hostIds: ['h1', 'h2'], profile: 'p@1', firstSeen: f1.appraisedAt, blockers: [], bank: 'sha256' });
      // The group keeps the change set as first seen.
      expect(groups[0]?.changes).toEqual([{ pcr: 4, change: 'modified' }]);
      // Failing again the same way keeps firstSeen; another way moves the host.
      const again = await appraise('h1', { ...fail('g1'), profile: 'p@2' });
      groups = await ctx.store.listDriftGroups();
      expect(groups[0]).toMatchObject({ firstSeen: f1.appraisedAt, lastSeen: again.appraisedAt, profile: 'p@2' });
      await appraise('h2', fail('g3'));
      await appraise('h1', fail('g3'));
      await appraise('h2', {});
      groups = await ctx.store.listDriftGroups();
      expect(groups.map((g) => [g.groupId, g.hostIds])).toEqual([['g3', ['h1']]]);
      const one = await ctx.store.getDriftGroup('g3');
      expect(one?.members.map((m) => m.hostId)).toEqual(['h1']);
      expect(await ctx.store.getDriftGroup('g1')).toBeUndefined();
      expect(await ctx.store.getHostDrift('h2')).toBeUndefined();
      // Deleting a host removes its entry.
      await ctx.store.deleteHost('h1');
      expect(await ctx.store.listDriftGroups()).toEqual([]);
    });

    it('orders drift groups largest first', async () => {
      for (const [i, g] of ['small', 'big', 'big', 'mid', 'mid', 'big'].entries()) {
        await host(`h${i}`);
        await appraise(`h${i}`, fail(g));
      }
      expect((await ctx.store.listDriftGroups()).map((g) => [g.groupId, g.hostIds.length])).toEqual([['big', 3], ['mid', 2], ['small', 1]]);
    });

    it('accepts a drift group once: the profile version and its audit record together', async () => {
      const profile = { name: 'p', version: '2', document: '{"v":2}', source: 'api' as const, storedAt: NOW.toISOString() };
      const acc: DriftAcceptanceRecord = {
        acceptanceId: 'acc1', groupId: 'g1', profileName: 'p', fromVersion: '1', toVersion: '2', keyId: 'k', note: 'rollout',
        changes: [{ pcr: 4 }], hostIds: ['h1'], at: NOW.toISOString(),
      };
      const changes: StoreChange[] = [];
      const unsubscribe = ctx.store.subscribe((c) => changes.push(c));
      const results = await Promise.all([ctx.store.acceptDrift(profile, acc), ctx.store.acceptDrift(profile, { ...acc, acceptanceId: 'acc2' })]);
      expect(results.sort()).toEqual(['created', 'exists']);
      // The new version is a profile change every replica hears of (their latest-version memory goes).
      await waitFor(() => changes.some((c) => c.kind === 'profiles'));
      unsubscribe();
      expect(await ctx.store.acceptDrift({ ...profile, document: '{"v":"other"}' }, { ...acc, acceptanceId: 'acc3' })).toBe('conflict');
      expect((await ctx.store.getProfile('p', '2'))?.document).toBe('{"v":2}');
      const audit = await ctx.store.listDriftAcceptances('g1');
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ groupId: 'g1', keyId: 'k', note: 'rollout', changes: [{ pcr: 4 }], hostIds: ['h1'], toVersion: '2' });
      expect(await ctx.store.listDriftAcceptances('other')).toEqual([]);
      expect(await ctx.store.listDriftAcceptances()).toHaveLength(1);
    });

    it('finds each host\'s last passing appraisal of a profile', async () => {
      await host('h1');
      await host('h2');
      await host('h3');
      await appraise('h1', { profile: 'p@1', log: logBytes('a') });
      const h1 = await appraise('h1', { profile: 'p@2', log: logBytes('b') });
      await appraise('h1', fail('g'));
      await appraise('h2', { profile: 'pp@1' });
      await appraise('h3', { profile: 'p@1' });
      await appraise('h3', { profile: 'q@1' });
      const list = await ctx.store.lastPassingByProfile('p');
      expect(list).toEqual([{ hostId: 'h1', appraisalId: h1.appraisalId, profile: 'p@2', eventLogDigest: sha(logBytes('b')), eventLogRetained: true }]);
    });

    it('prunes older evidence by count and age, never the latest or the last passing log of a host', async () => {
      await host('h1');
      const logs = Array.from({ length: 6 }, (_, i) => logBytes(`boot ${i}`));
      const recs: AppraisalRecord[] = [];
      recs.push(await appraise('h1', { log: logs[0] })); // last pass
      for (let i = 1; i < 6; i++) recs.push(await appraise('h1', { ...fail('g'), log: logs[i] }));
      let out = await ctx.store.pruneEvidence({ keepPerHost: 2 });
      expect(out).toEqual({ appraisals: 3, logs: 3 });
      const kept = (await ctx.store.listAppraisals('h1', 10)).filter((a) => a.eventLogRetained).map((a) => a.appraisalId);
      expect(kept.sort()).toEqual([recs[0]!.appraisalId, recs[4]!.appraisalId, recs[5]!.appraisalId].sort());
      expect(await ctx.store.getEventLog(sha(logs[1]!))).toBeUndefined();
      expect(await ctx.store.getEventLog(sha(logs[0]!))).toEqual(logs[0]);
      // By age: only the latest and the last pass survive an age limit past everything.
      out = await ctx.store.pruneEvidence({ keepPerHost: 100, before: new Date(NOW.getTime() + 3600_000) });
      expect(out.appraisals).toBe(1);
      expect((await ctx.store.listAppraisals('h1', 10)).filter((a) => a.eventLogRetained).map((a) => a.appraisalId).sort()).toEqual([recs[0]!.appraisalId, recs[5]!.appraisalId].sort());
      // A log shared with a kept appraisal stays.
      await appraise('h1', { log: logs[5] });
      await appraise('h1', { log: logs[5] });
      await ctx.store.pruneEvidence({ keepPerHost: 0 });
      expect(await ctx.store.getEventLog(sha(logs[5]!))).toEqual(logs[5]);
    });

    it('prunes appraisal records by age, never a host\'s latest or last passing one, with the logs only they kept', async () => {
      await host('h1');
      await host('h2');
      const logs = Array.from({ length: 4 }, (_, i) => logBytes(`history ${i}`));
      const pass = await appraise('h1', { log: logs[0] }); // h1's last pass
      const old = await appraise('h1', { ...fail('g'), log: logs[1] });
      const forged = await appraise('h1', { rejected: true, verdict: 'fail' });
      const latest = await appraise('h1', { ...fail('g'), log: logs[2] }); // h1's latest counted
      const h2old = await appraise('h2', { log: logs[3] });
      const h2new = await appraise('h2', { log: logs[3] });
      const cut = new Date(Date.parse(h2new.appraisedAt) + 1000); // past every record
      expect(await ctx.store.pruneHistory(cut)).toBe(3);
      expect((await ctx.store.listAppraisals('h1', 10)).map((a) => a.appraisalId)).toEqual([latest.appraisalId, pass.appraisalId]);
      expect((await ctx.store.listAppraisals('h2', 10)).map((a) => a.appraisalId)).toEqual([h2new.appraisalId]);
      for (const gone of [old, forged, h2old]) expect(await ctx.store.getAppraisal(gone.appraisalId)).toBeUndefined();
      // The log only the deleted record kept is gone; a log a kept record shares stays.
      expect(await ctx.store.getEventLog(sha(logs[1]!))).toBeUndefined();
      expect(await ctx.store.getEventLog(sha(logs[3]!))).toEqual(logs[3]);
      // Trust still reads the latest counted appraisal; nothing newer than the cut is touched.
      expect((await ctx.store.lastAppraisal('h1'))?.appraisalId).toBe(latest.appraisalId);
      expect(await ctx.store.pruneHistory(new Date(Date.parse(pass.appraisedAt) - 1000))).toBe(0);
      expect(await ctx.store.pruneHistory(cut)).toBe(0);
    });

    it('lists host trust in pages by hostId', async () => {
      for (const id of ['c', 'a', 'e', 'b', 'd']) await host(id);
      const page1 = await ctx.store.listHostTrust({ limit: 2 });
      expect(page1.map((x) => x.host.hostId)).toEqual(['a', 'b']);
      const page2 = await ctx.store.listHostTrust({ after: 'b', limit: 10 });
      expect(page2.map((x) => x.host.hostId)).toEqual(['c', 'd', 'e']);
      expect((await ctx.store.listHostTrust()).length).toBe(5);
    });
  });
}
