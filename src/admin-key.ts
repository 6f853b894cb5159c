/**
 * The generated admin API key, used when BOOTGATE_API_KEYS is unset. It lives in the store,
 * sealed under the master key, so every replica on one database accepts the same key; each
 * process also writes it to `<dataDir>/admin.key` (mode 0600) for the operator to read.
 * A key file left by an earlier version becomes the stored key if the store has none yet.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Store } from './store/types.ts';
import { EnvelopeError, openText, sealText } from './util/envelope.ts';
import { KeyringError } from './token/keys.ts';

export const ADMIN_KEY_FILE = 'admin.key';
const SETTING = 'admin_api_key';
const SEAL_PURPOSE = 'setting';

export interface AdminKey {
  key: string;
  file: string;
  /** This process created the key (no store or file held one). */
  generated: boolean;
  /** The data directory held a different key, now replaced by the one the other replicas use. */
  replacedLocal: boolean;
}

function readLocal(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 16) throw new Error(`${file} does not hold a usable key; delete it to generate a new one`);
  return key;
}

function open(masterKey: Uint8Array, sealed: string): string {
  try {
    return openText(masterKey, SEAL_PURPOSE, SETTING, sealed);
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    throw new KeyringError('the admin key stored in the database does not open with this master key: every process on one database must share BOOTGATE_MASTER_KEY');
  }
}

export async function sharedAdminKey(store: Pick<Store, 'getSetting' | 'putSettingIfAbsent'>, masterKey: Uint8Array, dataDir: string): Promise<AdminKey> {
  const file = join(dataDir, ADMIN_KEY_FILE);
  const local = readLocal(file);
  const stored = await store.getSetting(SETTING);
  let key: string;
  let generated = false;
  if (stored !== undefined) {
    key = open(masterKey, stored);
  } else {
    const candidate = local ?? randomBytes(32).toString('base64url');
    key = open(masterKey, await store.putSettingIfAbsent(SETTING, sealText(masterKey, SEAL_PURPOSE, SETTING, candidate)));
    generated = local === undefined && key === candidate;
  }
  if (local !== key) {
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { key, file, generated, replacedLocal: local !== undefined && local !== key };
}
