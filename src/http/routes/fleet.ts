/** History, changes, drift groups, their acceptance and the census (contract §6). */
import { Router, type Request } from 'express';
import type { AppContext } from '../context.ts';
import { strictJsonBody } from '../body.ts';
import { requireRole } from '../auth.ts';
import { parseWith } from '../validate.ts';
import { AppraisalListQuerySchema, DEFAULT_PAGE_LIMIT, DRIFT_GROUP_ID_RE, DriftAcceptRequestSchema, PROFILE_NAME_RE } from '../schemas.ts';
import { ApiError } from '../../util/errors.ts';
import { appraisalHistory } from '../../fleet/history.ts';
import { hostIdOf } from './hosts.ts';

function groupIdOf(req: Request): string {
  const id = req.params.groupId;
  if (typeof id !== 'string' || !DRIFT_GROUP_ID_RE.test(id)) throw new ApiError(400, 'invalid_group_id', 'a drift group id is 32 lower-case hex digits');
  return id;
}

function profileNameOf(req: Request): string {
  const name = req.params.name;
  if (typeof name !== 'string' || !PROFILE_NAME_RE.test(name)) {
    throw new ApiError(400, 'invalid_profile_name', 'a profile name is 1-128 characters from [A-Za-z0-9._:-]');
  }
  return name;
}

function noQuery(req: Request): void {
  if (Object.keys(req.query).length > 0) throw new ApiError(400, 'invalid_request', 'this route takes no query parameters');
}

export function fleetRoutes(ctx: AppContext): Router {
  const r = Router();
  const json = strictJsonBody(ctx.config.bodyLimitBytes);
  const reader = requireRole(ctx.apiKeys, 'scheduler');
  const admin = requireRole(ctx.apiKeys, 'admin');

  r.get('/v1/hosts/:hostId/appraisals', reader, async (req, res) => {
    const hostId = hostIdOf(req);
    const q = parseWith(AppraisalListQuerySchema, req.query, 'query');
    res.json(await appraisalHistory(ctx.store, hostId, q.limit ?? DEFAULT_PAGE_LIMIT, q.before));
  });

  r.get('/v1/hosts/:hostId/changes', reader, async (req, res) => {
    const hostId = hostIdOf(req);
    noQuery(req);
    res.json(await ctx.fleet.changes.hostChanges(hostId));
  });

  r.get('/v1/drift', reader, async (req, res) => {
    noQuery(req);
    res.json({ groups: await ctx.fleet.drift.list() });
  });

  r.get('/v1/drift/acceptances', admin, async (req, res) => {
    noQuery(req);
    res.json({ acceptances: await ctx.store.listDriftAcceptances() });
  });

  r.post('/v1/drift/:groupId/accept', admin, ...json, async (req, res) => {
    const groupId = groupIdOf(req);
    const body = parseWith(DriftAcceptRequestSchema, req.body);
    const keyId = typeof res.locals.keyId === 'string' ? res.locals.keyId : 'unknown';
    const out = await ctx.fleet.drift.accept(groupId, body.note, keyId, ctx.now());
    res.status(out.status).json(out.body);
  });

  r.get('/v1/golden/:name/census', reader, async (req, res) => {
    const name = profileNameOf(req);
    noQuery(req);
    res.json(await ctx.fleet.census.census(name));
  });

  return r;
}
