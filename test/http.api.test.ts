/** The HTTP shell: authentication, the error shape, strict JSON, limits, admin routes, health and metrics. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, GOLDEN_DIR, SIM_PROFILE, type TestServer } from './helpers/server.ts';
import { ApiKeyring } from '../src/http/auth.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ env: { BOOTGATE_BODY_LIMIT: String(256 * 1024) } });
});
afterAll(async () => {
  await s?.stop();
});

function expectError(r: { status: number; json: any }, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expect(r.json).toEqual({ error: { code, message: expect.any(String) } });
  expect(r.json.error.message.length).toBeGreaterThan(0);
}

async function enrolledHost(): Promise<HostAgent> {
  const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

const referenceProfile = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(GOLDEN_DIR, `${SIM_PROFILE}.json`), 'utf8')) as Record<string, unknown>;

describe('authentication and roles', () => {
  it('answers 401 without a key and with a bad key, in the error shape', async () => {
    expectError(await s.call('GET', '/v1/hosts'), 401, 'missing_credentials');
    expectError(await s.call('GET', '/v1/hosts', { key: 'not-a-key' }), 401, 'invalid_credentials');
    expectError(await s.call('GET', '/v1/hosts', { key: `${s.adminKey}x` }), 401, 'invalid_credentials');
    expectError(await s.call('GET', '/v1/hosts', { headers: { authorization: `Basic ${s.adminKey}` } }), 401, 'missing_credentials');
  });

  it('accepts Bearer and X-API-Key; scheduler reads hosts but may not administer; broker may not read hosts', async () => {
    expect((await s.call('GET', '/v1/hosts', { key: s.schedulerKey })).status).toBe(200);
    expect((await s.call('GET', '/v1/hosts', { headers: { 'x-api-key': s.schedulerKey } })).status).toBe(200);
    expectError(await s.call('GET', '/v1/hosts', { key: s.brokerKey }), 403, 'forbidden');
    expectError(await s.call('PUT', '/v1/hosts/x', { key: s.schedulerKey, body: { profiles: [] } }), 403, 'forbidden');
    expectError(await s.call('GET', '/v1/golden', { key: s.schedulerKey }), 403, 'forbidden');
    expect((await s.call('GET', '/v1/golden', { key: s.adminKey })).status).toBe(200);
  });

  it('checks authorization before reading the body', async () => {
    expectError(await s.call('PUT', '/v1/golden/x', { raw: '{"a":1,"a":2}', headers: { 'content-type': 'application/json' } }), 401, 'missing_credentials');
  });

  it('compares keys as digests against every configured key (no early exit on length)', () => {
    const ring = new ApiKeyring([
      { role: 'admin', key: 'a'.repeat(32) },
      { role: 'scheduler', key: 'b'.repeat(32) },
      { role: 'scheduler', key: 'a'.repeat(32) },
    ]);
    expect([...ring.rolesOf('a'.repeat(32))].sort()).toEqual(['admin', 'scheduler']);
    expect(ring.rolesOf('a'.repeat(31)).size).toBe(0);
    expect(ring.rolesOf('').size).toBe(0);
  });
});

describe('strict JSON bodies', () => {
  const post = (raw: string | Uint8Array, contentType = 'application/json') =>
    s.call('POST', '/v1/enrollments', { raw, headers: { 'content-type': contentType } });

  it('refuses duplicate keys at any depth, including escaped spellings of the same key', async () => {
    expectError(await post('{"hostId":"a","hostId":"b"}'), 400, 'duplicate_json_key');
    expectError(await post('{"profiles":[{"x":1,"x":2}]}'), 400, 'duplicate_json_key');
    expectError(await post('{"hostId":"a","host\\u0049d":"b"}'), 400, 'duplicate_json_key');
    const r = await post('{"a":{"b":{"c":1,"c":1}}}');
    expect(r.json.error.message).toContain('$.a.b');
  });

  it('refuses prototype-pollution keys', async () => {
    expectError(await post('{"__proto__":{"admin":true}}'), 400, 'forbidden_json_key');
    expectError(await post('{"a":{"constructor":{"prototype":1}}}'), 400, 'forbidden_json_key');
  });

  it('refuses invalid JSON, invalid UTF-8 and absurd nesting', async () => {
    expectError(await post('{"hostId":'), 400, 'invalid_json');
    expectError(await post(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 400, 'invalid_json');
    expectError(await post('['.repeat(10_000) + ']'.repeat(10_000)), 400, 'json_too_deep');
  });

  it('refuses other content types with 415', async () => {
    expectError(await post('{"hostId":"a"}', 'text/plain'), 415, 'unsupported_media_type');
    expectError(await post('hostId=a', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    expectError(await s.call('POST', '/v1/enrollments', { raw: '{"hostId":"a"}' }), 415, 'unsupported_media_type');
  });

  it('refuses compressed bodies with 415', async () => {
    const r = await s.call('POST', '/v1/enrollments', { raw: '{}', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expectError(r, 415, 'unsupported_encoding');
  });

  it('answers 413 payload_too_large above the body limit', async () => {
    const big = JSON.stringify({ hostId: 'h', ekCert: 'A'.repeat(300 * 1024), akPub: 'AA==' });
    expectError(await post(big), 413, 'payload_too_large');
  });

  it('validates with zod: unknown fields, wrong types and bad base64 are 400 naming the field', async () => {
    const base = { hostId: 'h1', ekCert: 'AAAA', akPub: 'AAAA' };
    const unknown = await s.call('POST', '/v1/enrollments', { body: { ...base, extra: 1 } });
    expectError(unknown, 400, 'invalid_request');
    expect(unknown.json.error.message).toContain('extra');
    const badId = await s.call('POST', '/v1/enrollments', { body: { ...base, hostId: 'bad host/id' } });
    expectError(badId, 400, 'invalid_request');
    expect(badId.json.error.message).toContain('hostId');
    const b64 = await s.call('POST', '/v1/enrollments', { body: { ...base, akPub: 'not base64!' } });
    expectError(b64, 400, 'invalid_base64');
    expect(b64.json.error.message).toContain('akPub');
    expectError(await s.call('POST', '/v1/enrollments', { body: [1, 2] }), 400, 'invalid_request');
    expectError(await s.call('POST', '/v1/enrollments'), 400, 'invalid_request');
  });

  it('answers nonce and attestation with the same JSON headers as every other route', async () => {
    const agent = await enrolledHost();
    const nonceRes = await fetch(`${s.baseUrl}/v1/hosts/${agent.host.hostId}/nonce`, { method: 'POST' });
    const nonceText = await nonceRes.text();
    expect(nonceRes.status).toBe(201);
    expect(nonceRes.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(nonceRes.headers.get('content-length'))).toBe(Buffer.byteLength(nonceText));
    expect(nonceRes.headers.get('cache-control')).toBe('no-store');
    expect(nonceRes.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Buffer.from((JSON.parse(nonceText) as { nonce: string }).nonce, 'base64')).toHaveLength(32);
    const ev = await agent.collectEvidence();
    const attestRes = await fetch(`${s.baseUrl}/v1/hosts/${agent.host.hostId}/attestations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ev) });
    const attestText = await attestRes.text();
    expect(attestRes.status).toBe(200);
    expect(attestRes.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(attestRes.headers.get('content-length'))).toBe(Buffer.byteLength(attestText));
    expect((JSON.parse(attestText) as { verdict: string }).verdict).toBe('pass');
    // An admin route through express's res.json: the same content type.
    const hosts = await fetch(`${s.baseUrl}/v1/hosts`, { headers: { authorization: `Bearer ${s.adminKey}` } });
    expect(hosts.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('a stored profile that a stricter rule now refuses fails the host with profile_not_found, not a 500', async () => {
    // As if stored by an older release that accepted "pcrs": [] (it would pass any signed quote).
    await s.service.store.putProfile({ name: 'legacy-empty', version: '1', document: JSON.stringify({ name: 'legacy-empty', version: '1', pcrs: [] }), source: 'api', storedAt: new Date().toISOString() });
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
    await agent.enroll(['legacy-empty']);
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict).toBe('fail');
    const f = (r.failures as Array<{ code: string; message: string }>).find((x) => x.code === 'profile_not_found');
    expect(f?.message).toMatch(/legacy-empty@1 .* no longer loads .*at least one PCR/);
    expect(r.token).toBeUndefined();
  });

  it('maps malformed evidence to a per-field code, and spends the nonce', async () => {
    const agent = await enrolledHost();
    const nonce = await agent.nonce();
    const ev = await agent.collectEvidence();
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, {
      body: { ...ev, nonce: Buffer.from(nonce).toString('base64'), quote: Buffer.from('garbage').toString('base64') },
    });
    expectError(r, 400, 'malformed_quote');
    const again = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, nonce: Buffer.from(nonce).toString('base64') } });
    expect(again.json.failures.map((f: { code: string }) => f.code)).toContain('nonce_reused');
    const log = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...(await agent.collectEvidence()), eventLog: 'AAAA' } });
    expectError(log, 400, 'malformed_event_log');
    const sig = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...(await agent.collectEvidence()), signature: 'AAAA' } });
    expectError(sig, 400, 'malformed_signature');
  });

  it('refuses bad binding keys with 400 invalid_binding_key before spending the nonce', async () => {
    const agent = await enrolledHost();
    const ev = await agent.collectEvidence();
    const path = `/v1/hosts/${agent.host.hostId}/attestations`;
    const bad = [
      { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' },
      { kty: 'EC', crv: 'P-384', x: 'AAAA', y: 'AAAA' },
      { kty: 'oct', k: 'AAAA' },
      { kty: 'RSA', n: 'AQAB', e: 'AQAB' },
      { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI' },
    ];
    for (const bindingKey of bad) expectError(await s.call('POST', path, { body: { ...ev, bindingKey } }), 400, 'invalid_binding_key');
    expect((await s.call('POST', path, { body: ev })).json.verdict).toBe('pass');
  });

  it('refuses claimed PCR values of the wrong size', async () => {
    const agent = await enrolledHost();
    const ev = await agent.collectEvidence();
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, pcrs: { sha256: { '10': 'aa'.repeat(20) } } } });
    expectError(r, 400, 'invalid_pcrs');
    const idx = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, pcrs: { sha256: { '24': 'aa'.repeat(32) } } } });
    expectError(idx, 400, 'invalid_request');
  });
});

describe('routes and headers', () => {
  it('answers unknown routes with 404 in the error shape', async () => {
    expectError(await s.call('GET', '/nope'), 404, 'not_found');
    expectError(await s.call('DELETE', '/v1/enrollments/x/y/z'), 404, 'not_found');
  });

  it('echoes a sane X-Request-Id and replaces a hostile one', async () => {
    expect((await s.call('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id')).toBe('abc-123');
    const replaced = (await s.call('GET', '/healthz', { headers: { 'x-request-id': 'a b\tc' } })).headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves /healthz and Prometheus /metrics with appraisal counters', async () => {
    expect((await s.call('GET', '/healthz')).json).toEqual({ status: 'ok' });
    const agent = await enrolledHost();
    await agent.attest();
    const m = await s.call('GET', '/metrics');
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(m.json).toMatch(/bootgate_appraisals_total\{verdict="pass"\} [1-9]/);
    expect(m.json).toContain('bootgate_appraisal_duration_seconds_bucket');
    expect(m.json).toContain('bootgate_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/v1/hosts/:hostId/attestations",status="200"}');
  });

  it('validates path parameters', async () => {
    expectError(await s.call('POST', `/v1/hosts/${'x'.repeat(129)}/nonce`), 400, 'invalid_host_id');
    expectError(await s.call('GET', '/v1/hosts/%E0%A4%A', { key: s.adminKey }), 400, 'invalid_request');
  });
});

describe('host administration', () => {
  it('PUT refuses unknown profiles, DELETE removes, revoke makes the host untrusted and refuses its nonces', async () => {
    const agent = await enrolledHost();
    const id = agent.host.hostId;
    expectError(await s.call('PUT', `/v1/hosts/${id}`, { key: s.adminKey, body: { profiles: ['nope'] } }), 400, 'unknown_profile');
    expectError(await s.call('PUT', '/v1/hosts/ghost', { key: s.adminKey, body: { profiles: [SIM_PROFILE] } }), 404, 'unknown_host');
    expect((await agent.attest()).verdict).toBe('pass');
    // The revoke route belongs to the key broker (src/broker/routes.ts); mounted by the service.
    const rev = await s.call('POST', `/v1/hosts/${id}/revoke`, { key: s.adminKey });
    expect(rev.status).toBe(200);
    expect(rev.json).toMatchObject({ hostId: id, revokedTokens: 1 });
    expect((await s.call('GET', `/v1/hosts/${id}`, { key: s.schedulerKey })).json.trust.status).toBe('untrusted');
    expectError(await s.call('POST', `/v1/hosts/${id}/nonce`), 403, 'host_revoked');
    expect((await s.call('DELETE', `/v1/hosts/${id}`, { key: s.adminKey })).status).toBe(204);
    expectError(await s.call('GET', `/v1/hosts/${id}`, { key: s.adminKey }), 404, 'unknown_host');
    expectError(await s.call('DELETE', `/v1/hosts/${id}`, { key: s.adminKey }), 404, 'unknown_host');
  });

  it('lists by trust status, refusing unknown statuses', async () => {
    const fresh = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
    await fresh.enroll([SIM_PROFILE]);
    await fresh.activate();
    const unknown = await s.call('GET', '/v1/hosts?trust=unknown', { key: s.schedulerKey });
    expect(unknown.json.hosts.map((h: { hostId: string }) => h.hostId)).toContain(fresh.host.hostId);
    expectError(await s.call('GET', '/v1/hosts?trust=maybe', { key: s.schedulerKey }), 400, 'invalid_request');
    expectError(await s.call('GET', '/v1/hosts?trust=trusted&trust=unknown', { key: s.schedulerKey }), 400, 'invalid_request');
  });
});

describe('golden profiles API', () => {
  it('lists, gets, stores new versions, and refuses conflicting content for an existing version', async () => {
    const list = await s.call('GET', '/v1/golden', { key: s.adminKey });
    expect(list.json.profiles).toContainEqual(expect.objectContaining({ name: SIM_PROFILE, version: '1', source: 'file' }));
    const got = await s.call('GET', `/v1/golden/${SIM_PROFILE}`, { key: s.adminKey });
    expect(got.json).toMatchObject({ name: SIM_PROFILE, version: '1' });

    const v2 = { ...referenceProfile(), version: '2' };
    const put = await s.call('PUT', `/v1/golden/${SIM_PROFILE}`, { key: s.adminKey, body: v2 });
    expect(put.status).toBe(201);
    expect(put.json).toEqual({ name: SIM_PROFILE, version: '2' });
    expect((await s.call('PUT', `/v1/golden/${SIM_PROFILE}`, { key: s.adminKey, body: v2 })).status).toBe(200);
    const conflicting = { ...v2, description: 'changed without a version bump' };
    expectError(await s.call('PUT', `/v1/golden/${SIM_PROFILE}`, { key: s.adminKey, body: conflicting }), 409, 'profile_version_exists');
    expect((await s.call('GET', `/v1/golden/${SIM_PROFILE}`, { key: s.adminKey })).json.version).toBe('2');
    expect((await s.call('GET', `/v1/golden/${SIM_PROFILE}?version=1`, { key: s.adminKey })).json.version).toBe('1');

    // Hosts appraise against the latest version.
    const agent = await enrolledHost();
    expect((await agent.attest()).profile).toBe(`${SIM_PROFILE}@2`);
  });

  it('refuses invalid documents and a name that does not match the URL', async () => {
    expectError(await s.call('PUT', '/v1/golden/x', { key: s.adminKey, body: { name: 'x' } }), 400, 'invalid_profile');
    expectError(await s.call('PUT', '/v1/golden/other', { key: s.adminKey, body: { ...referenceProfile(), version: '9' } }), 400, 'profile_name_mismatch');
    expectError(await s.call('GET', '/v1/golden/none', { key: s.adminKey }), 404, 'unknown_profile');
    expectError(await s.call('PUT', '/v1/golden/x', { key: s.adminKey }), 400, 'invalid_request');
  });
});

describe('rate limiting', () => {
  it('answers 429 rate_limited past the per-host budget', async () => {
    const limited = await startTestServer({ env: { BOOTGATE_RATE_LIMIT: '4' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.call('POST', '/v1/hosts/some-host/nonce')).status);
      expect(statuses.slice(0, 2)).toEqual([404, 404]);
      const last = await limited.call('POST', '/v1/hosts/some-host/nonce');
      expectError(last, 429, 'rate_limited');
      expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
      // Admin routes are not limited.
      expect((await limited.call('GET', '/v1/hosts', { key: limited.adminKey })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
