/**
 * The store test suite, run unchanged against every Store backend (store.sqlite.test.ts,
 * store.postgres.test.ts): what any backend must do, including across processes sharing it.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { compareVersions } from '../../src/store/profile-versions.ts';
import { StoreError } from '../../src/store/errors.ts';
import type { AppraisalRecord, EnrollmentRecord, Store, StoreChange } from '../../src/store/types.ts';

const CHILD = join(resolve(import.meta.dirname, '..', '..'), 'test', 'helpers', 'store-child.ts');

export interface StoreUnderTest {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Another store on the database of the last open(), as a second process or replica holds it. */
  openAnother(): Promise<Store>;
  /** Where the last open() keeps its data, for a child process's store (a SQLite file or a postgres:// URL). */
  location(): string;
  /** After each test, once its stores are closed. */
  cleanup(): Promise<void>;
}

const NOW = new Date('2026-01-01T00:00:00.000Z');
const later = (s: number): Date => new Date(NOW.getTime() + s * 1000);

function enrollment(over: Partial<EnrollmentRecord> = {}): EnrollmentRecord {
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

function appraisal(over: Partial<AppraisalRecord> = {}): AppraisalRecord {
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

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function storeSuite(name: string, backend: StoreUnderTest): void {
  let store: Store;
  const extra: Store[] = [];
  const another = async (): Promise<Store> => {
    const s = await backend.openAnother();
    extra.push(s);
    return s;
  };

  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
    await store.close();
    await backend.cleanup();
  });

  async function enrolledHost(hostId = 'h1', ek = 'ek-a'): Promise<void> {
    await store.createEnrollment(enrollment({ enrollmentId: `enr-${hostId}-${ek}`, hostId, ekFingerprint: ek }));
    const out = await store.activateEnrollment(`enr-${hostId}-${ek}`, NOW);
    expect(out.ok).toBe(true);
  }

  describe(`${name} store: enrollment`, () => {
    it('activates once, then answers already_activated', async () => {
      await store.createEnrollment(enrollment());
      const first = await store.activateEnrollment('e1', NOW);
      expect(first.ok).toBe(true);
      if (first.ok) expect(first.host).toMatchObject({ hostId: 'h1', ekFingerprint: 'ek-a', profiles: ['ref'] });
      expect(await store.activateEnrollment('e1', NOW)).toEqual({ ok: false, reason: 'already_activated' });
      expect((await store.getEnrollment('e1'))?.activatedAt).toBe(NOW.toISOString());
    });

    it('refuses unknown and expired enrollments', async () => {
      expect(await store.activateEnrollment('nope', NOW)).toEqual({ ok: false, reason: 'not_found' });
      await store.createEnrollment(enrollment());
      expect(await store.activateEnrollment('e1', later(600))).toEqual({ ok: false, reason: 'expired' });
      expect(await store.getHost('h1')).toBeUndefined();
    });

    it('refuses a different EK for an existing host until the host is deleted; the same EK may re-enroll a new AK', async () => {
      await enrolledHost('h1', 'ek-a');
      await store.setHostProfiles('h1', ['admin-set']);
      await store.createEnrollment(enrollment({ enrollmentId: 'e2', ekFingerprint: 'ek-b' }));
      expect(await store.activateEnrollment('e2', NOW)).toEqual({ ok: false, reason: 'ek_conflict' });
      expect((await store.getEnrollment('e2'))?.activatedAt).toBeUndefined();

      await store.createEnrollment(enrollment({ enrollmentId: 'e3', akName: 'new-ak' }));
      const same = await store.activateEnrollment('e3', later(1));
      expect(same.ok && same.host.akName).toBe('new-ak');
      expect(same.ok && same.host.profiles).toEqual(['admin-set']);

      expect(await store.deleteHost('h1')).toBe(true);
      expect(await store.deleteHost('h1')).toBe(false);
      const after = await store.activateEnrollment('e2', later(2));
      expect(after.ok && after.host.ekFingerprint).toBe('ek-b');
    });

    it('two enrollments of one new host with different EKs, activated at once through two stores: one host, one EK', async () => {
      const other = await another();
      await store.createEnrollment(enrollment({ enrollmentId: 'ea', ekFingerprint: 'ek-a' }));
      await store.createEnrollment(enrollment({ enrollmentId: 'eb', ekFingerprint: 'ek-b' }));
      const [a, b] = await Promise.all([store.activateEnrollment('ea', NOW), other.activateEnrollment('eb', NOW)]);
      expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
      const loser = a.ok ? b : a;
      expect(loser).toEqual({ ok: false, reason: 'ek_conflict' });
      expect((await other.getHost('h1'))?.ekFingerprint).toBe(a.ok ? 'ek-a' : 'ek-b');
    });

    it('an enrollment created through one store activates through another', async () => {
      await store.createEnrollment(enrollment());
      const other = await another();
      const out = await other.activateEnrollment('e1', NOW);
      expect(out.ok).toBe(true);
      expect((await store.getHost('h1'))?.ekFingerprint).toBe('ek-a');
    });

    it('prunes expired enrollments that were never activated, keeping activated ones', async () => {
      await store.createEnrollment(enrollment({ enrollmentId: 'stale' }));
      await store.createEnrollment(enrollment({ enrollmentId: 'used' }));
      await store.activateEnrollment('used', NOW);
      expect(await store.pruneEnrollments(later(601))).toBe(1);
      expect(await store.getEnrollment('stale')).toBeUndefined();
      expect(await store.getEnrollment('used')).toBeDefined();
    });

    it('revokes a host and keeps it revoked when its TPM re-enrolls', async () => {
      await enrolledHost();
      expect(await store.revokeHost('h1', NOW)).toBe(true);
      expect(await store.revokeHost('nobody', NOW)).toBe(false);
      await store.createEnrollment(enrollment({ enrollmentId: 'e9' }));
      await store.activateEnrollment('e9', later(1));
      expect((await store.getHost('h1'))?.revokedAt).toBe(NOW.toISOString());
    });
  });

  describe(`${name} store: nonces`, () => {
    it('answers each outcome and consumes on first presentation whatever the outcome', async () => {
      await enrolledHost('h1');
      await enrolledHost('h2', 'ek-2');
      const put = (hash: string, hostId = 'h1') =>
        store.putNonce({ nonceHash: hash, hostId, createdAt: NOW.toISOString(), expiresAt: later(120).toISOString() });
      await put('n-ok');
      await put('n-other', 'h2');
      await put('n-old');
      expect(await store.consumeNonce('n-ok', 'h1', NOW)).toBe('ok');
      expect(await store.consumeNonce('n-ok', 'h1', NOW)).toBe('used');
      expect(await store.consumeNonce('n-none', 'h1', NOW)).toBe('unknown');
      expect(await store.consumeNonce('n-other', 'h1', NOW)).toBe('wrong_host');
      expect(await store.consumeNonce('n-other', 'h2', NOW)).toBe('used');
      expect(await store.consumeNonce('n-old', 'h1', later(120))).toBe('expired');
      expect(await store.consumeNonce('n-old', 'h1', NOW)).toBe('used');
    });

    it('refuses a nonce for a host that does not exist with a StoreError, and stores none for a revoked host', async () => {
      await expect(
        store.putNonce({ nonceHash: 'x', hostId: 'ghost', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() }),
      ).rejects.toMatchObject({ code: 'host_not_found' });
      await enrolledHost();
      expect(await store.putNonce({ nonceHash: 'y', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(60).toISOString() })).toBe('issued');
      await store.revokeHost('h1', NOW);
      expect(await store.putNonce({ nonceHash: 'z', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(60).toISOString() })).toBe('host_revoked');
      expect(await store.consumeNonce('z', 'h1', NOW)).toBe('unknown');
      expect(await store.consumeNonce('y', 'h1', NOW)).toBe('ok');
    });

    it('prunes expired nonces only', async () => {
      await enrolledHost();
      await store.putNonce({ nonceHash: 'a', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() });
      await store.putNonce({ nonceHash: 'b', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(100).toISOString() });
      expect(await store.pruneNonces(later(50))).toBe(1);
      expect(await store.consumeNonce('b', 'h1', NOW)).toBe('ok');
    });

    it('50 concurrent consumers of one nonce over two stores: exactly one ok', async () => {
      await enrolledHost();
      const other = await another();
      await store.putNonce({ nonceHash: 'race', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(600).toISOString() });
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : store).consumeNonce('race', 'h1', NOW)));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'used')).toHaveLength(49);
    });

    it('gives exactly one ok when several processes race for the same nonce', async () => {
      await enrolledHost();
      await store.putNonce({ nonceHash: 'race', hostId: 'h1', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() });
      const children = Array.from({ length: 4 }, () =>
        spawn(process.execPath, ['--import', 'tsx', CHILD, backend.location(), 'consume', 'race', 'h1'], { stdio: ['pipe', 'pipe', 'inherit'] }),
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
      await enrolledHost();
      const clock = { clock: '123456789012', resetCount: 3, restartCount: 1 };
      // Each record answers the verdict it follows, read in the same transaction.
      expect(await store.recordAppraisal(appraisal({ appraisalId: 'a1', clock, tokenId: 'jti-1', tokenExpiresAt: later(300).toISOString() }))).toEqual({});
      expect(await store.recordAppraisal(appraisal({ appraisalId: 'a2', verdict: 'fail', failures: [{ code: 'x' }] }))).toEqual({
        previous: { appraisalId: 'a1', verdict: 'pass', appraisedAt: NOW.toISOString(), tokenExpiresAt: later(300).toISOString() },
      });
      expect((await store.getHost('h1'))?.lastClock).toEqual(clock);
      expect((await store.lastAppraisal('h1'))?.appraisalId).toBe('a2');
      const pass = await store.lastPassingAppraisal('h1');
      expect(pass).toMatchObject({ appraisalId: 'a1', tokenId: 'jti-1', clock, pcrs: { sha256: { '0': '00' } } });
      expect(await store.getAppraisal('a2')).toMatchObject({ verdict: 'fail', failures: [{ code: 'x' }] });
      expect(await store.lastAppraisal('nobody')).toBeUndefined();
      // The verdict alone, as trust status reads it on every attestation.
      expect(await store.lastAppraisalVerdict('h1')).toEqual({ appraisalId: 'a2', verdict: 'fail', appraisedAt: NOW.toISOString() });
      await store.recordAppraisal(appraisal({ appraisalId: 'a3', tokenId: 'jti-3', tokenExpiresAt: later(600).toISOString() }));
      // Evidence the host did not sign is not its last word.
      await store.recordAppraisal(appraisal({ appraisalId: 'a4', verdict: 'fail', rejected: true }));
      expect((await store.recordAppraisal(appraisal({ appraisalId: 'a5', verdict: 'fail', rejected: true }))).previous?.appraisalId).toBe('a3');
      expect(await store.lastAppraisalVerdict('h1')).toEqual({ appraisalId: 'a3', verdict: 'pass', appraisedAt: NOW.toISOString(), tokenExpiresAt: later(600).toISOString() });
      expect((await store.lastAppraisal('h1'))?.appraisalId).toBe('a3');
      expect(await store.lastAppraisalVerdict('nobody')).toBeUndefined();
    });

    it('gives back a stored appraisal exactly as recorded', async () => {
      await enrolledHost();
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
      await store.recordAppraisal(full);
      expect(await store.getAppraisal('full')).toEqual(full);
    });

    it('lists every host with its last counted appraisal in one read, equal to asking host by host', async () => {
      await enrolledHost('h1', 'ek-1');
      await enrolledHost('h2', 'ek-2');
      await enrolledHost('h3', 'ek-3');
      await enrolledHost('h4', 'ek-4');
      await store.recordAppraisal(appraisal({ appraisalId: 'p1', hostId: 'h1', tokenId: 'j1', tokenExpiresAt: later(300).toISOString() }));
      await store.recordAppraisal(appraisal({ appraisalId: 'f1', hostId: 'h1', verdict: 'fail', failures: [{ code: 'kernel_not_allowed', pcr: 9 }] }));
      await store.recordAppraisal(appraisal({ appraisalId: 'p2', hostId: 'h2', tokenId: 'j2', tokenExpiresAt: later(300).toISOString() }));
      // A later rejected appraisal (not signed by the host) is not h2's last word.
      await store.recordAppraisal(appraisal({ appraisalId: 'r2', hostId: 'h2', verdict: 'fail', rejected: true }));
      await store.recordAppraisal(appraisal({ appraisalId: 'r4', hostId: 'h4', verdict: 'fail', rejected: true }));
      await store.revokeHost('h3', NOW);
      const listed = await store.listHostTrust();
      expect(listed.map((x) => x.host.hostId)).toEqual(['h1', 'h2', 'h3', 'h4']);
      expect((await store.listHosts()).map((h) => h.hostId)).toEqual(['h1', 'h2', 'h3', 'h4']);
      for (const { host, last } of listed) {
        expect(host).toEqual(await store.getHost(host.hostId));
        const full = await store.lastAppraisal(host.hostId);
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
      await expect(store.recordAppraisal(appraisal({ hostId: 'ghost' }))).rejects.toBeInstanceOf(StoreError);
      expect(await store.getAppraisal('a1')).toBeUndefined();
    });

    it("removes a deleted host's appraisals and nonces, but keeps its trust events", async () => {
      await enrolledHost();
      await store.recordAppraisal(appraisal());
      await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', appraisalId: 'a1', at: NOW.toISOString() });
      await store.deleteHost('h1');
      expect(await store.getAppraisal('a1')).toBeUndefined();
      expect(await store.trustEventsAfter(0, 10)).toHaveLength(1);
    });

    it('revokes tokens idempotently', async () => {
      expect(await store.isTokenRevoked('j')).toBe(false);
      await store.revokeToken('j', 'h1', NOW, later(10));
      await store.revokeToken('j', 'h1', NOW, null);
      expect(await store.isTokenRevoked('j')).toBe(true);
    });

    it('keeps every acknowledged write when the writing process is killed with SIGKILL', async () => {
      await enrolledHost();
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, backend.location(), 'write', 'h1'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
      const after = await another();
      for (const id of acked) expect(await after.getAppraisal(id), id).toBeDefined();
      expect((await after.getHost('h1'))?.lastClock).toBeDefined();
    });
  });

  describe(`${name} store: keys, profiles, secrets, releases, settings`, () => {
    it('keeps signing keys, retires them once, and reseals a key only from the value expected', async () => {
      await store.putSigningKey({ kid: 'k1', privateJwk: '{"d":"x"}', publicJwk: '{}', createdAt: NOW.toISOString() });
      await store.retireSigningKey('k1', later(1), later(301));
      await store.retireSigningKey('k1', later(5), later(999));
      expect(await store.resealSigningKey('k1', 'not-what-is-stored', 'sealed-2')).toBe(false);
      expect(await store.resealSigningKey('k1', '{"d":"x"}', 'sealed-1')).toBe(true);
      expect(await store.listSigningKeys()).toEqual([
        { kid: 'k1', privateJwk: 'sealed-1', publicJwk: '{}', createdAt: NOW.toISOString(), retiredAt: later(1).toISOString(), retireAfter: later(301).toISOString() },
      ]);
    });

    it('answers the latest profile version by version order, not storage order', async () => {
      for (const v of ['1.10', '1.9', '2', '1.2.3']) {
        await store.putProfile({ name: 'ref', version: v, document: `{"v":"${v}"}`, source: 'api', storedAt: NOW.toISOString() });
      }
      expect((await store.getProfile('ref'))?.version).toBe('2');
      expect(await store.latestProfileVersion('ref')).toBe('2');
      expect(await store.latestProfileVersion('none')).toBeUndefined();
      expect((await store.getProfile('ref', '1.9'))?.document).toBe('{"v":"1.9"}');
      expect(await store.getProfile('ref', '3')).toBeUndefined();
      expect((await store.listProfiles()).map((p) => p.version)).toEqual(['1.2.3', '1.9', '1.10', '2']);
      expect(compareVersions('1.0', '1.0.1')).toBe(-1);
      expect(compareVersions('b', 'a')).toBe(1);
    });

    it('stores secrets and releases in order', async () => {
      await store.putSecret({ name: 's', ciphertext: 'c1', policy: { hosts: ['h1'] }, updatedAt: NOW.toISOString() });
      await store.putSecret({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
      expect(await store.getSecret('s')).toEqual({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
      const base = { secretName: 's', hostId: 'h1', tokenId: 't', appraisalId: 'a', caller: '127.0.0.1', code: 'ok', reason: 'r', at: NOW.toISOString() };
      await store.recordRelease({ ...base, releaseId: 'r1', outcome: 'released' });
      await store.recordRelease({ ...base, releaseId: 'r2', secretName: 'other', hostId: null, tokenId: null, appraisalId: null, outcome: 'refused' });
      expect((await store.listReleases('s')).map((r) => r.releaseId)).toEqual(['r1']);
      expect((await store.listReleases()).map((r) => r.releaseId)).toEqual(['r1', 'r2']);
    });

    it('keeps the first value of a setting, whichever store writes first', async () => {
      const other = await another();
      expect(await store.getSetting('x')).toBeUndefined();
      const [a, b] = await Promise.all([store.putSettingIfAbsent('x', 'from-a'), other.putSettingIfAbsent('x', 'from-b')]);
      expect(a).toBe(b);
      expect(await other.putSettingIfAbsent('x', 'later')).toBe(a);
      expect(await store.getSetting('x')).toBe(a);
    });
  });

  describe(`${name} store: trust events and webhook deliveries`, () => {
    it('numbers trust events in order and reads exactly the later ones', async () => {
      const e1 = await store.appendTrustEvent({ hostId: 'h1', kind: 'enrolled', at: NOW.toISOString() });
      const e2 = await store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', appraisalId: 'a', detail: { codes: ['x'] }, at: NOW.toISOString() });
      expect(e2.seq).toBeGreaterThan(e1.seq);
      expect(await store.trustEventsAfter(e1.seq, 10)).toEqual([e2]);
      expect(await store.trustEventsAfter(0, 1)).toEqual([e1]);
    });

    it('events appended concurrently through two stores form one gap-free order that readers never skip', async () => {
      const other = await another();
      const seen: number[] = [];
      let after = 0;
      let appending = true;
      const reader = (async () => {
        while (appending || (await store.trustEventsAfter(after, 1000)).length > 0) {
          const batch = await other.trustEventsAfter(after, 1000);
          for (const e of batch) seen.push(e.seq);
          after = batch.at(-1)?.seq ?? after;
          // Yield to the event loop: a store may answer reads at once and commit writes on the next turn.
          await new Promise((r) => setImmediate(r));
        }
      })();
      const appended = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? other : store).appendTrustEvent({ hostId: `h${i}`, kind: 'trusted', at: NOW.toISOString() })),
      );
      appending = false;
      await reader;
      const all = appended.map((e) => e.seq).sort((a, b) => a - b);
      expect(new Set(all).size).toBe(60);
      // The reader, following `after` as a client does, saw every event once, in order.
      expect(seen).toEqual(all);
    });

    it('writes a delivery per webhook with each event; one claimant at a time, leases expire, finish removes or reschedules', async () => {
      await store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 'sealed-a', updatedAt: NOW.toISOString() });
      expect(await store.putWebhook({ id: 'w2', url: 'http://127.0.0.1/b', secret: 'sealed-b', updatedAt: NOW.toISOString() })).toBe('created');
      const e = await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      expect(await store.pendingWebhookDeliveries()).toBe(2);
      const other = await another();
      const [mine, theirs] = await Promise.all([store.claimWebhookDeliveries('a', NOW, later(30), 1), other.claimWebhookDeliveries('b', NOW, later(30), 10)]);
      expect(mine.length + theirs.length).toBe(2);
      expect(new Set([...mine, ...theirs].map((d) => d.deliveryId)).size).toBe(2);
      const d = mine[0] ?? theirs[0]!;
      expect(d).toMatchObject({ attempts: 0, event: e });
      expect(['w1', 'w2']).toContain(d.webhookId);
      // Leased: nobody else gets them before the lease ends.
      expect(await store.claimWebhookDeliveries('c', later(29), later(60), 10)).toEqual([]);
      // Once a lease has passed, a delivery goes to the next claimant; the old owner's finish is ignored.
      const all = [...mine, ...theirs];
      const retaken = await store.claimWebhookDeliveries('c', later(31), later(61), 10);
      expect(retaken.map((x) => x.deliveryId).sort()).toEqual(all.map((x) => x.deliveryId).sort());
      const [x, y] = retaken;
      expect(await store.finishWebhookDelivery(x!.deliveryId, mine[0] ? 'a' : 'b', null)).toBe(false);
      expect(await store.finishWebhookDelivery(x!.deliveryId, 'c', null)).toBe(true);
      expect(await store.finishWebhookDelivery(y!.deliveryId, 'c', later(100))).toBe(true);
      expect(await store.pendingWebhookDeliveries()).toBe(1);
      expect(await store.claimWebhookDeliveries('d', later(99), later(130), 10)).toEqual([]);
      expect(await store.claimWebhookDeliveries('d', later(100), later(130), 10)).toEqual([expect.objectContaining({ deliveryId: y!.deliveryId, attempts: 1 })]);
    });

    it('a re-pointed webhook drops what it was owed; a deleted one drops it all; listing shows the stored record', async () => {
      await store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's', updatedAt: NOW.toISOString() });
      await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      expect(await store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's2', updatedAt: later(1).toISOString() })).toBe('updated');
      expect(await store.pendingWebhookDeliveries()).toBe(1);
      await store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/new', secret: 's2', updatedAt: later(2).toISOString() });
      expect(await store.pendingWebhookDeliveries()).toBe(0);
      await store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', at: NOW.toISOString() });
      expect(await store.listWebhooks()).toEqual([{ id: 'w1', url: 'http://127.0.0.1/new', secret: 's2', updatedAt: later(2).toISOString() }]);
      expect(await store.deleteWebhook('w1')).toBe(true);
      expect(await store.deleteWebhook('w1')).toBe(false);
      expect(await store.pendingWebhookDeliveries()).toBe(0);
    });

    it('tells subscribers of committed trust events, key and profile changes', async () => {
      const changes: StoreChange[] = [];
      const unsubscribe = store.subscribe((c) => changes.push(c));
      await store.putWebhook({ id: 'w1', url: 'http://127.0.0.1/a', secret: 's', updatedAt: NOW.toISOString() });
      const e = await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
      await store.putSigningKey({ kid: 'k', privateJwk: 'p', publicJwk: '{}', createdAt: NOW.toISOString() });
      await store.putProfile({ name: 'ref', version: '1', document: '{}', source: 'api', storedAt: NOW.toISOString() });
      await waitFor(() => changes.some((c) => c.kind === 'signing_keys') && changes.some((c) => c.kind === 'profiles'));
      expect(changes).toEqual(
        expect.arrayContaining([{ kind: 'trust_event', seq: e.seq }, { kind: 'webhook_delivery' }, { kind: 'signing_keys' }, { kind: 'profiles' }]),
      );
      unsubscribe();
    });
  });
}
