/**
 * The PostgreSQL store: the shared store suite on a database of its own, and what only PostgreSQL
 * has: SQL migration files applied once under an advisory lock by replicas starting together,
 * and an unreachable database reported as StoreError 'unavailable' (503), never as a crash.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres.ts';
import { migrate, readMigrations } from '../src/store/postgres/migrate.ts';
import { StoreError } from '../src/store/errors.ts';
import type { StoreChange } from '../src/store/types.ts';
import { parseDatabaseUrl } from '../src/config.ts';
import { storeSuite } from './helpers/store-suite/index.ts';
import { freshDatabase, havePostgres, interruptibleLink, onDatabase, type TestDatabase } from './helpers/postgres.ts';

const HAVE = havePostgres();

describe.skipIf(!HAVE)('PostgreSQL store (BOOTGATE_TEST_DATABASE_URL not set)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase('bg_pg_store');
  });
  afterAll(async () => {
    await db?.drop();
  });

  storeSuite('PostgreSQL', {
    async open() {
      const store = await openPostgresStore(db);
      // One database for the file: each test starts from empty tables and sequences.
      await store.pool.query(`DO $$ DECLARE t text; BEGIN
        SELECT string_agg(quote_ident(tablename), ', ') INTO t FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations';
        EXECUTE 'TRUNCATE ' || t || ' RESTART IDENTITY CASCADE'; END $$`);
      return store;
    },
    openAnother: () => openPostgresStore(db),
    location: () => db.url,
    async cleanup() {},
  });

  describe('PostgreSQL store: event logs a replica took for stored', () => {
    it('stores a log again when retention dropped it after this process stored it', async () => {
      const own = await freshDatabase('bg_pg_logs');
      const store = await openPostgresStore(own);
      try {
        const now = new Date();
        await store.createEnrollment({ enrollmentId: 'e-log', hostId: 'h-log', ekFingerprint: 'ek', akName: 'ak', akPub: 'AAAA', profiles: [], secretHash: '00', createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString() });
        expect((await store.activateEnrollment('e-log', now)).ok).toBe(true);
        const log = (label: string) => new Uint8Array(Buffer.from(`log ${label} `.repeat(40)));
        const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
        const record = (id: string, bytes: Uint8Array) =>
          store.recordAppraisal({
            appraisalId: id, hostId: 'h-log', verdict: 'pass', profile: 'p@1', failures: [], pcrs: {},
            evidence: { quote: 'q', signature: 's', eventLog: sha(bytes), nonce: id }, timings: {}, appraisedAt: new Date().toISOString(), eventLog: bytes,
          });
        await record('l1', log('one'));
        await record('l2', log('two'));
        // Neither the latest nor the last passing appraisal uses log one: retention drops it.
        expect(await store.pruneEvidence({ keepPerHost: 0 })).toEqual({ appraisals: 1, logs: 1 });
        expect(await store.getEventLog(sha(log('one')))).toBeUndefined();
        // This process stored log one before: it finds it gone and stores it again.
        await record('l3', log('one'));
        expect(await store.getEventLog(sha(log('one')))).toEqual(log('one'));
        expect((await store.getAppraisal('l3'))?.eventLogRetained).toBe(true);
      } finally {
        await store.close();
        await own.drop();
      }
    });
  });

  describe('PostgreSQL store: migrations', () => {
    it('replicas starting together on an empty database apply each migration file exactly once', async () => {
      const fresh = await freshDatabase('bg_pg_migrate');
      try {
        const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(fresh)));
        const rows = await onDatabase(fresh, async (c) => (await c.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows);
        expect(rows).toEqual(readMigrations().map((m) => ({ version: m.version, name: m.name })));
        for (const s of stores) expect(await s.schemaVersion()).toBe(readMigrations().length);
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await fresh.drop();
      }
    });

    it('applies a new file in one transaction with its record, rolls back a failing one, and refuses a newer schema', async () => {
      const fresh = await freshDatabase('bg_pg_migrate');
      try {
        const shipped = readMigrations();
        await onDatabase(fresh, async (c) => {
          expect(await migrate(c, shipped)).toEqual(shipped.map((m) => m.version));
          expect(await migrate(c, shipped)).toEqual([]);
          const next = { version: shipped.length + 1, name: 'note', sql: 'ALTER TABLE hosts ADD COLUMN note text;' };
          expect(await migrate(c, [...shipped, next])).toEqual([next.version]);
          const broken = { version: next.version + 1, name: 'broken', sql: 'CREATE TABLE t_broken (x int); SELECT * FROM no_such_table;' };
          await expect(migrate(c, [...shipped, next, broken])).rejects.toThrow(/no_such_table/);
          expect((await c.query("SELECT to_regclass('t_broken') AS t")).rows[0].t).toBeNull();
          expect((await c.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v).toBe(next.version);
        });
        // This bootgate knows fewer migrations than the database has: refuse rather than misuse it.
        await expect(openPostgresStore(fresh)).rejects.toThrow(/newer than this bootgate/);
      } finally {
        await fresh.drop();
      }
    });

    it('refuses migration files that are misnamed or not numbered 1, 2, 3...', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bootgate-migrations-'));
      try {
        writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
        writeFileSync(join(dir, '003_c.sql'), 'SELECT 1;');
        expect(() => readMigrations(dir)).toThrow(/numbered 1, 2, 3/);
        writeFileSync(join(dir, 'x.sql'), 'SELECT 1;');
        expect(() => readMigrations(dir)).toThrow(/NNN_name\.sql/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('PostgreSQL store: an unreachable database', () => {
    it('at start: gives up by the deadline with StoreError unavailable naming the host and the cause', async () => {
      const t0 = Date.now();
      const err = await openPostgresStore({ ...parseDatabaseUrl('postgres://bootgate:hunter2@127.0.0.1:1/nowhere'), connectDeadlineMs: 1500 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('unavailable');
      expect((err as Error).message).toMatch(/cannot reach the database at 127\.0\.0\.1:1: .*ECONNREFUSED/);
      expect((err as Error).message).not.toContain('hunter2');
      expect(Date.now() - t0).toBeLessThan(10_000);
    });

    it('at start: a database that refuses the login fails at once, without retrying until the deadline', async () => {
      const u = new URL(db.url);
      u.pathname = '/bg_pg_no_such_database';
      const t0 = Date.now();
      const err = await openPostgresStore({ ...parseDatabaseUrl(u.href), connectDeadlineMs: 20_000 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/cannot use the database at .*bg_pg_no_such_database.* does not exist/);
      expect(Date.now() - t0).toBeLessThan(5000);
    });

    it('the LISTEN connection comes back by itself after a cut, says resync, and hears other replicas again', async () => {
      const link = await interruptibleLink(db);
      const listening: PostgresStore = await openPostgresStore(link.db);
      const writer: PostgresStore = await openPostgresStore(db);
      const changes: StoreChange[] = [];
      listening.subscribe((c) => changes.push(c));
      const until = async (check: () => boolean) => {
        for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
        expect(check()).toBe(true);
      };
      try {
        const e1 = await writer.appendTrustEvent({ hostId: 'h', kind: 'trusted', at: new Date().toISOString() });
        await until(() => changes.some((c) => c.kind === 'trust_event' && c.seq === e1.seq));
        await link.down();
        await link.up();
        await until(() => changes.some((c) => c.kind === 'resync'));
        const e2 = await writer.appendTrustEvent({ hostId: 'h', kind: 'untrusted', at: new Date().toISOString() });
        await until(() => changes.some((c) => c.kind === 'trust_event' && c.seq === e2.seq));
      } finally {
        await listening.close();
        await writer.close();
        await link.close();
      }
    });

    it('while serving: calls fail with StoreError unavailable, health says the database is down, and both recover by themselves', async () => {
      const link = await interruptibleLink(db);
      const store: PostgresStore = await openPostgresStore(link.db);
      try {
        expect(await store.health()).toEqual({ ok: true });
        await link.down();
        const err = await store.getHost('x').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreError);
        expect((err as StoreError).code).toBe('unavailable');
        expect((err as Error).message).toMatch(/the database at 127\.0\.0\.1:\d+ is unavailable/);
        // A write that could not reach the database was not acknowledged.
        await expect(store.appendTrustEvent({ hostId: 'h', kind: 'trusted', at: new Date().toISOString() })).rejects.toMatchObject({ code: 'unavailable' });
        const health = await store.health();
        expect(health.ok).toBe(false);
        expect(!health.ok && health.reason).toMatch(/the database at 127\.0\.0\.1:\d+ is unreachable/);
        await link.up();
        expect(await store.getHost('x')).toBeUndefined();
        expect(await store.health()).toEqual({ ok: true });
        const e = await store.appendTrustEvent({ hostId: 'h', kind: 'trusted', at: new Date().toISOString() });
        expect((await store.trustEventsAfter(e.seq - 1, 1)).map((x) => x.seq)).toEqual([e.seq]);
      } finally {
        await store.close();
        await link.close();
      }
    });
  });
});
