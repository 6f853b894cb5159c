/**
 * GET /openapi.json (contract §8) and the human reference at /docs, rendered in the browser by
 * swagger-ui-dist served from its npm package: no asset comes from another origin.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type RequestHandler } from 'express';
import { buildOpenApiDocument } from '../openapi/document.ts';
import { packageVersion } from '../../util/package-root.ts';

const HERE = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs');
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The only files /docs serves: ours, and the renderer's bundle and style. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'init.js': { file: join(HERE, 'init.js'), type: 'text/javascript; charset=utf-8' },
  'swagger-ui-bundle.js': { file: join(SWAGGER_DIR, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { file: join(SWAGGER_DIR, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { file: join(SWAGGER_DIR, 'favicon-32x32.png'), type: 'image/png' },
};

// Swagger UI sets inline styles and shows data: images; scripts only from here.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/** Static files under /docs/, outside the route table: they are not API routes. */
export function docsAssets(): RequestHandler {
  const cache = new Map<string, Buffer>();
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const asset = ASSETS[req.path.slice(1)];
    if (!asset) return next();
    let bytes = cache.get(asset.file);
    if (!bytes) {
      bytes = readFileSync(asset.file);
      cache.set(asset.file, bytes);
    }
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('Content-Security-Policy', CSP);
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };
}

export function docsRoutes(serverUrl: () => string | undefined): Router {
  const r = Router();
  let text: string | undefined;
  const page = readFileSync(join(HERE, 'index.html'));
  r.get('/openapi.json', (_req, res) => {
    // Built on first use: the server's URL is known only once it listens.
    const url = serverUrl();
    text ??= JSON.stringify(buildOpenApiDocument({ version: packageVersion(), ...(url ? { serverUrl: url } : {}) }));
    res.type('application/json').send(text);
  });
  r.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.type('text/html').send(page);
  });
  return r;
}
