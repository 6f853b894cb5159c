/**
 * `npm run bench`: runs every bench/<area>.ts module and prints one JSON document.
 * Benchmarks are not tests: nothing here passes or fails on speed. Ratios against a floor
 * measured in the same run make the figures comparable on a shared, noisy machine.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import os from 'node:os';

const AREAS = ['eventlog', 'tpm', 'appraisal', 'sim', 'enrollment', 'hosts', 'drift', 'service', 'http', 'p3', 'replicas', 'cli', 'ui', 'libraries', 'soak'] as const;

interface BenchModule {
  bench(): Promise<Record<string, unknown>>;
}

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const results: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  startedAt: new Date().toISOString(),
};
for (const area of AREAS) {
  if (only.length > 0 && !only.includes(area)) continue;
  const file = join(here, `${area}.ts`);
  if (!existsSync(file)) continue;
  const mod = (await import(file)) as BenchModule;
  try {
    results[area] = await mod.bench();
  } catch (err) {
    results[area] = { error: err instanceof Error ? err.message : String(err) };
  }
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
