/**
 * HTTP shell of the key broker (contract §3.5 and its additions documented in README.md).
 * Validation, decisions and crypto live in policy.ts, release.ts, token-check.ts, binding-key.ts.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { ApiError } from '../util/errors.ts';
import { fromBase64, toBase64 } from '../util/encoding.ts';
import type { BrokerDeps } from './deps.ts';
import { sealSecret } from './envelope.ts';
import { IntrospectRequestSchema, MAX_SECRET_BYTES, PutSecretSchema, RevokeTokenSchema } from '../http/schemas.ts';
import { releaseSecret } from './release.ts';
import { checkAttestationToken } from './token-check.ts';

export const SECRET_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export { MAX_SECRET_BYTES };

function secretNameParam(req: Request): string {
  const name = req.params['name'];
  if (typeof name !== 'string' || !SECRET_NAME_RE.test(name)) {
    throw new ApiError(400, 'invalid_secret_name', 'secret names are 1-128 characters from [A-Za-z0-9._:-]');
  }
  return name;
}

function bodyObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid_request', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  if (header === undefined) return undefined;
  const m = /^Bearer +([^\s]+) *$/i.exec(header);
  return m?.[1];
}

/** Client address and user agent for the audit trail, bounded and stripped of control characters. */
export function callerOf(req: Request): string {
  const clean = (s: string, max: number) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
  const ip = clean(req.ip ?? req.socket.remoteAddress ?? 'unknown', 64);
  const ua = clean(req.get('user-agent') ?? '-', 200);
  return `ip=${ip} ua=${ua}`;
}

function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
}

/** Introspection accepts a form body (RFC 7662) or JSON: the JSON parser must not swallow a form. */
function formOrJson(json: RequestHandler[]): RequestHandler[] {
  const isForm = (req: Request) => typeof req.is('application/x-www-form-urlencoded') === 'string';
  return [
    ...json.map((h): RequestHandler => (req, res, next) => (isForm(req) ? next() : h(req, res, next))),
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 }),
  ];
}

