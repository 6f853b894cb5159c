/** Nonces and attestations (host-facing, unauthenticated), trust status and host administration. */
import { Router, type Request } from 'express';
import type { AppContext } from '../context.ts';
import { strictJsonBody } from '../body.ts';
import { requireRole } from '../auth.ts';
import { clientKey, rateLimits } from '../rate-limit.ts';
import { base64Field, parseWith } from '../validate.ts';
import { sendJson } from '../respond.ts';
import { AttestationRequestSchema, DEFAULT_PAGE_LIMIT, HOST_ID_RE, HostListQuerySchema, HostUpdateSchema } from '../schemas.ts';
import { ApiError } from '../../util/errors.ts';
import { fromHex } from '../../util/encoding.ts';
import type { HashAlg, PcrBanks } from '../../tpm/alg.ts';
import { DIGEST_SIZE } from '../../tpm/alg.ts';

export function hostIdOf(req: Request): string {
  const id = req.params.hostId;
  if (typeof id !== 'string' || !HOST_ID_RE.test(id)) {
    throw new ApiError(400, 'invalid_host_id', 'hostId is 1-128 characters from [A-Za-z0-9._:-]');
  }
  return id;
}

function claimedPcrs(pcrs: Partial<Record<HashAlg, Partial<Record<string, string>>>>): PcrBanks {
  const out: PcrBanks = {};
  for (const [bank, values] of Object.entries(pcrs) as Array<[HashAlg, Partial<Record<string, string>>]>) {
    const m = new Map<number, Uint8Array>();
    for (const [index, hex] of Object.entries(values)) {
      const bytes = hex === undefined ? null : fromHex(hex);
      if (bytes === null || bytes.length !== DIGEST_SIZE[bank]) {
        throw new ApiError(400, 'invalid_pcrs', `pcrs.${bank}.${index} must be ${DIGEST_SIZE[bank]} bytes of hex`);
      }
      m.set(Number(index), bytes);
    }
    out[bank] = m;
  }
  return out;
}

/**
 * `r`: where the routes go. createApp passes the app's own router: these two routes carry almost
 * all the traffic, and a nested router costs each request a second dispatch (`npm run bench -- http`).
 */
export function hostRoutes(ctx: AppContext, r: Router = Router()): Router {
  const json = strictJsonBody(ctx.config.bodyLimitBytes);
  const budgets = rateLimits(ctx.limiter, [
    { keyOf: (req) => clientKey(req.ip), what: 'client' },
    { keyOf: (req) => `host:${String(req.params.hostId)}`, what: 'host' },
  ]);
  // A disabled limiter (rate 0) lets everything through: no need to dispatch to it.
  const limits = ctx.limiter.perMinute === 0 ? [] : [budgets];
  const reader = requireRole(ctx.apiKeys, 'scheduler');
  const admin = requireRole(ctx.apiKeys, 'admin');

  r.post('/v1/hosts/:hostId/nonce', ...limits, ...json, async (req, res) => {
    const hostId = hostIdOf(req);
    if (req.body !== undefined && !(typeof req.body === 'object' && req.body !== null && Object.keys(req.body).length === 0)) {
      throw new ApiError(400, 'invalid_request', 'the nonce request takes no body (or an empty object)');
    }
    sendJson(res, 201, await ctx.attestation.issueNonce(hostId, ctx.now()));
  });

  r.post('/v1/hosts/:hostId/attestations', ...limits, ...json, async (req, res) => {
    const hostId = hostIdOf(req);
    const body = parseWith(AttestationRequestSchema, req.body);
    const result = await ctx.attestation.attest(
      hostId,
      {
        nonce: base64Field('nonce', body.nonce),
        quote: base64Field('quote', body.quote),
        signature: base64Field('signature', body.signature),
        eventLog: base64Field('eventLog', body.eventLog),
        ...(body.bindingKey !== undefined ? { bindingKey: body.bindingKey } : {}),
        ...(body.pcrs !== undefined ? { pcrs: claimedPcrs(body.pcrs) } : {}),
      },
      ctx.now(),
    );
    sendJson(res, 200, result);
  });

  r.get('/v1/hosts', reader, async (req, res) => {
    const q = parseWith(HostListQuerySchema, req.query, 'query');
    res.json(await ctx.hosts.page(ctx.now(), q.trust, q.limit ?? DEFAULT_PAGE_LIMIT, q.after));
  });

  r.get('/v1/hosts/:hostId', reader, async (req, res) => {
    res.json(await ctx.hosts.get(hostIdOf(req), ctx.now()));
  });

  r.put('/v1/hosts/:hostId', admin, ...json, async (req, res) => {
    const hostId = hostIdOf(req);
    const body = parseWith(HostUpdateSchema, req.body);
    res.json(await ctx.hosts.setProfiles(hostId, body.profiles, ctx.now()));
  });

  r.delete('/v1/hosts/:hostId', admin, async (req, res) => {
    await ctx.hosts.delete(hostIdOf(req), ctx.now());
    res.status(204).end();
  });

  return r;
}
