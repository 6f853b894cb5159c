/**
 * Runs the real `bootgate` binary (bin/bootgate.mjs, the compiled dist/ that test/global-setup.ts
 * builds) in a child process, as an operator would.
 */
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './fixtures.ts';

const BIN = path.join(repoRoot, 'bin', 'bootgate.mjs');
const OPTIONS = { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 } as const;

export interface CliRun {
  /** The exit code; -1 when the process was killed (timeout or signal). */
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` is added to this process's environment for the child. */
export function runBootgate(args: string[], env?: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { ...OPTIONS, ...(env ? { env: { ...process.env, ...env } } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same, blocking: for tests whose steps each need the previous step's files. */
export function runBootgateSync(args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], OPTIONS);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