export function createBrokerRouter(deps: BrokerDeps): Router {
  const router = express.Router();
  const admin = deps.requireRole('admin');
  const json = deps.jsonBody ?? [];

  router.put('/v1/secrets/:name', admin, ...json, async (req, res) => {
    const name = secretNameParam(req);
    const body = PutSecretSchema.safeParse(bodyObject(req));
    if (!body.success) {
      const issue = body.error.issues[0];
      // A policy problem has its own code: the operator's list is wrong, not the request's shape.
      if (issue?.path[0] === 'policy') {
        throw new ApiError(400, 'invalid_policy', issue.message);
      }
      throw new ApiError(400, 'invalid_request', 'send {"value": base64, "policy": {"hosts"?: [...], "profiles"?: [...]}}');
    }
    const value = fromBase64(body.data.value);
    if (value === null || value.length === 0 || value.length > MAX_SECRET_BYTES) {
      throw new ApiError(400, 'invalid_request', `value must be base64 of 1 to ${MAX_SECRET_BYTES} bytes`);
    }
    const policy = body.data.policy;
    const existed = (await deps.store.getSecret(name)) !== undefined;
    const updatedAt = deps.now().toISOString();
    try {
      await deps.store.putSecret({ name, ciphertext: toBase64(sealSecret(deps.masterKey, name, value)), policy, updatedAt });
    } finally {
      value.fill(0);
    }
    noStore(res);
    res.status(existed ? 200 : 201).json({ name, policy, updatedAt });
  });

  router.get('/v1/secrets/:name', admin, async (req, res) => {
    const name = secretNameParam(req);
    const secret = await deps.store.getSecret(name);
    if (secret === undefined) throw new ApiError(404, 'secret_not_found', `no secret named ${name}`);
    res.json({ name, policy: secret.policy, updatedAt: secret.updatedAt });
  });

  router.post('/v1/secrets/:name/release', ...json, async (req, res) => {
    const secretName = secretNameParam(req);
    const body: unknown = req.body;
    const bindingJwk = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)['jwk'] : undefined;
    const result = await releaseSecret({ token: bearerToken(req), secretName, bindingJwk, caller: callerOf(req), deps });
    deps.onRelease?.(result.ok ? 'released' : 'refused', result.ok ? 'released' : result.code);
    noStore(res);
    if (!result.ok) {
      if (result.status === 401) res.set('WWW-Authenticate', 'Bearer realm="bootgate", error="invalid_token"');
      throw new ApiError(result.status, result.code, result.reason);
    }
    res.status(200).json({ jwe: result.jwe });
  });

  router.get('/v1/secrets/:name/releases', admin, async (req, res) => {
    const name = secretNameParam(req);
    res.json({ releases: await deps.store.listReleases(name) });
  });

  router.post('/v1/tokens/revoke', admin, ...json, async (req, res) => {
    const body = RevokeTokenSchema.safeParse(bodyObject(req));
    if (!body.success) throw new ApiError(400, 'invalid_request', 'send {"jti": "<token id>"}');
    const at = deps.now();
    await deps.store.revokeToken(body.data.jti, null, at, null);
    res.json({ jti: body.data.jti, revoked: true, revokedAt: at.toISOString() });
  });

  router.post('/v1/hosts/:hostId/revoke', admin, async (req, res) => {
    const hostId = req.params['hostId'];
    if (typeof hostId !== 'string' || !HOST_ID_RE.test(hostId)) {
      throw new ApiError(400, 'invalid_host_id', 'hostId is 1-128 characters from [A-Za-z0-9._:-]');
    }
    const host = await deps.store.getHost(hostId);
    if (host === undefined) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    const at = deps.now();
    await deps.store.revokeHost(hostId, at);
    // The store keeps only the latest appraisals per host; their tokens are the only ones the broker
    // would honour anyway (token_superseded), and host_revoked refuses every other one.
    const revoked = new Set<string>();
    for (const a of [await deps.store.lastPassingAppraisal(hostId), await deps.store.lastAppraisal(hostId)]) {
      if (a?.tokenId === undefined || revoked.has(a.tokenId)) continue;
      const exp = a.tokenExpiresAt !== undefined ? new Date(a.tokenExpiresAt) : null;
      if (exp !== null && exp.getTime() <= at.getTime()) continue;
      await deps.store.revokeToken(a.tokenId, hostId, at, exp);
      revoked.add(a.tokenId);
    }
    const event = await deps.store.appendTrustEvent({ hostId, kind: 'revoked', at: at.toISOString(), detail: { revokedTokens: revoked.size } });
    deps.onTrustEvent(event);
    res.json({ hostId, revokedAt: host.revokedAt ?? at.toISOString(), revokedTokens: revoked.size });
  });

  // RFC 7662 allows form-encoded requests; body-parser leaves an already parsed body alone.
  router.post('/v1/tokens/introspect', deps.requireRole('broker', 'admin'), ...formOrJson(json), async (req, res) => {
    const parsed = IntrospectRequestSchema.safeParse(req.body);
    if (!parsed.success) throw new ApiError(400, 'invalid_request', 'send the token as {"token": "..."} or form field token');
    const token = parsed.data.token;
    noStore(res);
    const check = await checkAttestationToken(token, deps);
    if (!check.ok) {
      res.json({ active: false });
      return;
    }
    const c = check.claims;
    res.json({
      active: true,
      token_type: 'attestation',
      iss: c.iss,
      sub: c.sub,
      iat: c.iat,
      exp: c.exp,
      jti: c.jti,
      appraisal: c.appraisal,
      profile: c.profile ?? null,
      ...(c.cnf !== undefined ? { cnf: c.cnf } : {}),
    });
  });

  return router;
}
