import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.ts';
import { GroupCommit } from '../src/store/sqlite/group-commit.ts';
import { StoreError } from '../src/store/errors.ts';
import type { AppraisalRecord } from '../src/store/types.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const later = (s: number): Date => new Date(NOW.getTime() + s * 1000);

function appraisal(appraisalId: string): AppraisalRecord {
  return {
    appraisalId, hostId: 'h1', verdict: 'pass', profile: 'p@1', failures: [], pcrs: {},
    evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' }, timings: {}, appraisedAt: NOW.toISOString(),
  };
}
const nonce = (h: string, hostId = 'h1') => ({ nonceHash: h, hostId, createdAt: NOW.toISOString(), expiresAt: later(60).toISOString() });

const open = async (file: string, o?: SqliteStoreOptions): Promise<SqliteStore> => openSqliteStore(file, o);

describe('SQLite store: group commit', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;
  let batches: number[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootgate-gc-'));
    file = join(dir, 'bootgate.db');
    batches = [];
    store = await open(file, { onCommit: (n) => batches.push(n) });
    await store.createEnrollment({
      enrollmentId: 'e1', hostId: 'h1', ekFingerprint: 'ek', akName: 'ak', akPub: 'AAAA', profiles: [],
      secretHash: 'ff', createdAt: NOW.toISOString(), expiresAt: later(600).toISOString(),
    });
    expect((await store.activateEnrollment('e1', NOW)).ok).toBe(true);
    batches = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a file-backed store fsyncs its WAL before it answers a write', async () => {
    const events: string[] = [];
    const f = join(dir, 'synced.db');
    const s2 = await open(f, { onCommit: () => events.push('commit'), onSync: (b) => events.push(`sync:${b}`) });
    await s2.createEnrollment({
      enrollmentId: 'e9', hostId: 'h9', ekFingerprint: 'ek9', akName: 'ak', akPub: 'AAAA', profiles: [],
      secretHash: 'ff', createdAt: NOW.toISOString(), expiresAt: later(600).toISOString(),
    }).then(() => events.push('answered'));
    expect(events).toEqual(['commit', 'sync:1', 'answered']);
    await s2.close();
  });

  it('commits N concurrent writes in fewer than N transactions, and every one is durable', async () => {
    const N = 50;
    await Promise.all([
      ...Array.from({ length: N }, (_, i) => store.recordAppraisal(appraisal(`a${i}`))),
      ...Array.from({ length: N }, (_, i) => store.putNonce(nonce(`n${i}`))),
    ]);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2 * N);
    expect(batches.length).toBeLessThan(2 * N);
    expect(batches.length).toBe(1);

    // Durable: a fresh connection (another process would see the same) reads every row.
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM appraisals').get() as { n: number }).n).toBe(N);
      expect((db.prepare('SELECT COUNT(*) AS n FROM nonces').get() as { n: number }).n).toBe(N);
    } finally {
      db.close();
    }
    store = await open(file);
    expect(await store.getAppraisal(`a${N - 1}`)).toMatchObject({ appraisalId: `a${N - 1}` });
  });

  it('a failing write rejects alone; the others in its batch commit', async () => {
    const results = await Promise.allSettled([
      store.putNonce(nonce('good-1')),
      store.putNonce(nonce('bad', 'no-such-host')),
      store.recordAppraisal(appraisal('dup')),
      store.recordAppraisal(appraisal('dup')),
      store.putNonce(nonce('good-2')),
    ]);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(5);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    expect((await store.consumeNonce('good-1', 'h1', NOW)).outcome).toBe('ok');
    expect((await store.consumeNonce('good-2', 'h1', NOW)).outcome).toBe('ok');
    expect((await store.consumeNonce('bad', 'h1', NOW)).outcome).toBe('unknown');
    expect(await store.getAppraisal('dup')).toBeDefined();
  });

  it('keeps consumeNonce atomic inside one batch: exactly one of many concurrent presentations wins', async () => {
    await store.putNonce(nonce('race'));
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.consumeNonce('race', 'h1', NOW).then((c) => c.outcome)));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'used')).toHaveLength(9);
  });

  it('answers a write only after its commit, and close() commits writes still queued', async () => {
    let settled = false;
    const p = store.recordAppraisal(appraisal('late')).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(await store.getAppraisal('late')).toBeUndefined(); // not committed yet, not acknowledged
    await p;
    expect(await store.getAppraisal('late')).toBeDefined();

    const q = store.recordAppraisal(appraisal('at-close'));
    await store.close();
    await q;
    store = await open(file);
    expect(await store.getAppraisal('at-close')).toBeDefined();
  });

  it('returns results of atomic writes (activation, trust events) from the batch', async () => {
    const ev = await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: NOW.toISOString() });
    expect(ev.seq).toBeGreaterThan(0);
    expect((await store.trustEventsAfter(ev.seq - 1, 10)).map((e) => e.seq)).toEqual([ev.seq]);
    expect(await store.activateEnrollment('e1', NOW)).toEqual({ ok: false, reason: 'already_activated' });
    expect(await store.setHostProfiles('h1', ['x'])).toBe(true);
    expect((await store.getHost('h1'))?.profiles).toEqual(['x']);
  });
});

