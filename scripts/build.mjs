#!/usr/bin/env node
/**
 * Builds the CLI and service into dist/ with tsc (tsconfig.build.json), then copies the non-TypeScript
 * files that code reads next to itself (EK roots, tpm-sim's CA). `npm ci` runs it through `prepare`.
 *
 *   node scripts/build.mjs             clean build
 *   node scripts/build.mjs --if-stale  only when a source is newer than the last build
 *
 * bin/bootgate.mjs calls ensureBuilt() so a checkout whose sources changed since the last build never
 * runs old code. Without typescript (`npm ci --omit=dev`) an existing dist/ is used as it is.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.built');
const LOCK = join(ROOT, '.dist.lock');
const SOURCE_DIRS = ['src', 'tpm-sim'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (entry.isFile()) yield p;
  }
}

/** True when dist/ is missing or older than any source (a few hundred stat calls, ~2 ms). */
export function isStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  for (const f of SOURCE_FILES) if (existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).mtimeMs > built) return true;
  for (const d of SOURCE_DIRS) {
    if (!existsSync(join(ROOT, d))) continue;
    for (const f of files(join(ROOT, d))) if (statSync(f).mtimeMs > built) return true;
  }
  return false;
}

function typescriptCli() {
  try {
    return createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

function copyAssets() {
  for (const d of SOURCE_DIRS) {
    for (const f of files(join(ROOT, d))) {
      if (f.endsWith('.ts')) continue;
      const to = join(DIST, relative(ROOT, f));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(f, to);
    }
  }
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One build at a time per checkout: concurrent CLI starts wait for the first one's build. */
function withLock(fn) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock older than any build is left over from a killed build.
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 600_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another build holds ${LOCK}; remove it if no build is running`);
      sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Returns an error message, or undefined when dist/ is built. */
export function build({ ifStale = false, quiet = false } = {}) {
  return withLock(() => {
    if (ifStale && !isStale()) return undefined;
    const tsc = typescriptCli();
    if (tsc === undefined) {
      if (existsSync(STAMP)) return undefined;
      return 'dist/ is not built and typescript is not installed (npm ci --omit=dev): build where the dev dependencies are (npm ci && npm run build), then npm prune --omit=dev';
    }
    if (!quiet) process.stderr.write('bootgate: building dist/ with tsc\n');
    rmSync(DIST, { recursive: true, force: true });
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) return `tsc failed (exit ${r.status ?? r.signal}); dist/ is incomplete`;
    copyAssets();
    writeFileSync(STAMP, `${new Date().toISOString()}\n`);
    return undefined;
  });
}

/** For bin/bootgate.mjs: rebuild a stale dist/ when typescript is there; false (with a message) when there is no usable dist/. */
export function ensureBuilt() {
  if (!isStale()) return true;
  const problem = build({ ifStale: true });
  if (problem === undefined) return true;
  process.stderr.write(`bootgate: ${problem}\n`);
  return existsSync(STAMP);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problem = build({ ifStale: process.argv.includes('--if-stale') });
  if (problem !== undefined) {
    process.stderr.write(`bootgate build: ${problem}\n`);
    process.exitCode = 1;
  }
}
