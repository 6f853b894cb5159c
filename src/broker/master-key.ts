/**
 * The master key that encrypts secrets at rest: broker secrets, token signing keys, webhook
 * secrets and the shared admin key (util/envelope.ts).
 *
 * It never lives in the database: either the operator supplies it in BOOTGATE_MASTER_KEY
 * (base64 of exactly 32 bytes), or it is generated once into `<dataDir>/master.key` (32 raw
 * bytes, mode 0600). Someone holding only the database learns no secret; someone holding
 * the data directory does, so back it up and protect it accordingly. Replicas on one database
 * must share it (set BOOTGATE_MASTER_KEY, or copy the file into each data directory).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fromBase64 } from '../util/encoding.ts';
import { MASTER_KEY_BYTES } from '../util/envelope.ts';

export const MASTER_KEY_ENV = 'BOOTGATE_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';

/** Thrown at start-up when no usable master key can be obtained; the service must not start. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

export interface MasterKey {
  key: Uint8Array;
  /** Where it came from, for one start-up log line (never log the key itself). */
  source: 'env' | 'file' | 'created';
  path?: string;
}

export function loadMasterKey(opts: { dataDir: string; env?: Record<string, string | undefined> }): MasterKey {
  const env = opts.env ?? process.env;
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined) return { key: parseEnvKey(fromEnv), source: 'env' };

  const file = path.join(opts.dataDir, MASTER_KEY_FILE);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const created = createIfMissing(file);
  return { key: readKeyFile(file), source: created ? 'created' : 'file', path: file };
}

function parseEnvKey(value: string): Uint8Array {
  const trimmed = value.trim();
  const bytes = trimmed === '' ? null : fromBase64(trimmed);
  if (bytes === null || bytes.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(
      `${MASTER_KEY_ENV} must be the base64 encoding of exactly ${MASTER_KEY_BYTES} random bytes ` +
        `(for example the output of \`openssl rand -base64 32\`); ` +
        (bytes === null ? 'the value is not valid base64' : `it decodes to ${bytes.length} bytes`) +
        '. Refusing to start.',
    );
  }
  return bytes;
}

/** Exclusive create so two processes starting together cannot each write a different key. */
function createIfMissing(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new MasterKeyError(`cannot create the master key file ${file}: ${(err as Error).message}. Refusing to start.`);
  }
  try {
    writeSync(fd, randomBytes(MASTER_KEY_BYTES));
  } finally {
    closeSync(fd);
  }
  // The umask may have narrowed the mode further, never widened it; make it exact anyway.
  chmodSync(file, 0o600);
  return true;
}

function readKeyFile(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new MasterKeyError(`cannot read the master key file ${file}: ${(err as Error).message}. Refusing to start.`);
  }
  try {
    const st = fstatSync(fd);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new MasterKeyError(
        `the master key file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); ` +
          `run \`chmod 600 ${file}\`. Refusing to start.`,
      );
    }
    if (st.size !== MASTER_KEY_BYTES) {
      throw new MasterKeyError(
        `the master key file ${file} holds ${st.size} bytes, expected exactly ${MASTER_KEY_BYTES}. ` +
          'It is damaged or not a bootgate master key; restore it from backup (secrets cannot be decrypted without it). Refusing to start.',
      );
    }
    return new Uint8Array(readFileSync(fd));
  } finally {
    closeSync(fd);
  }
}
