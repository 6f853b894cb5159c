/**
 * Versioned SQL migrations of the PostgreSQL store: migrations/NNN_name.sql, applied in order at
 * start. A session advisory lock serialises replicas that start together, so exactly one applies
 * each file; each file runs in one transaction with the row that records it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export interface SqlMigration {
  version: number;
  name: string;
  sql: string;
}

/** "bootgate" as a 64-bit advisory lock key, fixed so every replica takes the same lock. */
const MIGRATION_LOCK = 0x626f6f7467617465n;
const FILE_RE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

export const MIGRATIONS_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');

/** The migration files of `dir`, by version; a gap or a duplicate number is a packaging error. */
export function readMigrations(dir: string = MIGRATIONS_DIR): SqlMigration[] {
  const found = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => {
      const m = FILE_RE.exec(f);
      if (!m) throw new Error(`migration file ${f} is not named NNN_name.sql`);
      return { version: Number(m[1]), name: (m[2] as string).replace(/_/g, ' '), sql: readFileSync(join(dir, f), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  found.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3...: found ${m.version} at position ${i + 1}`);
  });
  return found;
}

/** Applies every migration newer than the database's version; returns the versions applied. */
export async function migrate(client: pg.ClientBase, migrations: readonly SqlMigration[] = readMigrations()): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const current = await schemaVersion(client);
    const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    if (current > known) {
      throw new Error(`database schema version ${current} is newer than this bootgate (knows up to ${known}); refusing to use it`);
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
  }
}

export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}
