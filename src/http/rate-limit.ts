/**
 * Per-key request budgets (client address, host id) for the unauthenticated routes that cost work,
 * with rate-limiter-flexible: `perMinute` requests per key in each 60-second window. In memory:
 * with several replicas each enforces its own budget, which is enough against floods.
 */
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

export function rateLimit(limiter: RateLimiter, keyOf: (req: Request) => string, what: string): RequestHandler {
  const rl = limiter.limiter;
  if (!rl) return (_req, _res, next) => next();
  return (req, res, next) => {
    rl.consume(keyOf(req)).then(
      () => next(),
      (refusal: unknown) => {
        if (!(refusal instanceof RateLimiterRes)) return next(refusal);
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(refusal.msBeforeNext / 1000))));
        next(new ApiError(429, 'rate_limited', `too many requests for this ${what}; retry later`));
      },
    );
  };
}
