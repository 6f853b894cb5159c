import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.ts';
import { MIGRATIONS, migrate } from '../src/store/sqlite/migrations.ts';
import { compareVersions } from '../src/store/profile-versions.ts';
import { StoreError } from '../src/store/errors.ts';
import type { AppraisalRecord, EnrollmentRecord } from '../src/store/types.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const CHILD = join(repoRoot, 'test', 'helpers', 'store-child.ts');

let dir: string;
let file: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-store-'));
  file = join(dir, 'bootgate.db');
  store = openSqliteStore(file);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const NOW = new Date('2026-01-01T00:00:00Z');
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

async function enrolledHost(hostId = 'h1', ek = 'ek-a'): Promise<void> {
  await store.createEnrollment(enrollment({ enrollmentId: `enr-${hostId}-${ek}`, hostId, ekFingerprint: ek }));
  const out = await store.activateEnrollment(`enr-${hostId}-${ek}`, NOW);
  expect(out.ok).toBe(true);
}

describe('SQLite store: schema', () => {
  it('opens in WAL mode with synchronous=NORMAL (the group commit fsyncs the WAL) and foreign keys, at the latest migration', () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.schemaVersion).toBe(Math.max(...MIGRATIONS.map((m) => m.version)));
  });

  it('applies each migration once and reopening applies nothing', async () => {
    await store.close();
    const db = new Database(file);
    expect(migrate(db)).toEqual([]);
    const rows = db.prepare('SELECT version FROM schema_migrations').all();
    expect(rows).toHaveLength(MIGRATIONS.length);
    db.close();
    store = openSqliteStore(file);
  });

  it('applies a new numbered migration atomically, and rolls back a failing one', async () => {
    await store.close();
    const db = new Database(file);
    const extra = [...MIGRATIONS, { version: 100, name: 'add column', sql: 'ALTER TABLE hosts ADD COLUMN note TEXT' }];
    expect(migrate(db, extra)).toEqual([100]);
    const broken = [...extra, { version: 101, name: 'broken', sql: 'CREATE TABLE t101 (x); SELECT * FROM no_such_table' }];
    expect(() => migrate(db, broken)).toThrow(/no_such_table/);
    // The half-applied migration left neither its table nor its version row.
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't101'").all()).toEqual([]);
    expect((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(100);
    db.close();
    // This bootgate knows fewer migrations than the file has: refuse rather than corrupt it.
    expect(() => openSqliteStore(file)).toThrow(/newer than this bootgate/);
    store = openSqliteStore(':memory:');
  });
});

describe('SQLite store: enrollment', () => {
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

describe('SQLite store: nonces', () => {
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

  it('refuses a nonce for a host that does not exist with a StoreError', async () => {
    await expect(
      store.putNonce({ nonceHash: 'x', hostId: 'ghost', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() }),
    ).rejects.toBeInstanceOf(StoreError);
  });

  it('prunes expired nonces only', async () => {
    await enrolledHost();
    await store.putNonce({ nonceHash: 'a', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(1).toISOString() });
    await store.putNonce({ nonceHash: 'b', hostId: 'h1', createdAt: NOW.toISOString(), expiresAt: later(100).toISOString() });
    expect(await store.pruneNonces(later(50))).toBe(1);
    expect(await store.consumeNonce('b', 'h1', NOW)).toBe('ok');
  });

  it('gives exactly one ok when several processes race for the same nonce', async () => {
    await enrolledHost();
    await store.putNonce({ nonceHash: 'race', hostId: 'h1', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', CHILD, file, 'consume', 'race', 'h1'], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
    for (const l of lines) expect((await l.next()).value).toBe('ready');
    for (const c of children) c.stdin.write('go\n');
    const outcomes = await Promise.all(lines.map(async (l) => (await l.next()).value as string));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'used')).toHaveLength(3);
  });
});

describe('SQLite store: appraisals', () => {
  it('records an appraisal and the host clock in one transaction, and finds the last (passing) one', async () => {
    await enrolledHost();
    const clock = { clock: '123456789012', resetCount: 3, restartCount: 1 };
    await store.recordAppraisal(appraisal({ appraisalId: 'a1', clock, tokenId: 'jti-1', tokenExpiresAt: later(300).toISOString() }));
    await store.recordAppraisal(appraisal({ appraisalId: 'a2', verdict: 'fail', failures: [{ code: 'x' }] }));
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
    expect(await store.lastAppraisalVerdict('h1')).toEqual({ appraisalId: 'a3', verdict: 'pass', appraisedAt: NOW.toISOString(), tokenExpiresAt: later(600).toISOString() });
    expect((await store.lastAppraisal('h1'))?.appraisalId).toBe('a3');
    expect(await store.lastAppraisalVerdict('nobody')).toBeUndefined();
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

  it('removes a deleted host\'s appraisals and nonces, but keeps its trust events', async () => {
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
});

describe('SQLite store: keys, profiles, secrets, releases, events', () => {
  it('keeps signing keys and retires them once', async () => {
    await store.putSigningKey({ kid: 'k1', privateJwk: '{"d":"x"}', publicJwk: '{}', createdAt: NOW.toISOString() });
    await store.retireSigningKey('k1', later(1), later(301));
    await store.retireSigningKey('k1', later(5), later(999));
    expect(await store.listSigningKeys()).toEqual([
      { kid: 'k1', privateJwk: '{"d":"x"}', publicJwk: '{}', createdAt: NOW.toISOString(), retiredAt: later(1).toISOString(), retireAfter: later(301).toISOString() },
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

  it('stores secrets, releases and trust events in order', async () => {
    await store.putSecret({ name: 's', ciphertext: 'c1', policy: { hosts: ['h1'] }, updatedAt: NOW.toISOString() });
    await store.putSecret({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
    expect(await store.getSecret('s')).toEqual({ name: 's', ciphertext: 'c2', policy: {}, updatedAt: later(1).toISOString() });
    const base = { secretName: 's', hostId: 'h1', tokenId: 't', appraisalId: 'a', caller: '127.0.0.1', code: 'ok', reason: 'r', at: NOW.toISOString() };
    await store.recordRelease({ ...base, releaseId: 'r1', outcome: 'released' });
    await store.recordRelease({ ...base, releaseId: 'r2', secretName: 'other', hostId: null, tokenId: null, appraisalId: null, outcome: 'refused' });
    expect((await store.listReleases('s')).map((r) => r.releaseId)).toEqual(['r1']);
    expect((await store.listReleases()).map((r) => r.releaseId)).toEqual(['r1', 'r2']);
    const e1 = await store.appendTrustEvent({ hostId: 'h1', kind: 'enrolled', at: NOW.toISOString() });
    const e2 = await store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', appraisalId: 'a', detail: { codes: ['x'] }, at: NOW.toISOString() });
    expect(e2.seq).toBeGreaterThan(e1.seq);
    expect(await store.trustEventsAfter(e1.seq, 10)).toEqual([e2]);
    expect(await store.trustEventsAfter(0, 1)).toEqual([e1]);
  });
});

describe('SQLite store: durability', () => {
  it('keeps every acknowledged write when the writing process is killed with SIGKILL', async () => {
    await enrolledHost();
    await store.close();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, 'write', 'h1'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    store = openSqliteStore(file);
    for (const id of acked) expect(await store.getAppraisal(id), id).toBeDefined();
    expect((await store.getHost('h1'))?.lastClock).toBeDefined();
  });
});
