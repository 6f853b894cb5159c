/**
 * The connection pool of the PostgreSQL store: how it connects, what counts as "the database is
 * unreachable" (StoreError 'unavailable', answered 503), and transactions on one pooled client.
 */
import pg from 'pg';
import { StoreError } from '../errors.ts';

export interface PoolSettings {
  /** The connection URL (it may hold the password: never print it). */
  url: string;
  /** host:port, for messages. */
  target: string;
  /** Connections per process (default 10). */
  max?: number;
}

/** Milliseconds to get a connection before a request fails as unavailable. */
const CONNECT_TIMEOUT_MS = 5000;
/** Milliseconds any statement may take, client side and server side, before it fails: nothing hangs forever. */
const STATEMENT_TIMEOUT_MS = 15_000;

const INT8_OID = 20;

/** bigint sequences fit a double for 285 years at a million rows a second; seq is a number in the Store. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(s: PoolSettings, onIdleError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: s.url,
    max: s.max ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    query_timeout: STATEMENT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'bootgate',
    types,
  });
  // An idle connection the server dropped: the pool discards it; without a listener it would crash the process.
  pool.on('error', onIdleError);
  return pool;
}

/** One client outside the pool (LISTEN, the migration lock), with the pool's settings. */
export function createClient(s: PoolSettings): pg.Client {
  return new pg.Client({
    connectionString: s.url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'bootgate',
    types,
  });
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ECONNABORTED']);
/** SQLSTATEs of a server going away or refusing work: shutdown, crash, starting up, out of connections, read-only standby. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);
const DRIVER_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection refused|connect ECONNREFUSED|Client was closed|Cannot use a pool after calling end/i;

/** Whether `err` means the database could not be reached or dropped the connection (not a bad statement). */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  return DRIVER_MESSAGES.test(err.message) || (err.cause !== undefined && isUnavailable(err.cause));
}

/** A short cause for operators: the system or SQLSTATE code and the driver's sentence, never the URL. */
export function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 200);
  if (err instanceof AggregateError && err.errors.length > 0) return describeCause(err.errors[0]);
  const code = (err as { code?: unknown }).code;
  const msg = err.message.replace(/postgres(ql)?:\/\/\S*/gi, '<url>').slice(0, 300) || err.name;
  return typeof code === 'string' && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** Runs `op`, turning an unreachable database into StoreError 'unavailable' (nothing of it was acknowledged). */
export async function guarded<T>(target: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    if (isUnavailable(err)) throw new StoreError('unavailable', `the database at ${target} is unavailable: ${describeCause(err)}`, { cause: err });
    throw err;
  }
}

/** BEGIN … COMMIT on one pooled client; any throw rolls back. A broken connection is discarded, not reused. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
      throw err;
    }
  } catch (err) {
    if (isUnavailable(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** SQLSTATE foreign_key_violation. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23503';
}
