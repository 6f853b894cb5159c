/** The store suite, part 1: enrollment, nonces, appraisals, durability across processes. */
import { describe, it, expect } from 'vitest';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { StoreError } from '../../../src/store/errors.ts';
import { NOW, appraisal, enrollment, later, type SuiteContext } from './fixtures.ts';

const CHILD = join(resolve(import.meta.dirname, '..', '..', '..'), 'test', 'helpers', 'store-child.ts');

export function recordTests(name: string, ctx: SuiteContext): void {
  describe(`${name} store: enrollment`, () => {
    it('activates once, then answers already_activated', async () => {
      await ctx.store.createEnrollment(enrollment());
      const first = await ctx.store.activateEnrollment('e1', NOW);
      expect(first.ok).toBe(true);
      if (first.ok) expect(first.host).toMatchObject({ hostId: 'h1', ekFingerprint: 'ek-a', profiles: ['ref'] });
      expect(await ctx.store.activateEnrollment('e1', NOW)).toEqual({ ok: false, reason: 'already_activated' });
      expect((await ctx.store.getEnrollment('e1'))?.activatedAt).toBe(NOW.toISOString());
    });

    it('refuses unknown and expired enrollments', async () => {
      expect(await ctx.store.activateEnrollment('nope', NOW)).toEqual({ ok: false, reason: 'not_found' });
      await ctx.store.createEnrollment(enrollment());
      expect(await ctx.store.activateEnrollment('e1', later(600))).toEqual({ ok: false, reason: 'expired' });
      expect(await ctx.store.getHost('h1')).toBeUndefined();
    });

    it('refuses a different EK for an existing host until the host is deleted; the same EK may re-enroll a new AK', async () => {
      await ctx.enrolledHost('h1', 'ek-a');
      await ctx.store.setHostProfiles('h1', ['admin-set']);
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'e2', ekFingerprint: 'ek-b' }));
      expect(await ctx.store.activateEnrollment('e2', NOW)).toEqual({ ok: false, reason: 'ek_conflict' });
      expect((await ctx.store.getEnrollment('e2'))?.activatedAt).toBeUndefined();

      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'e3', akName: 'new-ak' }));
      const same = await ctx.store.activateEnrollment('e3', later(1));
      expect(same.ok && same.host.akName).toBe('new-ak');
      expect(same.ok && same.host.profiles).toEqual(['admin-set']);

      expect(await ctx.store.deleteHost('h1')).toBe(true);
      expect(await ctx.store.deleteHost('h1')).toBe(false);
      const after = await ctx.store.activateEnrollment('e2', later(2));
      expect(after.ok && after.host.ekFingerprint).toBe('ek-b');
    });

    it('two enrollments of one new host with different EKs, activated at once through two stores: one host, one EK', async () => {
      const other = await ctx.another();
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'ea', ekFingerprint: 'ek-a' }));
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'eb', ekFingerprint: 'ek-b' }));
      const [a, b] = await Promise.all([ctx.store.activateEnrollment('ea', NOW), other.activateEnrollment('eb', NOW)]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const loser = a.ok ? b : a;
      expect(loser).toEqual({ ok: false, reason: 'ek_conflict' });
      expect((await other.getHost('h1'))?.ekFingerprint).toBe(a.ok ? 'ek-a' : 'ek-b');
    });

    it('an enrollment created through one store activates through another', async () => {
      await ctx.store.createEnrollment(enrollment());
      const other = await ctx.another();
      const out = await other.activateEnrollment('e1', NOW);
      expect(out.ok).toBe(true);
      expect((await ctx.store.getHost('h1'))?.ekFingerprint).toBe('ek-a');
    });

    it('prunes expired enrollments that were never activated, keeping activated ones', async () => {
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'stale' }));
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'used' }));
      await ctx.store.activateEnrollment('used', NOW);
      expect(await ctx.store.pruneEnrollments(later(601))).toBe(1);
      expect(await ctx.store.getEnrollment('stale')).toBeUndefined();
      expect(await ctx.store.getEnrollment('used')).toBeDefined();
    });

    it('revokes a host and keeps it revoked when its TPM re-enrolls', async () => {
      await ctx.enrolledHost();
      expect(await ctx.store.revokeHost('h1', NOW)).toBe(true);
      expect(await ctx.store.revokeHost('nobody', NOW)).toBe(false);
      await ctx.store.createEnrollment(enrollment({ enrollmentId: 'e9' }));
      await ctx.store.activateEnrollment('e9', later(1));
      expect((await ctx.store.getHost('h1'))?.revokedAt).toBe(NOW.toISOString());
    });
  });

  describe(`${name} store: nonces`, () => {
    it('answers each outcome with the host, and consumes on first presentation whatever the outcome', async () => {
      await ctx.enrolledHost('h1');
      await ctx.enrolledHost('h2', 'ek-2');
      const put = (hash: string, hostId = 'h1') =>
        ctx.store.putNonce({ nonceHash: hash, hostId, createdAt: NOW.toISOString(), expiresAt: later(120).toISOString() });
      await put('n-ok');
      await put('n-other', 'h2');
      await put('n-old');
      expect(await ctx.store.consumeNonce('n-ok', 'h1', NOW)).toEqual({ outcome: 'ok', host: await ctx.store.getHost('h1') });
      // Nothing is consumed for a host that is not enrolled.
      expect(await ctx.store.consumeNonce('n-other', 'ghost', NOW)).toEqual({ outcome: 'unknown' });
      expect((await ctx.store.consumeNonce('n-ok', 'h1', NOW)).outcome).toBe('used');
      expect((await ctx.store.consumeNonce('n-none', 'h1', NOW)).outcome).toBe('unknown');
      expect((await ctx.store.consumeNonce('n-other', 'h1', NOW)).outcome).toBe('wrong_host');
      expect((await ctx.store.consumeNonce('n-other', 'h2', NOW)).outcome).toBe('used');
      expect((await ctx.store.consumeNonce('n-old', 'h1', later(120))).outcome).toBe('expired');
      expect((await ctx.store.consumeNonce('n-old', 'h1', NOW)).outcome).toBe('used');
    });

    it('refuses a nonce for a host that does not exist with a StoreError, and stores none for a revoked host', async () => {
      await expect(
        ctx.store.putNonce({ nonceHash: 'x', hostId: 'ghost', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() }),
      ).rejects.toMatchObject({ code: 'host_not_found' });
      await ctx.enrolledHost();
      const issued = await ctx.store.putNonce({ nonceHash: 'y', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(60).toISOString() });
      expect(issued).toEqual({ outcome: 'issued', host: await ctx.store.getHost('h1') });
      await ctx.store.revokeHost('h1', NOW);
      expect((await ctx.store.putNonce({ nonceHash: 'z', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(60).toISOString() })).outcome).toBe('host_revoked');
      // A revoked host's nonces are neither issued nor consumed; the answer says why (the host read with it).
      const revoked = await ctx.store.consumeNonce('y', 'h1', NOW);
      expect(revoked).toEqual({ outcome: 'unknown', host: expect.objectContaining({ hostId: 'h1', revokedAt: NOW.toISOString() }) });
      expect((await ctx.store.consumeNonce('z', 'h1', NOW)).outcome).toBe('unknown');
    });

    it('prunes expired nonces only', async () => {
      await ctx.enrolledHost();
      await ctx.store.putNonce({ nonceHash: 'a', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() });
      await ctx.store.putNonce({ nonceHash: 'b', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(100).toISOString() });
      expect(await ctx.store.pruneNonces(later(50))).toBe(1);
      expect((await ctx.store.consumeNonce('b', 'h1', NOW)).outcome).toBe('ok');
    });

    it('50 concurrent consumers of one nonce over two stores: exactly one ok', async () => {
      await ctx.enrolledHost();
      const other = await ctx.another();
      await ctx.store.putNonce({ nonceHash: 'race', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(600).toISOString() });
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : ctx.store).consumeNonce('race', 'h1', NOW).then((c) => c.outcome)));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'used')).toHaveLength(49);
    });

    it('gives exactly one ok when several processes race for the same nonce', async () => {
      await ctx.enrolledHost();
      await ctx.store.putNonce({ nonceHash: 'race', hostId: 'h1', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() });
      const children = Array.from({ length: 4 }, () =>
        spawn(process.execPath, ['--import', 'tsx', CHILD, ctx.location(), 'consume', 'race', 'h1'], { stdio: ['pipe', 'pipe', 'inherit'] }),
      );
      const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
      for (const l of lines) expect((await l.next()).value).toBe('ready');
      for (const c of children) c.stdin.write('go\n');
      const outcomes = await Promise.all(lines.map(async (l) => (await l.next()).value as string));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'used')).toHaveLength(3);
    });
  });

  describe(`${name} store: appraisals`, () => {
    it('records an appraisal and the host clock in one transaction, and finds the last (passing) one', async () => {
      await ctx.enrolledHost();
      const clock = { clock: '123456789012', resetCount: 3, restartCount: 1 };
      // Each record answers the verdict it follows, read in the same transaction.
      expect(await ctx.store.recordAppraisal(appraisal({ appraisalId: 'a1', clock, tokenId: 'jti-1', tokenExpiresAt: later(300).toISOString() }))).toEqual({});
      expect(await ctx.store.recordAppraisal(appraisal({ appraisalId: 'a2', verdict: 'fail', failures: [{ code: 'x' }] }))).toEqual({
        previous: { appraisalId: 'a1', verdict: 'pass', appraisedAt: NOW.toISOString(), tokenExpiresAt: later(300).toISOString() },
      });
      expect((await ctx.store.getHost('h1'))?.lastClock).toEqual(clock);
      expect((await ctx.store.lastAppraisal('h1'))?.appraisalId).toBe('a2');
      const pass = await ctx.store.lastPassingAppraisal('h1');
      expect(pass).toMatchObject({ appraisalId: 'a1', tokenId: 'jti-1', clock, pcrs: { sha256: { '0': '00' } } });
      expect(await ctx.store.getAppraisal('a2')).toMatchObject({ verdict: 'fail', failures: [{ code: 'x' }] });
      expect(await ctx.store.lastAppraisal('nobody')).toBeUndefined();
      // The verdict alone, as trust status reads it on every attestation.
      expect(await ctx.store.lastAppraisalVerdict('h1')).toEqual({ appraisalId: 'a2', verdict: 'fail', appraisedAt: NOW.toISOString() });
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'a3', tokenId: 'jti-3', tokenExpiresAt: later(600).toISOString() }));
      // Evidence the host did not sign is not its last word.
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'a4', verdict: 'fail', rejected: true }));
      expect((await ctx.store.recordAppraisal(appraisal({ appraisalId: 'a5', verdict: 'fail', rejected: true }))).previous?.appraisalId).toBe('a3');
      expect(await ctx.store.lastAppraisalVerdict('h1')).toEqual({ appraisalId: 'a3', verdict: 'pass', appraisedAt: NOW.toISOString(), tokenExpiresAt: later(600).toISOString() });
      expect((await ctx.store.lastAppraisal('h1'))?.appraisalId).toBe('a3');
      expect(await ctx.store.lastAppraisalVerdict('nobody')).toBeUndefined();
    });

    it('gives back a stored appraisal exactly as recorded', async () => {
      await ctx.enrolledHost();
      const full = appraisal({
        appraisalId: 'full',
        failures: [{ code: 'kernel_not_allowed', pcr: 9, expected: ['aa'], actual: 'bb', eventIndex: 7 }],
        pcrs: { sha256: { '0': 'aa', '10': 'bb' } },
        clock: { clock: '9007199254740993', resetCount: 1, restartCount: 2 },
        tokenId: 'j',
        tokenExpiresAt: later(300).toISOString(),
        bindingKeyThumbprint: 'tp',
        bindingKey: '{"kty":"EC"}',
        timings: { total: 1.5, nonce: 0.25 },
      });
      await ctx.store.recordAppraisal(full);
      expect(await ctx.store.getAppraisal('full')).toEqual(full);
    });

    it('lists every host with its last counted appraisal in one read, equal to asking host by host', async () => {
      await ctx.enrolledHost('h1', 'ek-1');
      await ctx.enrolledHost('h2', 'ek-2');
      await ctx.enrolledHost('h3', 'ek-3');
      await ctx.enrolledHost('h4', 'ek-4');
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'p1', hostId: 'h1', tokenId: 'j1', tokenExpiresAt: later(300).toISOString() }));
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'f1', hostId: 'h1', verdict: 'fail', failures: [{ code: 'kernel_not_allowed', pcr: 9 }] }));
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'p2', hostId: 'h2', tokenId: 'j2', tokenExpiresAt: later(300).toISOString() }));
      // A later rejected appraisal (not signed by the host) is not h2's last word.
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'r2', hostId: 'h2', verdict: 'fail', rejected: true }));
      await ctx.store.recordAppraisal(appraisal({ appraisalId: 'r4', hostId: 'h4', verdict: 'fail', rejected: true }));
      await ctx.store.revokeHost('h3', NOW);
      const listed = await ctx.store.listHostTrust();
      expect(listed.map((x) => x.host.hostId)).toEqual(['h1', 'h2', 'h3', 'h4']);
      expect((await ctx.store.listHosts()).map((h) => h.hostId)).toEqual(['h1', 'h2', 'h3', 'h4']);
      for (const { host, last } of listed) {
        expect(host).toEqual(await ctx.store.getHost(host.hostId));
        const full = await ctx.store.lastAppraisal(host.hostId);
        expect(last, host.hostId).toEqual(
          full && {
            appraisalId: full.appraisalId, verdict: full.verdict, profile: full.profile, failures: full.failures, appraisedAt: full.appraisedAt,
            ...(full.tokenExpiresAt !== undefined ? { tokenExpiresAt: full.tokenExpiresAt } : {}),
          },
        );
      }
      expect(listed.map((x) => x.last?.appraisalId)).toEqual(['f1', 'p2', undefined, undefined]);
      expect(listed[0]?.last?.failures).toEqual([{ code: 'kernel_not_allowed', pcr: 9 }]);
    });

    it('rolls back the appraisal when it references a deleted host', async () => {
      await expect(ctx.store.recordAppraisal(appraisal({ hostId: 'ghost' }))).rejects.toBeInstanceOf(StoreError);
      expect(await ctx.store.getAppraisal('a1')).toBeUndefined();
    });

    it("removes a deleted host's appraisals and nonces, but keeps its trust events", async () => {
      await ctx.enrolledHost();
      await ctx.store.recordAppraisal(appraisal());
      await ctx.store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', appraisalId: 'a1', at: NOW.toISOString() });
      await ctx.store.deleteHost('h1');
      expect(await ctx.store.getAppraisal('a1')).toBeUndefined();
      expect(await ctx.store.trustEventsAfter(0, 10)).toHaveLength(1);
    });

    it('revokes tokens idempotently', async () => {
      expect(await ctx.store.isTokenRevoked('j')).toBe(false);
      await ctx.store.revokeToken('j', 'h1', NOW, later(10));
      await ctx.store.revokeToken('j', 'h1', NOW, null);
      expect(await ctx.store.isTokenRevoked('j')).toBe(true);
    });

    it('keeps every acknowledged write when the writing process is killed with SIGKILL', async () => {
      await ctx.enrolledHost();
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ctx.location(), 'write', 'h1'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked: string[] = [];
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      for await (const line of createInterface({ input: child.stdout })) {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length === 40) {
          child.kill('SIGKILL');
          break;
        }
      }
      await exited;
      const after = await ctx.another();
      for (const id of acked) expect(await after.getAppraisal(id), id).toBeDefined();
      expect((await after.getHost('h1'))?.lastClock).toBeDefined();
    });
  });
}
