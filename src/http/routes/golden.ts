/** Golden profiles admin API (contract §4). */
import { Router, type Request } from 'express';
import type { AppContext } from '../context.ts';
import { strictJsonBody } from '../body.ts';
import { requireRole } from '../auth.ts';
import { parseWith } from '../validate.ts';
import { PROFILE_NAME_RE, VersionQuerySchema } from '../schemas.ts';
import { ApiError } from '../../util/errors.ts';

function nameOf(req: Request): string {
  const name = req.params.name;
  if (typeof name !== 'string' || !PROFILE_NAME_RE.test(name)) {
    throw new ApiError(400, 'invalid_profile_name', 'a profile name is 1-128 characters from [A-Za-z0-9._:-]');
  }
  return name;
}

export function goldenRoutes(ctx: AppContext): Router {
  const r = Router();
  const json = strictJsonBody(ctx.config.bodyLimitBytes);
  const admin = requireRole(ctx.apiKeys, 'admin');

  r.get('/v1/golden', admin, async (_req, res) => {
    res.json({ profiles: await ctx.profiles.list() });
  });

  r.get('/v1/golden/:name', admin, async (req, res) => {
    const name = nameOf(req);
    const q = parseWith(VersionQuerySchema, req.query, 'query');
    const rec = await ctx.profiles.get(name, q.version);
    if (!rec) throw new ApiError(404, 'unknown_profile', `no golden profile ${name}${q.version ? `@${q.version}` : ''}`);
    res.setHeader('X-Bootgate-Profile-Version', rec.version);
    res.setHeader('X-Bootgate-Profile-Source', rec.source);
    res.type('application/json').send(rec.document);
  });

  r.put('/v1/golden/:name', admin, ...json, async (req, res) => {
    const name = nameOf(req);
    if (req.body === undefined) throw new ApiError(400, 'invalid_request', 'send the profile document as the request body');
    const out = await ctx.profiles.put(name, req.body, ctx.now());
    res.status(out.created ? 201 : 200).json({ name: out.name, version: out.version });
  });
  return r;
}
