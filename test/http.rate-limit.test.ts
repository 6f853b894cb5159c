/** Client budgets: one per IPv4 address, one per IPv6 /64 (rate-limiter-flexible underneath). */
import { describe, it, expect } from 'vitest';
import { RateLimiter, clientKey, rateLimit } from '../src/http/rate-limit.ts';
import { ApiError } from '../src/util/errors.ts';

describe('clientKey', () => {
  it('keys IPv4 (also IPv4-mapped IPv6) by address and IPv6 by its /64', () => {
    expect(clientKey('10.1.2.3')).toBe('ip:10.1.2.3');
    expect(clientKey('::ffff:10.1.2.3')).toBe('ip:10.1.2.3');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('ip6:2001:db8:1:2');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('ip6:2001:db8:1:2');
    expect(clientKey('2001:0db8:0001:0002::')).toBe('ip6:2001:db8:1:2');
    expect(clientKey('2001:db8::7')).toBe('ip6:2001:db8:0:0');
    expect(clientKey('::1')).toBe('ip6:0:0:0:0');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey(undefined)).toBe('ip:unknown');
  });
});

describe('rateLimit', () => {
  it('lets `perMinute` requests of a key through, then answers 429 with Retry-After; other keys are unaffected', async () => {
    const mw = rateLimit(new RateLimiter(3), (req) => clientKey(req.ip), 'client');
    const call = (ip: string) =>
      new Promise<{ err: unknown; retryAfter: string | undefined }>((resolve) => {
        let retryAfter: string | undefined;
        mw({ ip } as never, { setHeader: (_k: string, v: string) => (retryAfter = v) } as never, (err?: unknown) => resolve({ err, retryAfter }));
      });
    for (let i = 0; i < 3; i++) expect((await call(`2001:db8:1:2::${i}`)).err).toBeUndefined();
    const refused = await call('2001:db8:1:2::99');
    expect(refused.err).toBeInstanceOf(ApiError);
    expect((refused.err as ApiError).status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await call('2001:db8:1:3::1')).err).toBeUndefined();
    expect((await call('10.0.0.1')).err).toBeUndefined();
  });

  it('is a no-op when disabled', async () => {
    const mw = rateLimit(new RateLimiter(0), () => 'k', 'client');
    for (let i = 0; i < 100; i++) await new Promise<void>((resolve, reject) => mw({} as never, {} as never, (err?: unknown) => (err ? reject(err) : resolve())));
  });
});
