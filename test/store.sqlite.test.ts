/** The SQLite store: the shared store suite, and what only SQLite has (its pragmas, its TypeScript migrations). */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.ts';
import { MIGRATIONS, migrate } from '../src/store/sqlite/migrations.ts';
import { storeSuite } from './helpers/store-suite/index.ts';

let suiteDir: string | undefined;
storeSuite('SQLite', {
  async open() {
    suiteDir = mkdtempSync(join(tmpdir(), 'bootgate-store-'));
    return openSqliteStore(join(suiteDir, 'bootgate.db'));
  },
  async openAnother() {
    return openSqliteStore(this.location());
  },
  location() {
    if (!suiteDir) throw new Error('open() first');
    return join(suiteDir, 'bootgate.db');
  },
  async cleanup() {
    if (suiteDir) rmSync(suiteDir, { recursive: true, force: true });
    suiteDir = undefined;
  },
});

describe('SQLite store: schema', () => {
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
