/**
 * Opens the store the configuration names: PostgreSQL when a database URL is given (replicas
 * share it), else SQLite in the data directory. Callers hold a Store and never learn which.
 */
import { join } from 'node:path';
import type { Store } from './types.ts';
import { openSqliteStore } from './sqlite.ts';
import { openPostgresStore } from './postgres.ts';

export const DATABASE_FILE = 'bootgate.db';

export interface OpenStoreOptions {
  dataDir: string;
  /** BOOTGATE_DATABASE_URL, validated: `url` may hold a password, `target` (host:port) never does. */
  database?: { url: string; target: string } | undefined;
  /** SQLite: seconds of each fsync of the WAL. */
  onSync?: (seconds: number) => void;
  /** PostgreSQL: a connection failed outside any request (the pool replaces it). */
  onConnectionError?: (err: Error) => void;
  /** PostgreSQL: how long start-up retries an unreachable database. */
  connectDeadlineMs?: number;
  /** PostgreSQL: connections at most (default 10). */
  poolSize?: number;
}

export async function openStore(o: OpenStoreOptions): Promise<Store> {
  if (o.database) {
    return openPostgresStore({
      url: o.database.url,
      target: o.database.target,
      ...(o.poolSize !== undefined ? { max: o.poolSize } : {}),
      ...(o.onConnectionError ? { onConnectionError: o.onConnectionError } : {}),
      ...(o.connectDeadlineMs !== undefined ? { connectDeadlineMs: o.connectDeadlineMs } : {}),
    });
  }
  const onSync = o.onSync;
  return openSqliteStore(join(o.dataDir, DATABASE_FILE), onSync ? { onSync: (_batches, seconds) => onSync(seconds) } : {});
}
