/**
 * Starts a real bootgate service on a free port with a temporary data directory, the tpm-sim
 * development EK root and the shipped golden profiles. Each test server has its own API keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { CoreDependencies } from '../../src/attestation/ports.ts';
import { simulatedFleetEnv } from '../../src/demo/verifier.ts';

export { REPO_ROOT, SIM_EK_ROOT, GOLDEN_DIR, SIM_PROFILE } from '../../src/demo/verifier.ts';

export interface TestServer {
  baseUrl: string;
  adminKey: string;
  schedulerKey: string;
  brokerKey: string;
  dataDir: string;
  service: RunningService;
  /** Stops the service; the data directory is removed unless `keepData`. */
  stop(keepData?: boolean): Promise<void>;
  /** Stops and starts again on the same data directory (and a new port). */
  restart(env?: Record<string, string>): Promise<TestServer>;
  /** fetch against baseUrl with JSON body and optional API key. */
  call(method: string, path: string, opts?: { body?: unknown; key?: string; headers?: Record<string, string>; raw?: string | Uint8Array }): Promise<{ status: number; json: any; headers: Headers }>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  dataDir?: string;
  core?: CoreDependencies;
  keys?: { admin: string; scheduler: string; broker: string };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'bootgate-test-'));
  const keys = options.keys ?? {
    admin: `adm-${randomBytes(16).toString('hex')}`,
    scheduler: `sch-${randomBytes(16).toString('hex')}`,
    broker: `brk-${randomBytes(16).toString('hex')}`,
  };
  const env: Record<string, string> = { ...simulatedFleetEnv(dataDir, keys), ...options.env };
  const config = loadConfig(env);
  const service = await startService({
    config,
    logger: pino({ level: 'silent' }),
    ...(options.core ? { core: options.core } : {}),
  });
  const baseUrl = service.url;
  const server: TestServer = {
    baseUrl,
    adminKey: keys.admin,
    schedulerKey: keys.scheduler,
    brokerKey: keys.broker,
    dataDir,
    service,
    async stop(keepData = false) {
      await service.stop(2000);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async restart(extraEnv = {}) {
      await service.stop(2000);
      return startTestServer({ ...options, dataDir, keys, env: { ...options.env, ...extraEnv } });
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
      let body: string | Uint8Array | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(new URL(path, baseUrl), { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      return { status: res.status, json, headers: res.headers };
    },
  };
  return server;
}
