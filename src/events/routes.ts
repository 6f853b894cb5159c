/**
 * HTTP shell for trust events: the long-poll feed for schedulers and the webhook admin API.
 * Documented in README.md.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import type { TrustEventHub } from './hub.ts';
import { pollTrustEvents } from './long-poll.ts';
import { WEBHOOK_ID_RE, type WebhookRegistry } from './webhooks/registry.ts';
import {
  DEFAULT_EVENT_LIMIT,
  DEFAULT_POLL_TIMEOUT_S,
  MAX_EVENT_LIMIT,
  MAX_POLL_TIMEOUT_S,
  PollQuerySchema,
  PutWebhookSchema,
} from '../http/schemas.ts';

export { DEFAULT_EVENT_LIMIT, DEFAULT_POLL_TIMEOUT_S, MAX_EVENT_LIMIT, MAX_POLL_TIMEOUT_S };

export interface EventsDeps {
  store: Pick<Store, 'trustEventsAfter'>;
  hub: TrustEventHub;
  requireRole(...roles: Array<'admin' | 'scheduler' | 'broker'>): RequestHandler;
  /** Omit to serve no webhook endpoints. */
  webhooks?: WebhookRegistry;
  /** Concurrent long-polls allowed before answering 429 (default 1000). */
  maxWaiters?: number;
  /** Store re-check period while a long-poll waits (default 1000 ms). */
  recheckMs?: number;
  /** Body parser for PUT /v1/webhooks/:id (the service's strictJsonBody(limit)); omit if the app parses JSON globally. */
  jsonBody?: RequestHandler[];
}

function webhookIdParam(req: Request): string {
  const id = req.params['id'];
  if (typeof id !== 'string' || !WEBHOOK_ID_RE.test(id)) throw new ApiError(400, 'invalid_request', 'webhook ids are 1-128 characters from [A-Za-z0-9._:-]');
  return id;
}

export function createEventsRouter(deps: EventsDeps): Router {
  const router = express.Router();
  const maxWaiters = deps.maxWaiters ?? 1000;

  router.get('/v1/events', deps.requireRole('scheduler', 'admin'), async (req, res) => {
    const q = PollQuerySchema.safeParse(req.query);
    if (!q.success) {
      throw new ApiError(400, 'invalid_request', `after is a sequence number >= 0, timeout 0-${MAX_POLL_TIMEOUT_S} seconds, limit 1-${MAX_EVENT_LIMIT}`);
    }
    const timeoutS = q.data.timeout ?? DEFAULT_POLL_TIMEOUT_S;
    if (timeoutS > 0 && deps.hub.waiting >= maxWaiters) {
      throw new ApiError(429, 'rate_limited', 'too many concurrent long-polls; retry shortly');
    }
    const aborter = new AbortController();
    // A client that hangs up stops its wait at once instead of holding a waiter for up to a minute.
    res.on('close', () => aborter.abort());
    const result = await pollTrustEvents({
      store: deps.store,
      hub: deps.hub,
      after: q.data.after ?? 0,
      limit: q.data.limit ?? DEFAULT_EVENT_LIMIT,
      timeoutMs: timeoutS * 1000,
      signal: aborter.signal,
      ...(deps.recheckMs !== undefined ? { recheckMs: deps.recheckMs } : {}),
    });
    if (aborter.signal.aborted && !res.writable) return;
    res.set('Cache-Control', 'no-store').json(result);
  });

  const registry = deps.webhooks;
  if (registry === undefined) return router;
  const admin = deps.requireRole('admin');

  router.get('/v1/webhooks', admin, (_req, res) => {
    res.json({ webhooks: registry.list().map(({ id, url, updatedAt }) => ({ id, url, updatedAt })) });
  });

  router.put('/v1/webhooks/:id', admin, ...(deps.jsonBody ?? []), async (req, res) => {
    const id = webhookIdParam(req);
    const body = PutWebhookSchema.safeParse(req.body);
    if (!body.success) throw new ApiError(400, 'invalid_request', body.error.issues[0]?.message ?? 'send {"url": "https://...", "secret": base64}');
    const updatedAt = new Date().toISOString();
    let outcome: 'created' | 'updated';
    try {
      outcome = await registry.put({ id, url: body.data.url, secret: body.data.secret, updatedAt });
    } catch (err) {
      if ((err as Error).name === 'WebhookRegistryError') throw new ApiError(409, 'webhook_limit', (err as Error).message);
      throw err;
    }
    res.status(outcome === 'created' ? 201 : 200).json({ id, url: body.data.url, updatedAt });
  });

  router.delete('/v1/webhooks/:id', admin, async (req, res) => {
    const id = webhookIdParam(req);
    if (!(await registry.delete(id))) throw new ApiError(404, 'webhook_not_found', `no webhook ${id}`);
    res.status(204).end();
  });

  return router;
}
