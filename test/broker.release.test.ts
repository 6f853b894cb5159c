/**
 * Key release end to end over HTTP: a trusted host's token bound to key A obtains a JWE only key A
 * opens (EC P-256 and RSA), and every refusal answers its own code and leaves an audit row.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createBrokerRouter, type BrokerDeps } from '../src/broker/index.ts';
import type { TrustEventRecord } from '../src/store/types.ts';
import { toBase64 } from '../src/util/encoding.ts';
import { FakeStore, fakeRequireRole, testJsonBody, hostRecord, listen, makeSigner, signToken, testApp, type TestSigner, type TokenOptions } from './helpers/broker-fakes.ts';

const ISS = 'https://bootgate.test';
const NOW = new Date('2026-11-23T18:00:00.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const SECRET = new Uint8Array(randomBytes(48));
const ADMIN = { 'x-test-role': 'admin', 'content-type': 'application/json' };

interface BindingPair {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}
async function bindingPair(alg: 'ECDH-ES+A256KW' | 'RSA-OAEP-256'): Promise<BindingPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RSA-OAEP-256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

let verifier: TestSigner;
let stranger: TestSigner;
let keyA: BindingPair;
let keyB: BindingPair;
let keyRsa: BindingPair;
let store: FakeStore;
let trust: Map<string, { status: 'trusted' | 'untrusted' | 'unknown' | 'expired'; appraisalId?: string }>;
let trustEvents: TrustEventRecord[];
let server: Awaited<ReturnType<typeof listen>>;

beforeEach(async () => {
  verifier ??= await makeSigner();
  stranger ??= await makeSigner();
  keyA ??= await bindingPair('ECDH-ES+A256KW');
  keyB ??= await bindingPair('ECDH-ES+A256KW');
  keyRsa ??= await bindingPair('RSA-OAEP-256');
  store = new FakeStore();
  store.hosts.set('node-1', hostRecord('node-1'));
  store.hosts.set('node-9', hostRecord('node-9'));
  trust = new Map([
    ['node-1', { status: 'trusted', appraisalId: 'appr-1' }],
    ['node-9', { status: 'trusted', appraisalId: 'appr-9' }],
  ]);
  trustEvents = [];
  const deps: BrokerDeps = {
    store: store.asStore(),
    requireRole: fakeRequireRole,
    jsonBody: testJsonBody,
    getVerificationKeys: async () => [verifier.publicJwk],
    issuer: ISS,
    masterKey: new Uint8Array(randomBytes(32)),
    trustOf: async (hostId) => trust.get(hostId) ?? { status: 'unknown' },
    onTrustEvent: (e) => trustEvents.push(e),
    now: () => NOW,
  };
  server = await listen(testApp(createBrokerRouter(deps)));
  const put = await fetch(`${server.url}/v1/secrets/disk-key`, {
    method: 'PUT',
    headers: ADMIN,
    body: JSON.stringify({ value: toBase64(SECRET), policy: { hosts: ['node-1', 'node-2'], profiles: ['ref-uefi'] } }),
  });
  expect(put.status).toBe(201);
});

afterEach(async () => {
  await server.close();
});

function token(o: TokenOptions = {}, signer: TestSigner = verifier): Promise<string> {
  return signToken(signer, { iss: ISS, sub: 'node-1', iat: NOW_S - 10, exp: NOW_S + 290, jkt: keyA.jkt, ...o });
}

async function release(name: string, bearer: string | undefined, jwk: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'test-agent/1' };
  if (bearer !== undefined) headers['authorization'] = `Bearer ${bearer}`;
  const res = await fetch(`${server.url}/v1/secrets/${name}/release`, { method: 'POST', headers, body: JSON.stringify({ jwk }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('release to a trusted, bound host', () => {
  it('EC P-256: the JWE opens with private key A and yields the secret bytes; the release is audited', async () => {
    const t = await token();
    const r = await release('disk-key', t, keyA.jwk);
    expect(r.status).toBe(200);
    const jwe = r.body['jwe'] as string;
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: keyA.jkt });
    const { plaintext } = await compactDecrypt(jwe, keyA.privateKey);
    expect(Buffer.from(plaintext).equals(Buffer.from(SECRET))).toBe(true);
    await expect(compactDecrypt(jwe, keyB.privateKey)).rejects.toThrow();

    expect(store.releases).toHaveLength(1);
    expect(store.releases[0]).toMatchObject({
      secretName: 'disk-key', hostId: 'node-1', tokenId: 'jti-1', appraisalId: 'appr-1', outcome: 'released', code: 'released',
    });
    expect(store.releases[0]?.caller).toContain('ua=test-agent/1');
    const audit = JSON.stringify(store.releases);
    expect(audit).not.toContain(t);
    expect(audit).not.toContain(toBase64(SECRET));
    expect(audit).not.toContain(Buffer.from(SECRET).toString('hex'));
  });

  it('RSA-2048: the JWE uses RSA-OAEP-256 and opens with the RSA private key', async () => {
    const r = await release('disk-key', await token({ jkt: keyRsa.jkt }), keyRsa.jwk);
    expect(r.status).toBe(200);
    const jwe = r.body['jwe'] as string;
    expect(decodeProtectedHeader(jwe)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: keyRsa.jkt });
    const { plaintext } = await compactDecrypt(jwe, keyRsa.privateKey);
    expect(Buffer.from(plaintext).equals(Buffer.from(SECRET))).toBe(true);
  });

  it('accepts a token expired by less than the 5 s clock tolerance', async () => {
    const r = await release('disk-key', await token({ exp: NOW_S - 4 }), keyA.jwk);
    expect(r.status).toBe(200);
  });

  it('a policy profile "name" admits any version; "name@version" only that version', async () => {
    const put = async (profiles: string[]) =>
      fetch(`${server.url}/v1/secrets/disk-key`, { method: 'PUT', headers: ADMIN, body: JSON.stringify({ value: toBase64(SECRET), policy: { profiles } }) });
    expect((await put(['ref-uefi@2.0'])).status).toBe(200);
    expect((await release('disk-key', await token({ profile: 'ref-uefi@1.0' }), keyA.jwk)).body).toMatchObject({ error: { code: 'policy_denied' } });
    expect((await release('disk-key', await token({ profile: 'ref-uefi@2.0' }), keyA.jwk)).status).toBe(200);
  });
});

interface RefusalCase {
  name: string;
  status: number;
  code: string;
  /** Whether the audit row can name the host/jti (only once the signature verified). */
  identified: boolean;
  run: () => Promise<{ status: number; body: Record<string, unknown> }>;
}

