/**
 * Persistence and the process shell: a restarted service keeps hosts, appraisals and signing keys;
 * `bootgate serve` prints its one line, generates the admin key file, stops on SIGTERM, and loses
 * nothing it acknowledged when killed with SIGKILL.
 */
import { describe, it, expect } from 'vitest';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, GOLDEN_DIR, REPO_ROOT, SIM_EK_ROOT, SIM_PROFILE } from './helpers/server.ts';

const BIN = join(REPO_ROOT, 'bin', 'bootgate.mjs');

describe('restart on the same data directory', () => {
  it('keeps hosts, appraisals and signing keys; old tokens still verify; the host keeps attesting', async () => {
    let s = await startTestServer();
    try {
      const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const first = await agent.attest();
      expect(first.verdict).toBe('pass');
      const kid = decodeProtectedHeader(String(first.token)).kid;

      s = await s.restart();
      const view = await s.call('GET', `/v1/hosts/${agent.host.hostId}`, { key: s.schedulerKey });
      expect(view.json.trust).toMatchObject({ status: 'trusted', appraisalId: first.appraisalId });
      expect(await s.service.store.getAppraisal(String(first.appraisalId))).toBeDefined();
      const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
      // The issuer was the old URL (port 0 picks a new port), so only the signature and expiry are checked here.
      await jwtVerify(String(first.token), jwks);
      expect(s.service.keyring.current().kid).toBe(kid);

      const again = new HostAgent(agent.host, s.baseUrl);
      expect((await again.attest()).verdict).toBe('pass');
    } finally {
      await s.stop();
    }
  });
});

interface Child {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function serve(env: Record<string, string>, args: string[] = []): Child {
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', BOOTGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function listening(c: Child): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const m = /^bootgate listening on (http:\/\/\S+)\n/.exec(c.stdout());
    if (m?.[1]) return m[1];
    if (c.proc.exitCode !== null) throw new Error(`serve exited: ${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`serve did not start: ${c.stderr()}`);
}

describe('bootgate serve', () => {
  it('prints exactly one line, generates admin.key (0600) printing only its location, and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-serve-'));
    const c = serve({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_GOLDEN_DIR: GOLDEN_DIR, BOOTGATE_EK_ROOTS: SIM_EK_ROOT });
    try {
      const url = await listening(c);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(c.stdout()).toBe(`bootgate listening on ${url}\n`);
      const keyFile = join(dataDir, 'admin.key');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = readFileSync(keyFile, 'utf8').trim();
      expect(c.stderr()).toContain(keyFile);
      expect(c.stderr()).not.toContain(key);
      const ok = await fetch(new URL('/v1/golden', url), { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      c.proc.kill('SIGTERM');
      expect(await c.exited).toBe(0);
      expect(c.stdout()).toBe(`bootgate listening on ${url}\n`);
    } finally {
      c.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with an unknown role, naming the problem but never the key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-serve-'));
    try {
      const c = serve({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_API_KEYS: 'admin:0123456789abcdef0123,root:topsecretkey-1234567' });
      expect(await c.exited).toBe(2);
      expect(c.stderr()).toMatch(/entry 2 has unknown role "root"/);
      expect(c.stderr()).not.toContain('topsecretkey');
      expect(c.stdout()).toBe('');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serve --json prints its one line as {"listening": URL}, and a bad configuration as a JSON error', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-serve-'));
    const c = serve({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_API_KEYS: 'admin:admin-key-for-json-test-0123' }, ['--json']);
    try {
      for (let i = 0; i < 300 && !c.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
      const { listening } = JSON.parse(c.stdout()) as { listening: string };
      expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(new URL('/healthz', listening))).status).toBe(200);
      c.proc.kill('SIGTERM');
      expect(await c.exited).toBe(0);
      const bad = serve({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_TOKEN_TTL: 'soon' }, ['--json']);
      expect(await bad.exited).toBe(2);
      expect(JSON.parse(bad.stdout())).toEqual({ error: { code: 'invalid_config', message: expect.stringContaining('BOOTGATE_TOKEN_TTL') } });
    } finally {
      c.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('appraises on worker threads from the compiled dist/ (BOOTGATE_APPRAISAL_WORKERS)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-serve-'));
    const c = serve({
      BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_GOLDEN_DIR: GOLDEN_DIR, BOOTGATE_EK_ROOTS: SIM_EK_ROOT,
      BOOTGATE_API_KEYS: 'admin:admin-key-for-worker-test-0123', BOOTGATE_APPRAISAL_WORKERS: '2',
    });
    try {
      const url = await listening(c);
      const agents = [new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), url), new HostAgent(createSimHost({ scenario: 'kernel-swap' }), url)];
      for (const a of agents) {
        await a.enroll([SIM_PROFILE]);
        await a.activate();
      }
      const [clean, swapped] = await Promise.all(agents.map((a) => a.attest()));
      expect(clean).toMatchObject({ verdict: 'pass', failures: [] });
      expect(swapped!.verdict).toBe('fail');
      expect((swapped!.failures as Array<{ code: string }>).map((f) => f.code)).toContain('kernel_not_allowed');
      const metrics = await (await fetch(new URL('/metrics', url))).text();
      expect(metrics).toMatch(/bootgate_log_cache_total\{result="miss"\} [1-9]/);
      expect(c.stderr()).not.toMatch(/worker/i);
    } finally {
      c.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('loses no acknowledged appraisal when killed with SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-serve-'));
    const apiKey = 'admin-key-for-kill-test-0123456789';
    const c = serve({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_GOLDEN_DIR: GOLDEN_DIR, BOOTGATE_EK_ROOTS: SIM_EK_ROOT, BOOTGATE_API_KEYS: `admin:${apiKey}` });
    const appraisals: string[] = [];
    let hostId = '';
    try {
      const url = await listening(c);
      const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), url);
      hostId = agent.host.hostId;
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      for (let i = 0; i < 5; i++) appraisals.push(String((await agent.attest()).appraisalId));
      c.proc.kill('SIGKILL');
      await c.exited;
      const s = await startTestServer({ dataDir });
      try {
        for (const id of appraisals) expect(await s.service.store.getAppraisal(id)).toBeDefined();
        const view = await s.call('GET', `/v1/hosts/${hostId}`, { key: s.adminKey });
        expect(view.json.trust.appraisalId).toBe(appraisals.at(-1));
      } finally {
        await s.stop();
      }
    } finally {
      c.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
