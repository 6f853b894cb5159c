/**
 * Hostile input to the release checks: arbitrary tokens and binding JWKs produce a typed refusal,
 * never an exception (which would surface as a 5xx).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { checkAttestationToken, checkBindingKey } from '../src/broker/index.ts';
import { FakeStore, hostRecord, makeSigner, signToken } from './helpers/broker-fakes.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('checkAttestationToken on hostile tokens', () => {
  it('refuses arbitrary strings and JWT-shaped junk with a 401 code, never throws', async () => {
    const signer = await makeSigner();
    const store = new FakeStore();
    store.hosts.set('node-1', hostRecord('node-1'));
    const deps = {
      store: store.asStore(),
      getVerificationKeys: async () => [signer.publicJwk],
      issuer: 'iss',
      trustOf: async () => ({ status: 'trusted' as const, appraisalId: 'appr-1' }),
      now: () => new Date(),
    };
    const json = fc.jsonValue().map((v) => JSON.stringify(v));
    const header = fc.oneof(json, fc.record({ alg: fc.oneof(fc.constant('ES256'), fc.string()), kid: fc.oneof(fc.constant(signer.kid), fc.string()) }).map((h) => JSON.stringify(h)));
    const jwtish = fc.tuple(header, json, fc.base64String()).map(([h, p, s]) => `${b64(h)}.${b64(p)}.${s.replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_')}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), jwtish), async (token) => {
        const r = await checkAttestationToken(token, deps);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.status).toBe(401);
      }),
      { numRuns: 3000 },
    );
    // The same deps accept a genuine token: the property above is not vacuous.
    const now = Math.floor(Date.now() / 1000);
    const good = await signToken(signer, { iss: 'iss', sub: 'node-1', iat: now, exp: now + 60 });
    expect((await checkAttestationToken(good, deps)).ok).toBe(true);
  });
});

describe('checkBindingKey on hostile JWKs', () => {
  it('refuses arbitrary values with invalid_binding_key or binding_key_mismatch, never throws', async () => {
    const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const jkt = await calculateJwkThumbprint(jwk);
    const member = fc.oneof(fc.string(), fc.base64String().map((s) => s.replace(/=/g, '')), fc.constant(jwk.x), fc.constant(jwk.y), fc.integer());
    const jwkish = fc.record(
      { kty: fc.constantFrom('EC', 'RSA', 'oct', 'OKP', 7), crv: fc.constantFrom('P-256', 'P-384', 'X25519'), x: member, y: member, n: member, e: member, d: member },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), jwkish), async (input) => {
        const r = await checkBindingKey(input, jkt);
        if (r.ok) expect(r.key.thumbprint).toBe(jkt);
        else expect(['invalid_binding_key', 'binding_key_mismatch']).toContain(r.code);
      }),
      { numRuns: 3000 },
    );
    expect((await checkBindingKey(jwk, jkt)).ok).toBe(true);
    // Extra public members (kid, use, alg) do not change the thumbprint match.
    expect((await checkBindingKey({ ...jwk, kid: 'k', use: 'enc' }, jkt)).ok).toBe(true);
  });

  it('accepts members that are plain alphanumerics (unpadded base64url with no - or _)', async () => {
    let found = 0;
    for (let tries = 0; found < 3 && tries < 500; tries++) {
      const jwk = await exportJWK((await generateKeyPair('ECDH-ES+A256KW', { extractable: true })).publicKey);
      if (/[-_]/.test(`${jwk.x}${jwk.y}`)) continue;
      found++;
      expect((await checkBindingKey(jwk, await calculateJwkThumbprint(jwk))).ok).toBe(true);
    }
    expect(found).toBe(3);
  });

  it('refuses RSA keys below 2048 bits', async () => {
    // jose refuses to generate such a key, so Node makes it.
    const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const r = await checkBindingKey(jwk, await calculateJwkThumbprint(jwk));
    expect(r).toMatchObject({ ok: false, status: 400, code: 'invalid_binding_key' });
    if (!r.ok) expect(r.reason).toContain('1024 bits');
  });
});
