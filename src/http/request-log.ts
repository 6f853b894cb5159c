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
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLog(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    // Here rather than in a middleware of their own: one fewer dispatch per request.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The pattern, not the URL: host ids in paths would explode the label set.
      const route = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path as string}` : 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      log.info(
        { reqId: requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 },
        'request',
      );
    });
    next();
  };
}
