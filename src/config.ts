/**
 * Service configuration from the environment (contract §2), validated once at start-up.
 * A bad value stops the service with a message naming the variable; a key is never echoed.
 */
import { z } from 'zod';
import { resolve } from 'node:path';

export const ROLES = ['admin', 'scheduler', 'broker'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyConfig {
  role: Role;
  key: string;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  goldenDir: string;
  /** undefined: the shipped manufacturer roots. */
  ekRoots: string | undefined;
  /** undefined: BOOTGATE_API_KEYS unset, an admin key is generated into the data directory. */
  apiKeys: ApiKeyConfig[] | undefined;
  tokenTtlSeconds: number;
  nonceTtlSeconds: number;
  enrollmentTtlSeconds: number;
  /** `iss` of tokens; undefined: the listening URL. */
  issuer: string | undefined;
  /** For secrets at rest (key release); base64 of 32 bytes. */
  masterKey: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Requests per minute per client address and per host on the nonce and attestation routes; 0 disables. */
  rateLimitPerMinute: number;
  /** Largest accepted request body in bytes. */
  bodyLimitBytes: number;
  /** Worker threads for the appraisal pipeline; 0 runs it on the event loop. */
  appraisalWorkers: number;
  /** jwt: contract §3.4 claims; ear: EAT Attestation Results (docs/tokens.md). */
  tokenFormat: 'jwt' | 'ear';
  /** PEM files; both set: HTTPS only. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Event logs kept per host beyond its latest and last passing appraisal's (which always stay). */
  evidenceKeepPerHost: number;
  /** Older event logs than this are dropped (same exceptions); 0 keeps them whatever their age. */
  evidenceMaxAgeSeconds: number;
  /** Appraisal records older than this are deleted (same exceptions as evidence); 0, the default, keeps the whole history. */
  historyMaxAgeSeconds: number;
  /** PostgreSQL shared by replicas; undefined: SQLite in the data directory. */
  database: DatabaseUrl | undefined;
  /** Connections each process keeps to PostgreSQL at most. */
  databasePoolSize: number;
}

/** A validated BOOTGATE_DATABASE_URL. `display` is safe to print: it never holds the password. */
export interface DatabaseUrl {
  url: string;
  display: string;
  /** host:port, for messages about reaching it. */
  target: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MIN_KEY_LENGTH = 16;

const intVar = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const nonEmpty = z.string().min(1, 'must not be empty');

const EnvSchema = z.object({
  BOOTGATE_PORT: intVar(0, 65535).default(8080),
  BOOTGATE_HOST: nonEmpty.default('127.0.0.1'),
  BOOTGATE_DATA_DIR: nonEmpty.default('./data'),
  BOOTGATE_GOLDEN_DIR: nonEmpty.default('./golden-measurements'),
  BOOTGATE_EK_ROOTS: nonEmpty.optional(),
  BOOTGATE_API_KEYS: z.string().optional(),
  BOOTGATE_TOKEN_TTL: intVar(1, 86_400).default(300),
  BOOTGATE_NONCE_TTL: intVar(1, 86_400).default(120),
  BOOTGATE_ENROLLMENT_TTL: intVar(1, 86_400).default(600),
  BOOTGATE_ISSUER: nonEmpty.optional(),
  BOOTGATE_MASTER_KEY: nonEmpty.optional(),
  BOOTGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BOOTGATE_RATE_LIMIT: intVar(0, 1_000_000).default(600),
  BOOTGATE_BODY_LIMIT: intVar(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  BOOTGATE_APPRAISAL_WORKERS: intVar(0, 64).default(0),
  BOOTGATE_TOKEN_FORMAT: z.enum(['jwt', 'ear']).default('jwt'),
  BOOTGATE_TLS_CERT: nonEmpty.optional(),
  BOOTGATE_TLS_KEY: nonEmpty.optional(),
  BOOTGATE_EVIDENCE_KEEP: intVar(0, 1_000_000).default(10),
  BOOTGATE_EVIDENCE_MAX_AGE: intVar(0, 100 * 365 * 86_400).default(30 * 86_400),
  BOOTGATE_HISTORY_MAX_AGE: intVar(0, 100 * 365 * 86_400).default(0),
  BOOTGATE_DATABASE_URL: nonEmpty.optional(),
  BOOTGATE_DATABASE_POOL: intVar(1, 100).default(10),
});

/** Query parameters node-postgres honours that an operator may need (TLS, a socket directory, a name in pg_stat_activity). */
const DATABASE_URL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'application_name', 'host', 'user'];
const DATABASE_URL_SHAPE = 'postgres://user:password@host:port/database';

/**
 * Validates BOOTGATE_DATABASE_URL. Messages show the URL with its password masked and never
 * quote the parser's own error (which would echo the whole value).
 */
export function parseDatabaseUrl(value: string): DatabaseUrl {
  const fail = (why: string): never => {
    throw new ConfigError(`BOOTGATE_DATABASE_URL: ${why}; expected ${DATABASE_URL_SHAPE}`);
  };
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return fail('not a URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') fail(`the scheme is "${u.protocol.slice(0, 20)}", not postgres:`);
  const masked = new URL(u.href);
  if (masked.password !== '') masked.password = '***';
  const display = masked.href;
  const socketDir = u.searchParams.get('host');
  if (u.hostname === '' && !socketDir) fail(`${display} names no host`);
  let database = '';
  try {
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    fail(`${display} has a database name that is not valid percent-encoding`);
  }
  if (database === '' || database.includes('/')) fail(`${display} names no database (the path must be /<database>)`);
  for (const name of u.searchParams.keys()) {
    if (!DATABASE_URL_PARAMS.includes(name)) fail(`${display} has the unknown parameter "${name.slice(0, 40)}" (known: ${DATABASE_URL_PARAMS.join(', ')})`);
  }
  const target = u.hostname !== '' ? `${u.hostname}:${u.port || '5432'}` : `${socketDir}:${u.port || '5432'}`;
  return { url: u.href, display, target };
}

/** Parses `role:key,role:key`; the message names the entry by position, never by its key. */
export function parseApiKeys(value: string): ApiKeyConfig[] {
  const entries = value.split(',').map((s) => s.trim());
  const out: ApiKeyConfig[] = [];
  entries.forEach((entry, i) => {
    const where = `BOOTGATE_API_KEYS entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new ConfigError(`${where} is not of the form role:key`);
    const role = entry.slice(0, colon);
    const key = entry.slice(colon + 1);
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(`${where} has unknown role "${role.slice(0, 32)}" (roles: ${ROLES.join(', ')})`);
    }
    if (key.length < MIN_KEY_LENGTH) {
      throw new ConfigError(`${where} (role ${role}) has a key shorter than ${MIN_KEY_LENGTH} characters`);
    }
    if (/\s/.test(key)) throw new ConfigError(`${where} (role ${role}) has a key containing white space`);
    out.push({ role: role as Role, key });
  });
  if (out.length === 0) throw new ConfigError('BOOTGATE_API_KEYS is set but empty');
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked = Object.fromEntries(Object.keys(EnvSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  if (e.BOOTGATE_MASTER_KEY !== undefined && Buffer.from(e.BOOTGATE_MASTER_KEY, 'base64').length !== 32) {
    throw new ConfigError('BOOTGATE_MASTER_KEY: must be base64 of 32 bytes');
  }
  if ((e.BOOTGATE_TLS_CERT === undefined) !== (e.BOOTGATE_TLS_KEY === undefined)) {
    throw new ConfigError(`${e.BOOTGATE_TLS_CERT === undefined ? 'BOOTGATE_TLS_CERT' : 'BOOTGATE_TLS_KEY'}: must be set too: HTTPS needs both the certificate and the key`);
  }
  return {
    port: e.BOOTGATE_PORT,
    host: e.BOOTGATE_HOST,
    dataDir: resolve(e.BOOTGATE_DATA_DIR),
    goldenDir: resolve(e.BOOTGATE_GOLDEN_DIR),
    ekRoots: e.BOOTGATE_EK_ROOTS === undefined ? undefined : resolve(e.BOOTGATE_EK_ROOTS),
    apiKeys: e.BOOTGATE_API_KEYS === undefined ? undefined : parseApiKeys(e.BOOTGATE_API_KEYS),
    tokenTtlSeconds: e.BOOTGATE_TOKEN_TTL,
    nonceTtlSeconds: e.BOOTGATE_NONCE_TTL,
    enrollmentTtlSeconds: e.BOOTGATE_ENROLLMENT_TTL,
    issuer: e.BOOTGATE_ISSUER,
    masterKey: e.BOOTGATE_MASTER_KEY,
    logLevel: e.BOOTGATE_LOG_LEVEL,
    rateLimitPerMinute: e.BOOTGATE_RATE_LIMIT,
    bodyLimitBytes: e.BOOTGATE_BODY_LIMIT,
    appraisalWorkers: e.BOOTGATE_APPRAISAL_WORKERS,
    tokenFormat: e.BOOTGATE_TOKEN_FORMAT,
    tls: e.BOOTGATE_TLS_CERT !== undefined && e.BOOTGATE_TLS_KEY !== undefined ? { certFile: resolve(e.BOOTGATE_TLS_CERT), keyFile: resolve(e.BOOTGATE_TLS_KEY) } : undefined,
    evidenceKeepPerHost: e.BOOTGATE_EVIDENCE_KEEP,
    evidenceMaxAgeSeconds: e.BOOTGATE_EVIDENCE_MAX_AGE,
    historyMaxAgeSeconds: e.BOOTGATE_HISTORY_MAX_AGE,
    database: e.BOOTGATE_DATABASE_URL === undefined ? undefined : parseDatabaseUrl(e.BOOTGATE_DATABASE_URL),
    databasePoolSize: e.BOOTGATE_DATABASE_POOL,
  };
}
