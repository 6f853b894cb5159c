/**
 * Why the request logger stays hand-written (issue 15): it is measured against pino-http
 * configured to write the same line, in interleaved A/B rounds in one process, so the shared
 * machine's load hits both sides alike. The figures are CPU per request: what the hot path pays.
 * Alongside, what the rate limiter (rate-limiter-flexible) costs a request.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { Metrics } from '../src/http/metrics.ts';
import { requestLog } from '../src/http/request-log.ts';
import { RateLimiter, rateLimit } from '../src/http/rate-limit.ts';

const ROUNDS = 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

function cpuMicros<T>(fn: () => T): [T, number] {
  const t = process.cpuUsage();
  const out = fn();
  const u = process.cpuUsage(t);
  return [out, u.user + u.system];
}

/** pino-http set up to log what src/http/request-log.ts logs. */
function pinoHttpLog(log: pino.Logger, metrics: Metrics): RequestHandler {
  const access = pinoHttp({
    logger: log,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customAttributeKeys: { reqId: 'reqId' },
    quietReqLogger: true,
    quietResLogger: true,
    customSuccessMessage: () => 'request',
    customSuccessObject: (req, res, val: { responseTime: number }) => ({ method: req.method, route: '/v1/hosts/:hostId/attestations', status: res.statusCode, ms: val.responseTime }),
  });
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const start = process.hrtime.bigint();
    res.on('finish', () => metrics.httpDuration.observe({ method: req.method, route: 'r', status: '200' }, Number(process.hrtime.bigint() - start) / 1e9));
    access(req, res);
    next();
  };
}

function fakeExchange(): { req: any; res: any } {
  const res: any = new EventEmitter();
  const headers: Record<string, unknown> = {};
  Object.assign(res, { locals: {}, statusCode: 200, setHeader: (k: string, v: unknown) => (headers[k] = v), getHeader: (k: string) => headers[k] });
  const req: any = new EventEmitter();
  Object.assign(req, { headers: {}, method: 'POST', url: '/v1/hosts/h/attestations', baseUrl: '', route: { path: '/v1/hosts/:hostId/attestations' }, ip: '10.0.0.1', params: { hostId: 'h' } });
  // As express links them: the request log reads the request from its response.
  res.req = req;
  return { req, res };
}

function perRequest(mw: RequestHandler, n: number): number {
  const [, us] = cpuMicros(() => {
    for (let i = 0; i < n; i++) {
      const { req, res } = fakeExchange();
      mw(req, res, () => undefined);
      res.emit('finish');
    }
  });
  return us / n;
}

async function perLimitedRequest(mw: RequestHandler | undefined, n: number): Promise<number> {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const { req, res } = fakeExchange();
    req.ip = `10.0.${i % 250}.${i % 7}`;
    if (mw) await new Promise<void>((resolve) => mw(req, res, () => resolve()));
    else await Promise.resolve();
  }
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}

export async function bench(): Promise<Record<string, unknown>> {
  const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const metrics = new Metrics();
  const ours = requestLog(log, metrics);
  const lib = pinoHttpLog(log, metrics);
  const limiter = rateLimit(new RateLimiter(1_000_000), (req) => `ip:${req.ip ?? ''}`, 'client');
  // Warm both up (JIT).
  perRequest(ours, 5000);
  perRequest(lib, 5000);
  const r = { ours: [] as number[], pinoHttp: [] as number[], limiter: [] as number[], noLimiter: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    r.ours.push(perRequest(ours, 30_000));
    r.pinoHttp.push(perRequest(lib, 30_000));
    r.limiter.push(await perLimitedRequest(limiter, 30_000));
    r.noLimiter.push(await perLimitedRequest(undefined, 30_000));
  }
  return {
    rounds: ROUNDS,
    requestLog: { cpuMicrosPerRequest: { ours: round(median(r.ours)), pinoHttp: round(median(r.pinoHttp)) }, ratio: round(median(r.pinoHttp) / median(r.ours)) },
    rateLimit: { cpuMicrosPerRequest: { rateLimiterFlexible: round(median(r.limiter)), none: round(median(r.noLimiter)) } },
    note: 'medians of interleaved rounds in one process; CPU of every thread of the process',
  };
}