// Concurrent writers (so batches carry many writes), an ack line printed after each resolves.
const WRITER_CHILD = `
const { openSqliteStore } = await import(process.env.STORE_MODULE);
const file = process.argv.at(-1);
const store = openSqliteStore(file);
let i = 0;
const writer = async (w) => {
  for (;;) {
    const appraisalId = 'k-' + w + '-' + i++;
    await store.recordAppraisal({ appraisalId, hostId: 'h1', verdict: 'pass', profile: 'p@1', failures: [], pcrs: {},
      evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' }, timings: {}, appraisedAt: new Date().toISOString() });
    process.stdout.write('ack ' + appraisalId + '\\n');
  }
};
for (let w = 0; w < 8; w++) void writer(w);
`;

describe('SQLite store: group commit survives SIGKILL', () => {
  it('keeps every acknowledged write of concurrent writers when the process is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-gc-kill-'));
    const file = join(dir, 'bootgate.db');
    try {
      let store = await open(file);
      await store.createEnrollment({
        enrollmentId: 'e1', hostId: 'h1', ekFingerprint: 'ek', akName: 'ak', akPub: 'AAAA', profiles: [],
        secretHash: 'ff', createdAt: NOW.toISOString(), expiresAt: later(600).toISOString(),
      });
      await store.activateEnrollment('e1', NOW);
      await store.close();
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER_CHILD, file], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, STORE_MODULE: new URL('../src/store/sqlite.ts', import.meta.url).href },
        cwd: resolve(import.meta.dirname, '..'),
      });
      const acked: string[] = [];
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      for await (const line of createInterface({ input: child.stdout })) {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length >= 200) {
          child.kill('SIGKILL');
          break;
        }
      }
      await exited;
      expect(acked.length).toBeGreaterThanOrEqual(200);
      store = await open(file);
      try {
        for (const id of acked) expect(await store.getAppraisal(id), id).toBeDefined();
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** An in-memory table behind a GroupCommit whose fsyncs the test completes by hand (`calls`, in start order). */
function withManualSync() {
  const calls: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const sync = () => new Promise<void>((resolve, reject) => { calls.push({ resolve, reject }); });
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v INTEGER)');
  const gc = new GroupCommit(db, { sync });
  const insert = (v: number) => gc.run(() => db.prepare('INSERT INTO t VALUES (?)').run(v).changes);
  return { calls, db, gc, insert };
}
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('answers a committed write only after the fsync that follows its commit', async () => {
    const { calls, db, gc, insert } = withManualSync();
    let answered = false;
    const first = insert(1).then((v) => { answered = true; return v; });
    await turn();
    // Committed (visible to the connection) but not yet durable: no answer.
    expect((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(1);
    expect(calls).toHaveLength(1);
    expect(answered).toBe(false);

    // A batch committed while that fsync runs waits for the next one, not this one.
    let secondAnswered = false;
    const second = insert(2).then(() => { secondAnswered = true; });
    await turn();
    calls[0]!.resolve();
    expect(await first).toBe(1);
    await turn();
    expect(secondAnswered).toBe(false);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve();
    await second;
    expect(secondAnswered).toBe(true);
    await gc.drain();
    db.close();
  });

  it('one fsync covers every batch committed before it starts', async () => {
    const { calls, db, insert } = withManualSync();
    const a = insert(1);
    await turn();
    const b = insert(2);
    const c = insert(3);
    await turn();
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await a;
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve();
    await Promise.all([b, c]);
    expect(calls).toHaveLength(2);
    db.close();
  });

  it('a failed fsync rejects the writes it covered and every later write', async () => {
    const { calls, db, gc, insert } = withManualSync();
    const a = insert(1);
    await turn();
    calls[0]!.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await expect(a).rejects.toThrow(/fsync of the SQLite WAL failed/);
    await expect(insert(2)).rejects.toThrow(/no longer accepted/);
    expect((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(1);
    await gc.drain();
    db.close();
  });

  it('rejects the whole batch when the commit fails, and recovers for the next one', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (v INTEGER)');
    const gc = new GroupCommit(db);
    // A deferred foreign key fails at COMMIT, not at the statement: the whole batch must fail.
    db.exec('PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)');
    const failed = await Promise.allSettled([gc.run(() => db.prepare('INSERT INTO t VALUES (1)').run()), gc.run(() => db.prepare('INSERT INTO c VALUES (42)').run())]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(db.inTransaction).toBe(false);
    expect((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n).toBe(0);
    await gc.run(() => db.prepare('INSERT INTO t VALUES (2)').run());
    expect((db.prepare('SELECT v FROM t').all() as Array<{ v: number }>).map((r) => r.v)).toEqual([2]);
    db.close();
  });
});
