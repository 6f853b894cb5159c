/**
 * Request id, access log and latency metric, and the headers every answer carries. Logs the
 * method, route pattern, status and time, never headers or bodies (they carry API keys, tokens
 * and secrets).
 *
 * Kept instead of pino-http, which does the same job at three times the cost on the hot path:
 * configured to log the same line (quiet request logger, custom success object), it takes 22 µs
 * of CPU per request against 7 µs here (`npm run bench -- libraries`, medians of interleaved
 * rounds), for a child logger and three listeners per request. The HTTP layer stays lean.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLog(log: Logger, metrics: Metrics): RequestHandler {
  // One listener for every answer (`this` is the response): no closure per request.
  function finished(this: Response): void {
    const req = this.req;
    const ms = performance.now() - (this.locals.startedAt as number);
    // The pattern, not the URL: host ids in paths would explode the label set.
    const route = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path as string}` : 'unmatched';
    const status = this.statusCode;
    metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, ms / 1000);
    log.info({ reqId: this.locals.requestId as string, method: req.method, route, status, ms: Math.round(ms * 10) / 10 }, 'request');
  }
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.locals.startedAt = performance.now();
    res.setHeader('X-Request-Id', requestId);
    // Here rather than in a middleware of their own: one fewer dispatch per request.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.on('finish', finished);
    next();
  };
}
