/**
 * Per-key request budgets (client address, host id) for the unauthenticated routes that cost work,
 * with rate-limiter-flexible: `perMinute` requests per key in each 60-second window. In memory:
 * with several replicas each enforces its own budget, which is enough against floods.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../util/errors.ts';

export class RateLimiter {
  readonly limiter: RateLimiterMemory | undefined;

  /** `perMinute` 0 disables. */
  constructor(readonly perMinute: number) {
    this.limiter = perMinute > 0 ? new RateLimiterMemory({ points: perMinute, duration: 60 }) : undefined;
  }
}

/**
 * The client budget's key: the IPv4 address, or the IPv6 /64 (a host is given a whole /64, so
 * its addresses are one client; per address, one host could mint budgets without end).
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined) return 'ip:unknown';
  const mapped = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIPv4(mapped)) return `ip:${mapped}`;
  if (!isIPv6(ip)) return `ip:${ip.slice(0, 64)}`;
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `ip6:${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}`;
}

export interface Budget {
  keyOf(req: Request): string;
  /** Named in the 429 answer: "too many requests for this <what>". */
  what: string;
}

export function rateLimit(limiter: RateLimiter, keyOf: (req: Request) => string, what: string): RequestHandler {
  return rateLimits(limiter, [{ keyOf, what }]);
}

/**
 * Several budgets in one middleware, spent in order; the first refusal answers 429 and spares the
 * later budgets. One layer instead of one per budget: one express dispatch per request, not two.
 */
export function rateLimits(limiter: RateLimiter, budgets: Budget[]): RequestHandler {
  const rl = limiter.limiter;
  if (!rl) return (_req, _res, next) => next();
  return async (req, res, next) => {
    for (const budget of budgets) {
      try {
        await rl.consume(budget.keyOf(req));
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) return next(refusal);
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(refusal.msBeforeNext / 1000))));
        return next(new ApiError(429, 'rate_limited', `too many requests for this ${budget.what}; retry later`));
      }
    }
    next();
  };
}
