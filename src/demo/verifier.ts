/**
 * The demo's verifier: the real service, started in-process on 127.0.0.1 with a free port, a
 * throw-away data directory, tpm-sim's development EK root and the shipped golden profiles.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { startService, type RunningService } from '../service.ts';
import { PACKAGE_ROOT } from '../util/package-root.ts';

export const REPO_ROOT = PACKAGE_ROOT;
/** tpm-sim signs its EK certificates with this root; it is passed explicitly, never assumed to be a default root. */
export const SIM_EK_ROOT = join(REPO_ROOT, 'tpm-sim', 'ca', 'dev-root.crt.pem');
export const GOLDEN_DIR = join(REPO_ROOT, 'golden-measurements');
/** The shipped profile that describes tpm-sim's reference platform. */
export const SIM_PROFILE = 'tpm-sim-reference';
/** Written next to the database with --keep, so the kept verifier can be started again. */
export const KEPT_ENV_FILE = 'demo.env';

export interface DemoKeys {
  admin: string;
  scheduler: string;
  broker: string;
}

export interface DemoVerifier {
  url: string;
  dataDir: string;
  keys: DemoKeys;
  service: RunningService;
  /** Stops the service; removes the data directory unless `keep` (then writes demo.env into it). */
  stop(keep: boolean): Promise<void>;
}

function newKey(prefix: string): string {
  return `${prefix}-${randomBytes(24).toString('base64url')}`;
}

/**
 * The environment of a throw-away verifier for simulated hosts: loopback, a free port, the given
 * data directory and keys, tpm-sim's EK root, the shipped golden profiles, no logs.
 */
export function simulatedFleetEnv(dataDir: string, keys: DemoKeys): Record<string, string> {
  return {
    BOOTGATE_PORT: '0',
    BOOTGATE_HOST: '127.0.0.1',
    BOOTGATE_DATA_DIR: dataDir,
    BOOTGATE_GOLDEN_DIR: GOLDEN_DIR,
    BOOTGATE_EK_ROOTS: SIM_EK_ROOT,
    BOOTGATE_API_KEYS: `admin:${keys.admin},scheduler:${keys.scheduler},broker:${keys.broker}`,
    BOOTGATE_LOG_LEVEL: 'silent',
  };
}

export async function startDemoVerifier(): Promise<DemoVerifier> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-demo-'));
  const keys: DemoKeys = { admin: newKey('adm'), scheduler: newKey('sch'), broker: newKey('brk') };
  const env: Record<string, string> = {
    ...simulatedFleetEnv(dataDir, keys),
    // One client plays a whole fleet from one address; per-client limits would throttle a large --hosts.
    BOOTGATE_RATE_LIMIT: '0',
  };
  let service: RunningService;
  try {
    service = await startService({ config: loadConfig(env), logger: pino({ level: 'silent' }) });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: service.url,
    dataDir,
    keys,
    service,
    async stop(keep) {
      await service.stop(2000);
      if (keep) {
        const { BOOTGATE_PORT: _port, ...rest } = env;
        const lines = Object.entries({ ...rest, BOOTGATE_PORT: '8080' }).map(([k, v]) => `${k}=${v}`);
        writeFileSync(join(dataDir, KEPT_ENV_FILE), `${lines.join('\n')}\n`, { mode: 0o600 });
      } else {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
