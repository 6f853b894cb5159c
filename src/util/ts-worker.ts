/**
 * Worker threads whose entry is a TypeScript module. A worker does not inherit the parent's
 * loader (tsx, registered by bin/bootgate.mjs, `node --import tsx` or vitest), so the worker
 * starts at ts-worker-entry.mjs, which registers tsx's ESM loader itself, by absolute URL so the
 * working directory does not matter, and then imports the entry.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The file a pool starts its workers at (piscina's `filename`). */
export const TS_WORKER_ENTRY = fileURLToPath(new URL('./ts-worker-entry.mjs', import.meta.url));

let tsxApi: string | undefined;

function tsxEsmApi(): string {
  if (tsxApi) return tsxApi;
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports['./esm/api']?.import?.default;
  if (!rel) throw new Error('tsx does not export ./esm/api for import');
  tsxApi = pathToFileURL(join(dirname(pkgFile), rel)).href;
  return tsxApi;
}

/** workerData for TS_WORKER_ENTRY: the module whose default export the worker runs. */
export function tsWorkerData(entry: URL): { tsxApi: string | undefined; entry: string } {
  return { tsxApi: entry.pathname.endsWith('.ts') ? tsxEsmApi() : undefined, entry: entry.href };
}
