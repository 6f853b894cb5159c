/**
 * Real `bootgate serve` processes, as an operator runs them (bin/bootgate.mjs, configured by
 * environment): started until they print their listening line, stopped with SIGTERM or killed
 * with SIGKILL. Replicas on one PostgreSQL database are several of these.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './fixtures.ts';
import { GOLDEN_DIR, SIM_EK_ROOT } from '../../src/demo/verifier.ts';

const BIN = path.join(repoRoot, 'bin', 'bootgate.mjs');

export interface ServeProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown of any kind. */
  kill(): Promise<void>;
  /** Removes the data directory (after stop or kill). */
  remove(): void;
}

/** The environment of a test replica: the tpm-sim EK root, the shipped profiles, no rate limit, a fresh data directory. */
export function replicaEnv(extra: Record<string, string>): Record<string, string> {
  return {
    BOOTGATE_PORT: '0',
    BOOTGATE_HOST: '127.0.0.1',
    BOOTGATE_GOLDEN_DIR: GOLDEN_DIR,
    BOOTGATE_EK_ROOTS: SIM_EK_ROOT,
    BOOTGATE_RATE_LIMIT: '0',
    BOOTGATE_LOG_LEVEL: 'warn',
    ...extra,
  };
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // Only PATH and HOME from the parent: a BOOTGATE_* variable of the test runner must not leak in.
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
}

/** Starts `bootgate serve` with `env` (BOOTGATE_DATA_DIR defaults to a fresh directory); resolves once it listens. */
export async function startServe(env: Record<string, string>, timeoutMs = 60_000): Promise<ServeProcess> {
  const dataDir = env.BOOTGATE_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'bootgate-replica-'));
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: repoRoot, env: childEnv({ ...env, BOOTGATE_DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bootgate serve did not listen within ${timeoutMs} ms: ${err}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^bootgate listening on (http:\/\/\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bootgate serve exited (${code}) before listening: ${err}`));
    });
  });
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await exited;
  };
  return {
    url,
    dataDir,
    child,
    stderr: () => err,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Runs `bootgate serve` expecting it to stop by itself (a start-up failure): its exit code, output and time. */
export function serveUntilExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const dataDir = env.BOOTGATE_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'bootgate-replica-'));
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: repoRoot, env: childEnv({ ...env, BOOTGATE_DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (env.BOOTGATE_DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stdout: out, stderr: err, ms: Date.now() - t0 });
    });
  });
}
