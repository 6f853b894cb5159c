/** Unauthenticated service endpoints: health, metrics, the token verification keys. */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { sendError } from '../errors.ts';
import { StoreError } from '../../store/errors.ts';

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
  r.get('/.well-known/jwks.json', async (_req, res) => {
    // Read from the store each time, so a rotation by another replica is published here at once.
    // With the database unreachable the keys already known are served: tokens keep verifying.
    try {
      await ctx.keyring.refresh();
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
    }
    // Short cache: relying parties pick up a rotation within a minute.
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.json(ctx.keyring.jwks(ctx.now()));
  });
  return r;
}
