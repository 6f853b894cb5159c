/**
 * Worker threads on a module of this package, compiled or not. From dist/ (the CLI) the entry is
 * JavaScript and starts as it is. From the TypeScript sources (vitest, `node --import tsx`) the
 * worker does not inherit the parent's loader, so it starts at ts-worker-entry.mjs, which
 * registers tsx's ESM loader itself, by absolute URL so the working directory does not matter,
 * and then imports the entry.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

/**
 * The module `name` (without extension) beside the caller, in the caller's own form: `.ts` when
 * the caller runs from source, `.js` when it was compiled (tsc rewrites imports, not URLs).
 */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

/** piscina's `filename` and `workerData` for a pool whose workers run the default export of `entry`. */
export function poolWorker(entry: URL): { filename: string; workerData: { tsxApi?: string; entry: string } } {
  if (!entry.pathname.endsWith('.ts')) return { filename: fileURLToPath(entry), workerData: { entry: entry.href } };
  return { filename: fileURLToPath(new URL('./ts-worker-entry.mjs', import.meta.url)), workerData: { tsxApi: tsxEsmApi(), entry: entry.href } };
}
