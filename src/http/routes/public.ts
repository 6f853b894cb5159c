/** Unauthenticated service endpoints: health, metrics, the token verification keys. */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { sendError } from '../errors.ts';

export function publicRoutes(ctx: AppContext): Router {
  const r = Router();
  // Unhealthy when the store refuses writes (a failed fsync): a supervisor should restart the service.
  r.get('/healthz', async (_req, res) => {
    const h = await ctx.store.health();
    if (h.ok) res.json({ status: 'ok' });
    else sendError(res, 503, 'storage_unavailable', h.reason);
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
