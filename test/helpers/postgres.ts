/**
 * PostgreSQL for tests: BOOTGATE_TEST_DATABASE_URL names a role that may CREATEDB (CI makes a
 * throw-away one). Each test file creates its own database (freshDatabase) and drops it after, so
 * files run in parallel without seeing each other's rows. Without the variable the tests skip
 * through require.ts (and fail under BOOTGATE_TEST_REQUIRE=1).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseDatabaseUrl, type DatabaseUrl } from '../../src/config.ts';
import { available } from './require.ts';

export const TEST_DATABASE_URL = process.env.BOOTGATE_TEST_DATABASE_URL;

export function havePostgres(): boolean {
  return available(
    'PostgreSQL',
    TEST_DATABASE_URL !== undefined && TEST_DATABASE_URL !== '',
    'set BOOTGATE_TEST_DATABASE_URL=postgres://<role with CREATEDB>@127.0.0.1:5432/<database>',
  );
}

export interface TestDatabase extends DatabaseUrl {
  name: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new empty database on the test server, named `<prefix>_<random>`. */
export async function freshDatabase(prefix = 'bg_pg_test'): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error('BOOTGATE_TEST_DATABASE_URL is not set');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    ...parseDatabaseUrl(u.href),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs SQL on a test database (to inspect or to tamper with what a store wrote). */
export async function onDatabase<T>(db: DatabaseUrl, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A TCP proxy in front of the test database that a test can cut and restore, as a network
 * partition or a database restart does: `down()` refuses new connections and drops open ones,
 * `up()` accepts again on the same port. `db` is the database as reached through the proxy.
 */
export interface DatabaseLink {
  db: DatabaseUrl;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function interruptibleLink(target: DatabaseUrl): Promise<DatabaseLink> {
  const { createServer, connect } = await import('node:net');
  const upstream = new URL(target.url);
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    const remote = connect(Number(upstream.port || 5432), upstream.hostname);
    for (const s of [client, remote]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(remote).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  await listen(0);
  const port = (server.address() as import('node:net').AddressInfo).port;
  const u = new URL(target.url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  const stop = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return r();
      server.close(() => r());
    });
  return {
    db: parseDatabaseUrl(u.href),
    down: stop,
    up: () => listen(port),
    close: stop,
  };
}
