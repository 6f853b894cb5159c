/**
 * CLI start-up: wall time of `bootgate --version` (the compiled dist/ through bin/bootgate.mjs, as
 * an operator runs it) as a ratio to `node -e 0`, the floor of any Node CLI, measured interleaved in
 * the same run. `eventlog --json` on a real-sized log shows a command that loads its core.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'bootgate.mjs');
const ROUNDS = 25;

function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const round = (x: number): number => Math.round(x * 10) / 10;

export async function bench(): Promise<Record<string, unknown>> {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('building dist/ failed');
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-bench-cli-'));
  try {
    const log = join(dir, 'log.bin');
    writeFileSync(log, encodeEventLog(LOG_BANKS, bootEvents(referencePlatform())));
    const cases: Record<string, string[]> = {
      nodeFloor: ['-e', '0'],
      version: [BIN, '--version'],
      eventlogJson: [BIN, 'eventlog', log, '--json'],
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const args of Object.values(cases)) wall(args); // warm the page cache
    for (let i = 0; i < ROUNDS; i++) for (const [k, args] of Object.entries(cases)) times[k]!.push(wall(args));
    const median = (k: string): number => percentile(times[k]!, 0.5);
    return {
      rounds: ROUNDS,
      medianMs: Object.fromEntries(Object.keys(cases).map((k) => [k, round(median(k))])),
      p90Ms: Object.fromEntries(Object.keys(cases).map((k) => [k, round(percentile(times[k]!, 0.9))])),
      versionToNodeFloor: Math.round((median('version') / median('nodeFloor')) * 100) / 100,
      eventlogJsonToNodeFloor: Math.round((median('eventlogJson') / median('nodeFloor')) * 100) / 100,
      goal: 'versionToNodeFloor <= 3',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
