/**
 * Token signing-key administration. Rotation starts signing with a fresh ES256 key; the previous
 * keys stop signing but stay in the JWKS until every token they signed has expired, so relying
 * parties that verify with the JWKS alone never see a valid token fail.
 */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { requireRole } from '../auth.ts';

export function keyRoutes(ctx: AppContext): Router {
  const r = Router();
  const admin = requireRole(ctx.apiKeys, 'admin');

  r.post('/v1/keys/rotate', admin, async (_req, res) => {
    const now = ctx.now();
    const kid = await ctx.keyring.rotate(now);
    ctx.log.info({ kid }, 'token signing key rotated');
    res.status(201).json({ kid, published: ctx.keyring.jwks(now).keys.map((k) => k.kid) });
  });

  return r;
}
