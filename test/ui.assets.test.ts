/**
 * The dashboard's files over HTTP, without a browser: the CSP allows only 'self', the UI libraries
 * are the npm packages' own bytes, nothing names another origin, no path reaches the file system,
 * and every API path the page uses is a public route of the contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, REPO_ROOT } from './helpers/server.ts';
import { UI_CSP } from '../src/http/routes/ui.ts';

const UI_DIR = join(REPO_ROOT, 'ui');
const uiFiles = readdirSync(UI_DIR).filter((f) => /\.(html|js|css|svg)$/.test(f));

/** The public read and accept routes of contract §3.3, §4, §6 and the events feed the page may call. */
const PUBLIC_API = [
  /^\/v1\/hosts$/,
  /^\/v1\/hosts\/X$/,
  /^\/v1\/hosts\/X\/appraisals$/,
  /^\/v1\/hosts\/X\/changes$/,
  /^\/v1\/drift$/,
  /^\/v1\/drift\/X\/accept$/,
  /^\/v1\/drift\/acceptances$/,
  /^\/v1\/golden$/,
  /^\/v1\/golden\/X\/census$/,
  /^\/v1\/events$/,
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

async function get(path: string): Promise<Response> {
  return fetch(new URL(path, server.baseUrl), { redirect: 'manual' });
}

describe('GET /ui/', () => {
  it('serves the page with a Content-Security-Policy that allows only its own origin', async () => {
    const res = await get('/ui/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy');
    expect(csp).toBe(UI_CSP);
    const directives = new Map(csp!.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name!, sources]));
    for (const [name, sources] of directives) {
      for (const s of sources) expect([`'self'`, `'none'`], `${name} ${s}`).toContain(s);
    }
    for (const name of ['default-src', 'script-src', 'style-src', 'connect-src', 'img-src']) expect(directives.get(name)).toEqual([`'self'`]);
    expect(directives.get('frame-ancestors')).toEqual([`'none'`]);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await res.text()).toContain('<script type="module" src="app.js"></script>');
  });

  it('redirects /ui to /ui/ so relative asset URLs resolve', async () => {
    const res = await get('/ui');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/ui/');
  });

  it('serves every file of ui/ with its type and the CSP', async () => {
    for (const f of uiFiles) {
      const res = await get(`/ui/${f}`);
      expect(res.status, f).toBe(200);
      expect(res.headers.get('content-security-policy'), f).toBe(UI_CSP);
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(UI_DIR, f))), f).toBe(true);
    }
    expect((await get('/ui/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('serves preact, htm and uPlot byte for byte from their installed packages', async () => {
    const require = createRequire(import.meta.url);
    const files = {
      'preact.mjs': join(dirname(require.resolve('preact')), 'preact.mjs'),
      'htm.mjs': join(dirname(require.resolve('htm')), 'htm.mjs'),
      'uPlot.esm.js': join(dirname(require.resolve('uplot')), 'uPlot.esm.js'),
      'uPlot.min.css': join(dirname(require.resolve('uplot')), 'uPlot.min.css'),
    };
    for (const [name, file] of Object.entries(files)) {
      const res = await get(`/ui/vendor/${name}`);
      expect(res.status, name).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(file)), name).toBe(true);
    }
  });

  it('answers 404 in the error shape for anything else, and no path reaches the file system', async () => {
    for (const path of ['/ui/nope.js', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/vendor/..%2f..%2fpackage.json', '/ui/vendor/preact', '/ui/.gitignore', '/ui/APP.JS', '/ui//app.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('not_found');
    }
  });

  it('answers HEAD like GET without a body, and other methods as a path it does not have', async () => {
    const head = await fetch(new URL('/ui/app.js', server.baseUrl), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).toBe(UI_CSP);
    expect(await head.text()).toBe('');
    const post = await fetch(new URL('/ui/', server.baseUrl), { method: 'POST' });
    expect(post.status).toBe(404);
  });

  it('needs no key for its files, while the API behind it still does', async () => {
    expect((await get('/ui/app.js')).status).toBe(200);
    expect((await get('/v1/hosts')).status).toBe(401);
  });
});

describe('the dashboard source', () => {
  it('names no other origin: no CDN, no absolute URL, no inline script or style', () => {
    for (const f of uiFiles) {
      // An SVG's XML namespace is a name, never fetched.
      const text = readFileSync(join(UI_DIR, f), 'utf8').replace('xmlns="http://www.w3.org/2000/svg"', '');
      expect(text, f).not.toMatch(/https?:\/\//i);
      expect(text, f).not.toMatch(/["'(]\s*\/\/[a-z0-9]/i);
      expect(text, f).not.toMatch(/@import/);
    }
    const page = readFileSync(join(UI_DIR, 'index.html'), 'utf8');
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('calls only public routes of the API', () => {
    const used = new Set<string>();
    for (const f of uiFiles.filter((x) => x.endsWith('.js'))) {
      const text = readFileSync(join(UI_DIR, f), 'utf8');
      for (const m of text.matchAll(/[`'"](\/v1\/[^`'"?]*)/g)) used.add(m[1]!.replace(/\$\{[^}]*\}/g, 'X'));
    }
    expect(used.size).toBeGreaterThan(5);
    for (const path of used) expect(PUBLIC_API.some((re) => re.test(path)), path).toBe(true);
  });
});
