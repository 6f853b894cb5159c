/** Unauthenticated service endpoints: health, metrics, the token verification keys. */
import { Router } from 'express';
import type { AppContext } from '../context.ts';

export function publicRoutes(ctx: AppContext): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  r.get('/.well-known/jwks.json', (_req, res) => {
    // Short cache: relying parties pick up a rotation within a minute.
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(ctx.keyring.jwks(ctx.now()));
  });
  return r;
}
