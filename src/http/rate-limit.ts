/**
 * A token bucket per key (client address, host id) for the unauthenticated routes that cost work.
 * In memory: with several replicas each enforces its own share, which is enough against floods.
 */
import type { Request, RequestHandler } from 'express';
import { ApiError } from '../util/errors.ts';

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_TRACKED = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    /** Sustained requests per minute; 0 disables. */
    readonly perMinute: number,
    /** Requests allowed at once before the rate applies. */
    readonly burst: number = Math.max(1, Math.ceil(perMinute / 2)),
  ) {
    this.perMs = perMinute / 60_000;
  }

  take(key: string, now: number = Date.now()): boolean {
    if (this.perMinute === 0) return true;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that have refilled: they hold no information. */
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(k);
    }
    if (this.buckets.size >= MAX_TRACKED) this.buckets.clear();
  }
}

export function rateLimit(limiter: RateLimiter, keyOf: (req: Request) => string, what: string): RequestHandler {
  return (req, res, next) => {
    if (!limiter.take(keyOf(req))) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(60 / Math.max(1, limiter.perMinute)))));
      throw new ApiError(429, 'rate_limited', `too many requests for this ${what}; retry later`);
    }
    next();
  };
}