const refusals: RefusalCase[] = [
  { name: 'no Authorization header', status: 401, code: 'token_missing', identified: false, run: async () => release('disk-key', undefined, keyA.jwk) },
  { name: 'not a JWT', status: 401, code: 'token_malformed', identified: false, run: async () => release('disk-key', 'not.a-jwt', keyA.jwk) },
  {
    name: 'alg none (unsigned token crafted by hand)',
    status: 401,
    code: 'token_alg_invalid',
    identified: false,
    run: async () => {
      const claims = { iss: ISS, sub: 'node-1', iat: NOW_S, exp: NOW_S + 300, jti: 'jti-1', appraisal: 'appr-1', profile: 'ref-uefi@1.0', cnf: { jkt: keyA.jkt } };
      return release('disk-key', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`, keyA.jwk);
    },
  },
  {
    name: 'HS256 token using the public key as an HMAC secret',
    status: 401,
    code: 'token_alg_invalid',
    identified: false,
    run: async () => release('disk-key', `${b64url({ alg: 'HS256', kid: verifier.kid })}.${b64url({ sub: 'node-1' })}.AAAA`, keyA.jwk),
  },
  { name: 'signed by another key (its own kid)', status: 401, code: 'token_signature_invalid', identified: false, run: async () => release('disk-key', await token({}, stranger), keyA.jwk) },
  {
    name: "signed by another key under the verifier's kid",
    status: 401,
    code: 'token_signature_invalid',
    identified: false,
    run: async () => release('disk-key', await token({ kid: verifier.kid }, stranger), keyA.jwk),
  },
  { name: 'expired beyond the tolerance', status: 401, code: 'token_expired', identified: true, run: async () => release('disk-key', await token({ exp: NOW_S - 6 }), keyA.jwk) },
  { name: 'issued in the future', status: 401, code: 'token_not_yet_valid', identified: true, run: async () => release('disk-key', await token({ iat: NOW_S + 60, exp: NOW_S + 360 }), keyA.jwk) },
  { name: 'another issuer', status: 401, code: 'token_issuer_invalid', identified: true, run: async () => release('disk-key', await token({ iss: 'https://evil.test' }), keyA.jwk) },
  {
    name: 'revoked jti',
    status: 401,
    code: 'token_revoked',
    identified: true,
    run: async () => {
      await store.revokeToken('jti-1', null, NOW, null);
      return release('disk-key', await token(), keyA.jwk);
    },
  },
  { name: 'host not enrolled', status: 403, code: 'unknown_host', identified: true, run: async () => release('disk-key', await token({ sub: 'ghost' }), keyA.jwk) },
  {
    name: 'host revoked',
    status: 403,
    code: 'host_revoked',
    identified: true,
    run: async () => {
      await store.revokeHost('node-1', NOW);
      return release('disk-key', await token(), keyA.jwk);
    },
  },
  {
    name: 'host now untrusted (a later appraisal failed)',
    status: 403,
    code: 'host_untrusted',
    identified: true,
    run: async () => {
      trust.set('node-1', { status: 'untrusted', appraisalId: 'appr-2' });
      return release('disk-key', await token(), keyA.jwk);
    },
  },
  {
    name: "token from an appraisal older than the host's current one",
    status: 403,
    code: 'token_superseded',
    identified: true,
    run: async () => {
      trust.set('node-1', { status: 'trusted', appraisalId: 'appr-3' });
      return release('disk-key', await token(), keyA.jwk);
    },
  },
  { name: 'token without cnf', status: 403, code: 'token_unbound', identified: true, run: async () => release('disk-key', await signToken(verifier, { iss: ISS, sub: 'node-1', iat: NOW_S, exp: NOW_S + 300 }), keyA.jwk) },
  { name: 'unknown secret', status: 404, code: 'secret_not_found', identified: true, run: async () => release('no-such-secret', await token(), keyA.jwk) },
  { name: 'host outside the policy', status: 403, code: 'policy_denied', identified: true, run: async () => release('disk-key', await token({ sub: 'node-9', appraisal: 'appr-9' }), keyA.jwk) },
  { name: 'profile outside the policy', status: 403, code: 'policy_denied', identified: true, run: async () => release('disk-key', await token({ profile: 'other-profile@1.0' }), keyA.jwk) },
  { name: 'binding JWK B for a token bound to A', status: 403, code: 'binding_key_mismatch', identified: true, run: async () => release('disk-key', await token(), keyB.jwk) },
  {
    name: 'binding JWK with private members',
    status: 400,
    code: 'invalid_binding_key',
    identified: true,
    run: async () => release('disk-key', await token(), { ...(await exportJWK(keyA.privateKey)) }),
  },
  { name: 'no binding JWK in the body', status: 400, code: 'invalid_binding_key', identified: true, run: async () => release('disk-key', await token(), undefined) },
  {
    name: 'EC binding key on another curve',
    status: 400,
    code: 'invalid_binding_key',
    identified: true,
    run: async () => release('disk-key', await token(), { kty: 'EC', crv: 'P-384', x: keyA.jwk.x, y: keyA.jwk.y }),
  },
];

describe('refusals: each answers its own code, releases nothing, and is audited', () => {
  it.each(refusals)('$name → $status $code', async (c) => {
    const r = await c.run();
    expect(r.status).toBe(c.status);
    expect(r.body).toEqual({ error: { code: c.code, message: expect.any(String) } });
    expect(r.body).not.toHaveProperty('jwe');
    expect(store.releases).toHaveLength(1);
    const row = store.releases[0];
    expect(row).toMatchObject({ outcome: 'refused', code: c.code });
    expect(row?.reason.length).toBeGreaterThan(0);
    if (c.identified) expect(row?.tokenId).not.toBeNull();
    else expect(row).toMatchObject({ hostId: null, tokenId: null, appraisalId: null });
  });

  it('the codes are distinct per check (one code per condition in the table)', () => {
    const byCode = new Map<string, number>();
    for (const c of refusals) byCode.set(c.code, (byCode.get(c.code) ?? 0) + 1);
    // Conditions deliberately sharing a code: two forged signatures, two alg attacks, two policy misses, three bad JWKs.
    expect([...byCode.keys()].sort()).toEqual(
      [
        'binding_key_mismatch', 'host_revoked', 'unknown_host', 'host_untrusted', 'invalid_binding_key', 'policy_denied', 'secret_not_found',
        'token_alg_invalid', 'token_expired', 'token_issuer_invalid', 'token_malformed', 'token_missing', 'token_not_yet_valid', 'token_revoked',
        'token_signature_invalid', 'token_superseded', 'token_unbound',
      ].sort(),
    );
  });
});

describe('admin API', () => {
  it('PUT validates name, value and policy, and needs the admin role', async () => {
    const put = (name: string, body: unknown, headers: Record<string, string> = ADMIN) =>
      fetch(`${server.url}/v1/secrets/${name}`, { method: 'PUT', headers, body: JSON.stringify(body) });
    expect(await (await put('x', { value: 'AAAA', policy: {} })).json()).toMatchObject({ error: { code: 'invalid_policy' } });
    expect((await put('x', { value: 'AAAA' })).status).toBe(400);
    expect(await (await put('x', { value: 'AAAA', policy: { hosts: ['bad host'] } })).json()).toMatchObject({ error: { code: 'invalid_policy' } });
    expect(await (await put('x', { value: 'AAAA', policy: { profiles: ['a@b@c'] } })).json()).toMatchObject({ error: { code: 'invalid_policy' } });
    expect(await (await put('x', { value: '%%%', policy: { hosts: ['h'] } })).json()).toMatchObject({ error: { code: 'invalid_request' } });
    expect(await (await put('bad%20name', { value: 'AAAA', policy: { hosts: ['h'] } })).json()).toMatchObject({ error: { code: 'invalid_secret_name' } });
    expect((await put('x', { value: 'AAAA', policy: { hosts: ['h'] } }, { 'x-test-role': 'broker', 'content-type': 'application/json' })).status).toBe(403);
    const created = await put('x', { value: 'AAAA', policy: { hosts: ['h'] } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as Record<string, unknown>;
    expect(body).toEqual({ name: 'x', policy: { hosts: ['h'] }, updatedAt: NOW.toISOString() });
    expect(store.secrets.get('x')?.ciphertext).not.toBe('AAAA');
  });

  it('a secret stored with an empty hosts list releases to nobody', async () => {
    await fetch(`${server.url}/v1/secrets/locked`, { method: 'PUT', headers: ADMIN, body: JSON.stringify({ value: toBase64(SECRET), policy: { hosts: [] } }) });
    expect((await release('locked', await token(), keyA.jwk)).body).toMatchObject({ error: { code: 'policy_denied' } });
  });

  it('POST /v1/tokens/revoke revokes a jti: the next release is token_revoked', async () => {
    expect((await release('disk-key', await token({ jti: 'jti-r' }), keyA.jwk)).status).toBe(200);
    const res = await fetch(`${server.url}/v1/tokens/revoke`, { method: 'POST', headers: ADMIN, body: JSON.stringify({ jti: 'jti-r' }) });
    expect(res.status).toBe(200);
    expect((await release('disk-key', await token({ jti: 'jti-r' }), keyA.jwk)).body).toMatchObject({ error: { code: 'token_revoked' } });
  });

  it('POST /v1/hosts/:id/revoke revokes the host and its outstanding token, and emits a trust event', async () => {
    store.appraisals.push({
      appraisalId: 'appr-1', hostId: 'node-1', verdict: 'pass', profile: 'ref-uefi@1.0', failures: [], pcrs: {},
      evidence: { quote: '', signature: '', eventLog: '', nonce: '' }, tokenId: 'jti-1', tokenExpiresAt: new Date(NOW.getTime() + 290_000).toISOString(),
      timings: {}, appraisedAt: NOW.toISOString(),
    });
    const res = await fetch(`${server.url}/v1/hosts/node-1/revoke`, { method: 'POST', headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hostId: 'node-1', revokedAt: NOW.toISOString(), revokedTokens: 1 });
    expect(store.revokedTokens.get('jti-1')).toEqual({ hostId: 'node-1', expiresAt: new Date(NOW.getTime() + 290_000) });
    expect(trustEvents).toEqual([expect.objectContaining({ hostId: 'node-1', kind: 'revoked', seq: 1 })]);
    expect(store.events).toHaveLength(1);
    // The revoked token check comes before the host check in the fixed order.
    expect((await release('disk-key', await token(), keyA.jwk)).body).toMatchObject({ error: { code: 'token_revoked' } });
    expect((await release('disk-key', await token({ jti: 'jti-other' }), keyA.jwk)).body).toMatchObject({ error: { code: 'host_revoked' } });
    expect((await fetch(`${server.url}/v1/hosts/ghost/revoke`, { method: 'POST', headers: ADMIN })).status).toBe(404);
  });

  it('GET /v1/secrets/:name/releases returns the audit trail to admins only', async () => {
    await release('disk-key', await token(), keyA.jwk);
    await release('disk-key', await token({ sub: 'node-9', appraisal: 'appr-9' }), keyA.jwk);
    const res = await fetch(`${server.url}/v1/secrets/disk-key/releases`, { headers: ADMIN });
    const body = (await res.json()) as { releases: Array<{ outcome: string; code: string; hostId: string }> };
    expect(body.releases.map((r) => [r.hostId, r.outcome, r.code])).toEqual([
      ['node-1', 'released', 'released'],
      ['node-9', 'refused', 'policy_denied'],
    ]);
    expect((await fetch(`${server.url}/v1/secrets/disk-key/releases`, { headers: { 'x-test-role': 'scheduler' } })).status).toBe(403);
  });
});

describe('POST /v1/tokens/introspect', () => {
  const introspect = async (body: string, contentType: string, role = 'broker') => {
    const res = await fetch(`${server.url}/v1/tokens/introspect`, { method: 'POST', headers: { 'x-test-role': role, 'content-type': contentType }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers the claims of an active token, JSON or form encoded', async () => {
    const t = await token();
    const expected = {
      active: true, token_type: 'attestation', iss: ISS, sub: 'node-1', iat: NOW_S - 10, exp: NOW_S + 290, jti: 'jti-1',
      appraisal: 'appr-1', profile: 'ref-uefi@1.0', cnf: { jkt: keyA.jkt },
    };
    expect(await introspect(JSON.stringify({ token: t }), 'application/json')).toEqual({ status: 200, body: expected });
    expect(await introspect(`token=${encodeURIComponent(t)}`, 'application/x-www-form-urlencoded')).toEqual({ status: 200, body: expected });
  });

  it('answers exactly {active:false} for expired, revoked, untrusted, forged and garbage tokens', async () => {
    const expired = await token({ exp: NOW_S - 60 });
    const forged = await token({ kid: verifier.kid }, stranger);
    const revoked = await token({ jti: 'jti-x' });
    await store.revokeToken('jti-x', null, NOW, null);
    const untrusted = await token({ sub: 'node-9', appraisal: 'appr-9' });
    trust.set('node-9', { status: 'untrusted', appraisalId: 'appr-10' });
    for (const t of [expired, forged, revoked, untrusted, 'garbage']) {
      expect(await introspect(JSON.stringify({ token: t }), 'application/json')).toEqual({ status: 200, body: { active: false } });
    }
  });

  it('needs the broker or admin role and a token parameter', async () => {
    expect((await introspect(JSON.stringify({ token: 'x' }), 'application/json', 'scheduler')).status).toBe(403);
    expect((await introspect(JSON.stringify({}), 'application/json')).body).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
