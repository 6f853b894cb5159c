/**
 * The dashboard (contract §8, GET /ui/): static files from the repository's ui/ folder and the UI
 * libraries straight from their npm packages' own files. No build step, nothing from another origin.
 * The page calls only the public JSON API; this module serves files and nothing else.
 *
 * Every file is read once at start into memory: the set of URLs is fixed, so no request path ever
 * reaches the file system.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { RequestHandler, Response } from 'express';

/** Only 'self': scripts, styles, images and API calls from this origin; no inline code, no framing. */
export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** URL name under /ui/vendor/ → package and file inside it. ESM files without imports, so no import map. */
const VENDOR_FILES: Record<string, { pkg: string; file: string }> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  'uPlot.esm.js': { pkg: 'uplot', file: 'dist/uPlot.esm.js' },
  'uPlot.min.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' },
};

interface Asset {
  body: Buffer;
  type: string;
}

/** The folder holding ui/index.html, found upwards from this module (src/http/routes or a compiled copy). */
export function findUiDir(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'ui', 'index.html'))) return join(dir, 'ui');
    if (dirname(dir) === dir) throw new Error(`the dashboard's ui/ folder was not found above ${from}`);
  }
}

/** A package's root folder, from its resolved entry point (packages need not export package.json). */
function packageRoot(pkg: string): string {
  const require = createRequire(import.meta.url);
  for (let dir = dirname(require.resolve(pkg)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === pkg) return dir;
    if (dirname(dir) === dir) throw new Error(`the package ${pkg} the dashboard needs is not installed`);
  }
}

/** Every file the dashboard serves, keyed by its path below /ui/. */
export function loadUiAssets(uiDir: string = findUiDir()): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(uiDir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { body: readFileSync(join(uiDir, name)), type });
  }
  for (const [name, { pkg, file }] of Object.entries(VENDOR_FILES)) {
    const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
    assets.set(`vendor/${name}`, { body: readFileSync(join(packageRoot(pkg), file)), type });
  }
  return assets;
}

function send(res: Response, asset: Asset): void {
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.type(asset.type).send(asset.body);
}

/**
 * GET (and HEAD) /ui, /ui/ and /ui/<file>: a middleware outside the route table, because these are
 * files, not API routes. Anything else falls through to the 404 answer.
 */
export function uiAssets(assets: Map<string, Asset> = loadUiAssets()): RequestHandler {
  const index = assets.get('index.html');
  if (!index) throw new Error('the dashboard has no index.html');
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/ui') return res.redirect(308, '/ui/');
    if (!req.path.startsWith('/ui/')) return next();
    // req.path is not percent-decoded: an encoded or doubled separator names no asset.
    const name = req.path.slice('/ui/'.length);
    const asset = name === '' ? index : assets.get(name);
    if (asset) send(res, asset);
    else next();
  };
}
