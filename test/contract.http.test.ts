/**
 * Contract §1 and §3, sentence by sentence, over real HTTP: the error shape on every unknown route
 * and method, hostId validation on every route that takes one, base64url / bare TPMT_PUBLIC / PEM
 * inputs, and the exact key sets of the enrollment, activation and attestation answers.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { parsePublic } from '../src/tpm/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

let counter = 0;
const newHost = (): SimHost => createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `contract-${process.pid}-${counter++}` });
const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function expectErrorShape(r: { status: number; json: unknown }, status: number, code?: string): void {
  expect(r.status).toBe(status);
  expect(r.json).toEqual({ error: { code: expect.stringMatching(/^[a-z0-9_]+$/), message: expect.any(String) } });
  if (code) expect((r.json as { error: { code: string } }).error.code).toBe(code);
}

describe('§3 every error body is {"error": {"code", "message"}}', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/v1'],
    ['GET', '/v1/hosts/h1/nonce/x'],
    ['DELETE', '/v1/secrets'],
  ])('%s %s (no such route) is 404 in the error shape', async (method, path) => {
    expectErrorShape(await s.call(method, path, { key: s.adminKey }), 404, 'not_found');
  });

  it.each([
    ['GET', '/v1/enrollments', 'OPTIONS, POST'],
    ['PATCH', '/v1/hosts/h1', 'DELETE, GET, HEAD, OPTIONS, PUT'],
    ['POST', '/v1/hosts', 'GET, HEAD, OPTIONS'],
    ['GET', '/v1/hosts/h1/nonce', 'OPTIONS, POST'],
    ['GET', '/v1/hosts/h1/attestations', 'OPTIONS, POST'],
    ['DELETE', '/v1/golden', 'GET, HEAD, OPTIONS'],
    ['POST', '/v1/golden/x', 'GET, HEAD, OPTIONS, PUT'],
    ['PUT', '/.well-known/jwks.json', 'GET, HEAD, OPTIONS'],
    ['GET', '/v1/secrets/x/release', 'OPTIONS, POST'],
  ])('%s %s (a method the route lacks) is 405 in the error shape, with Allow (§8)', async (method, path, allow) => {
    const r = await s.call(method, path, { key: s.adminKey });
    expectErrorShape(r, 405, 'method_not_allowed');
    expect(r.headers.get('allow')).toBe(allow);
  });

  it('a 403 names each role it would accept once', async () => {
    const r = await s.call('PUT', '/v1/hosts/h1', { key: s.schedulerKey, body: { profiles: [] } });
    expectErrorShape(r, 403, 'forbidden');
    expect(r.json.error.message).toBe('this operation needs the admin role');
    const g = await s.call('GET', '/v1/hosts', { key: s.brokerKey });
    expectErrorShape(g, 403, 'forbidden');
    expect(g.json.error.message).toBe('this operation needs the admin or scheduler role');
  });
});

describe('§3.1 hostId is 1-128 characters from [A-Za-z0-9._:-], on every route that takes one', () => {
  const routes: Array<[string, (h: string) => string, unknown]> = [
    ['POST', (h) => `/v1/hosts/${h}/nonce`, undefined],
    ['POST', (h) => `/v1/hosts/${h}/attestations`, { nonce: 'AAAA', quote: 'AAAA', signature: 'AAAA', eventLog: 'AAAA' }],
    ['GET', (h) => `/v1/hosts/${h}`, undefined],
    ['PUT', (h) => `/v1/hosts/${h}`, { profiles: [SIM_PROFILE] }],
    ['DELETE', (h) => `/v1/hosts/${h}`, undefined],
    ['POST', (h) => `/v1/hosts/${h}/revoke`, undefined],
  ];
  const bad = ['a'.repeat(129), 'a%20b', 'a%2Fb', '%C3%A9t%C3%A9', 'a*b', 'a%00b'];
  for (const [method, path, body] of routes) {
    it(`${method} ${path(':hostId')} answers 400 invalid_host_id for each bad hostId`, async () => {
      for (const h of bad) {
        expectErrorShape(await s.call(method, path(h), { key: s.adminKey, ...(body !== undefined ? { body } : {}) }), 400, 'invalid_host_id');
      }
      // A valid but unknown 128-character hostId passes validation and is then unknown.
      expectErrorShape(await s.call(method, path('Az09._:-'.repeat(16)), { key: s.adminKey, ...(body !== undefined ? { body } : {}) }), 404, 'unknown_host');
    });
  }

  it('enrollment accepts 1 and 128 characters and refuses 0 and 129', async () => {
    for (const [id, status] of [['x', 201], ['Az09._:-'.repeat(16), 201], ['', 400], ['a'.repeat(129), 400]] as const) {
      const h = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: id || 'unused', seed: `len-${id.length}` });
      const r = await s.call('POST', '/v1/enrollments', { body: { hostId: id, ekCert: Buffer.from(h.ekCertDer).toString('base64'), akPub: Buffer.from(h.akPub).toString('base64') } });
      expect(r.status, `hostId of ${id.length} characters`).toBe(status);
    }
  });
});

describe('§1 wire formats at enrollment and attestation', () => {
  it('enrolls with base64url fields, a PEM ekCert and bare TPMT_PUBLIC akPub/ekPub; activation answers exactly {hostId, akName, status}', async () => {
    const host = newHost();
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(host.ekCertDer).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    const enr = await s.call('POST', '/v1/enrollments', {
      body: {
        hostId: host.hostId,
        ekCert: b64url(new TextEncoder().encode(pem)),
        ekPub: b64url(parsePublic(host.ekPub).bytes),
        akPub: b64url(parsePublic(host.akPub).bytes),
        profiles: [SIM_PROFILE],
      },
    });
    expect(enr.status).toBe(201);
    expect(Object.keys(enr.json).sort()).toEqual(['credentialBlob', 'enrollmentId', 'expiresAt']);
    expect(new Date(enr.json.expiresAt).toISOString()).toBe(enr.json.expiresAt);
    const blob = new Uint8Array(Buffer.from(enr.json.credentialBlob, 'base64'));
    expect(toHex(blob.subarray(0, 8))).toBe('badcc0de00000001');
    const secret = host.activateCredential(blob);
    const act = await s.call('POST', `/v1/enrollments/${enr.json.enrollmentId}/activate`, { body: { secret: b64url(secret) } });
    expect(act.status).toBe(200);
    expect(act.json).toEqual({ hostId: host.hostId, akName: toHex(host.akName), status: 'enrolled' });
  });

  it('attests with base64url evidence; a pass carries exactly the contract keys, a fail has no token or expiresAt', async () => {
    const agent = new HostAgent(newHost(), s.baseUrl);
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const ev = await agent.collectEvidence();
    const urlEv = {
      ...ev,
      nonce: b64url(Buffer.from(ev.nonce, 'base64')),
      quote: b64url(Buffer.from(ev.quote, 'base64')),
      signature: b64url(Buffer.from(ev.signature, 'base64')),
      eventLog: b64url(Buffer.from(ev.eventLog, 'base64')),
    };
    const pass = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: urlEv });
    expect(pass.status).toBe(200);
    expect(Object.keys(pass.json).sort()).toEqual(['appraisalId', 'expiresAt', 'failures', 'pcrs', 'profile', 'token', 'verdict']);
    expect(pass.json).toMatchObject({ verdict: 'pass', profile: `${SIM_PROFILE}@1`, failures: [] });
    expect(pass.json.pcrs.sha256['0']).toMatch(/^[0-9a-f]{64}$/);

    // The same evidence again: the nonce is spent, so the verdict is fail, 200, no token.
    const fail = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: ev });
    expect(fail.status).toBe(200);
    expect(Object.keys(fail.json).sort()).toEqual(['appraisalId', 'failures', 'pcrs', 'profile', 'verdict']);
    expect(fail.json.verdict).toBe('fail');
    expect(fail.json.failures.map((f: { code: string }) => f.code)).toContain('nonce_reused');
    const allowed = new Set(['code', 'message', 'pcr', 'bank', 'eventIndex', 'eventType', 'component', 'rule', 'expected', 'actual']);
    for (const f of fail.json.failures as Array<Record<string, unknown>>) {
      for (const k of Object.keys(f)) expect(allowed.has(k), `failure key ${k}`).toBe(true);
    }
  });
});

describe('§3.3 trust lists', () => {
  it('GET /v1/hosts?trust= answers 200 {hosts} for each of the four states and 400 otherwise', async () => {
    for (const t of ['trusted', 'untrusted', 'unknown', 'expired']) {
      const r = await s.call('GET', `/v1/hosts?trust=${t}`, { key: s.schedulerKey });
      expect(r.status).toBe(200);
      expect(Array.isArray(r.json.hosts)).toBe(true);
      for (const h of r.json.hosts as Array<{ trust: { status: string } }>) expect(h.trust.status).toBe(t);
    }
    expectErrorShape(await s.call('GET', '/v1/hosts?trust=', { key: s.schedulerKey }), 400);
    expectErrorShape(await s.call('GET', '/v1/hosts?trust=TRUSTED', { key: s.schedulerKey }), 400);
  });
});
