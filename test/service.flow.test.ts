/**
 * End to end over real HTTP: tpm-sim hosts enroll, activate, attest; schedulers read trust; every
 * attack scenario ends untrusted with exactly its failure codes; nonce and key misuse is refused.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createSimHost, HostAgent, SCENARIOS, SCENARIO_NAMES, type SimHost } from '../tpm-sim/index.ts';
import { parsePublic, encodeTpm2bPublic, TPMA_OBJECT } from '../src/tpm/index.ts';
import { toBase64, toHex } from '../src/util/encoding.ts';
import { join } from 'node:path';
import { startTestServer, REPO_ROOT, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

let counter = 0;
function simHost(opts: Parameters<typeof createSimHost>[0] = {}): SimHost {
  return createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `flow-${process.pid}-${counter++}`, ...opts });
}

async function enrolled(opts: Parameters<typeof createSimHost>[0] = {}): Promise<HostAgent> {
  const agent = new HostAgent(simHost(opts), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

function evidenceOf(host: SimHost, nonce: Uint8Array) {
  const q = host.quote(nonce);
  return {
    nonce: toBase64(nonce),
    quote: toBase64(q.quote),
    signature: toBase64(q.signature),
    eventLog: toBase64(host.eventLog),
    pcrs: { sha256: Object.fromEntries([...(q.pcrs.sha256 ?? new Map()).entries()].map(([k, v]) => [String(k), toHex(v)])) },
  };
}

async function nonceFor(hostId: string): Promise<Uint8Array> {
  const r = await s.call('POST', `/v1/hosts/${hostId}/nonce`);
  expect(r.status).toBe(201);
  return new Uint8Array(Buffer.from(r.json.nonce, 'base64'));
}

const codes = (r: Record<string, unknown>): string[] => [...new Set((r.failures as Array<{ code: string }>).map((f) => f.code))].sort();

describe('full flow', () => {
  it('enroll → activate → nonce → attest → pass → token verifies with the JWKS alone → scheduler sees trusted', async () => {
    const host = simHost({ ekType: 'rsa', akType: 'rsa' });
    const agent = new HostAgent(host, s.baseUrl);
    const enr = await agent.enroll([SIM_PROFILE]);
    expect(enr.enrollmentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(enr.expiresAt)).toBeGreaterThan(Date.now());
    const act = await agent.activate();
    expect(act).toEqual({ hostId: host.hostId, akName: toHex(host.akName), status: 'enrolled' });

    const nonceRes = await s.call('POST', `/v1/hosts/${host.hostId}/nonce`);
    expect(nonceRes.status).toBe(201);
    expect(Buffer.from(nonceRes.json.nonce, 'base64')).toHaveLength(32);

    const res = await agent.attest();
    expect(res).toMatchObject({ verdict: 'pass', profile: `${SIM_PROFILE}@1`, failures: [] });
    expect(typeof res.appraisalId).toBe('string');
    expect(Object.keys((res.pcrs as Record<string, object>).sha256 ?? {})).toContain('0');

    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    const { payload, protectedHeader } = await jwtVerify(String(res.token), jwks, { issuer: s.baseUrl, algorithms: ['ES256'] });
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({ sub: host.hostId, appraisal: res.appraisalId, profile: `${SIM_PROFILE}@1`, ak: toHex(host.akName) });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.pcrDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(payload.cnf).toBeUndefined();
    expect(new Date(payload.exp! * 1000).toISOString()).toBe(res.expiresAt);

    const view = await s.call('GET', `/v1/hosts/${host.hostId}`, { key: s.schedulerKey });
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({
      hostId: host.hostId,
      akName: toHex(host.akName),
      profiles: [SIM_PROFILE],
      trust: { status: 'trusted', appraisalId: res.appraisalId, expiresAt: res.expiresAt, profile: `${SIM_PROFILE}@1`, failures: [] },
    });
    const trusted = await s.call('GET', '/v1/hosts?trust=trusted', { key: s.schedulerKey });
    expect(trusted.json.hosts.map((h: { hostId: string }) => h.hostId)).toContain(host.hostId);
    const untrusted = await s.call('GET', '/v1/hosts?trust=untrusted', { key: s.schedulerKey });
    expect(untrusted.json.hosts.map((h: { hostId: string }) => h.hostId)).not.toContain(host.hostId);
  });

  it('binds the token to a key through the nonce: cnf.jkt is the thumbprint', async () => {
    const host = simHost();
    const agent = new HostAgent(host, s.baseUrl, { bindingKey: 'ec' });
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const res = await agent.attest();
    expect(res.verdict).toBe('pass');
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    const { payload } = await jwtVerify(String(res.token), jwks);
    expect((payload.cnf as { jkt: string }).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('fails a bound quote whose extraData is the bare nonce (nonce_mismatch)', async () => {
    const agent = await enrolled();
    const nonce = await nonceFor(agent.host.hostId);
    const ev = evidenceOf(agent.host, nonce);
    const bindingKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, bindingKey } });
    expect(r.status).toBe(200);
    expect(codes(r.json)).toEqual(['nonce_mismatch']);
  });

  it('a host with no profile fails with profile_not_found (deny by default)', async () => {
    const agent = new HostAgent(simHost(), s.baseUrl);
    await agent.enroll();
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict).toBe('fail');
    expect(codes(r)).toEqual(['profile_not_found']);
    // An admin assigns the profile: the next attestation passes.
    const put = await s.call('PUT', `/v1/hosts/${agent.host.hostId}`, { key: s.adminKey, body: { profiles: [SIM_PROFILE] } });
    expect(put.status).toBe(200);
    expect((await agent.attest()).verdict).toBe('pass');
  });
});

describe('tpm-sim attack scenarios end untrusted with exactly their codes', () => {
  for (const scenario of SCENARIO_NAMES.filter((n) => n !== 'clean')) {
    it(scenario, async () => {
      const agent = await enrolled({ scenario });
      const r = await agent.attest();
      expect(r.verdict).toBe('fail');
      expect(r.token).toBeUndefined();
      expect(codes(r)).toEqual([...SCENARIOS[scenario].expectedCodes].sort());
      const view = await s.call('GET', `/v1/hosts/${agent.host.hostId}`, { key: s.schedulerKey });
      expect(view.json.trust.status).toBe('untrusted');
      expect(view.json.trust.appraisalId).toBe(r.appraisalId);
      expect(codes(view.json.trust)).toEqual(codes(r));
    });
  }

  it('a failing appraisal revokes the trust of a host that was trusted', async () => {
    const agent = await enrolled();
    const pass = await agent.attest();
    expect(pass.verdict).toBe('pass');
    // Evidence from the same host for the wrong nonce: fails; the host is untrusted from now on.
    const nonce = await nonceFor(agent.host.hostId);
    const ev = evidenceOf(agent.host, new Uint8Array(32));
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, nonce: toBase64(nonce) } });
    expect(codes(r.json)).toEqual(['nonce_mismatch']);
    const view = await s.call('GET', `/v1/hosts/${agent.host.hostId}`, { key: s.adminKey });
    expect(view.json.trust.status).toBe('untrusted');
    const claims = JSON.parse(Buffer.from(String(pass.token).split('.')[1]!, 'base64url').toString()) as { jti: string };
    expect(await s.service.store.isTokenRevoked(claims.jti)).toBe(true);
  });
});

describe('nonces', () => {
  it('a reused nonce fails nonce_reused even with otherwise valid evidence', async () => {
    const agent = await enrolled();
    const nonce = await nonceFor(agent.host.hostId);
    const ev = evidenceOf(agent.host, nonce);
    const first = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: ev });
    expect(first.json.verdict).toBe('pass');
    const again = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: ev });
    expect(codes(again.json)).toEqual(['nonce_reused']);
  });

  it("another host's nonce fails nonce_wrong_host and is spent", async () => {
    const a = await enrolled();
    const b = await enrolled();
    const nonceOfA = await nonceFor(a.host.hostId);
    const r = await s.call('POST', `/v1/hosts/${b.host.hostId}/attestations`, { body: evidenceOf(b.host, nonceOfA) });
    expect(codes(r.json)).toEqual(['nonce_wrong_host']);
    const r2 = await s.call('POST', `/v1/hosts/${a.host.hostId}/attestations`, { body: evidenceOf(a.host, nonceOfA) });
    expect(codes(r2.json)).toEqual(['nonce_reused']);
  });

  it('an unknown nonce fails nonce_unknown (and the quote does not carry it either)', async () => {
    const agent = await enrolled();
    const made = new Uint8Array(32).fill(7);
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: evidenceOf(agent.host, made) });
    expect(codes(r.json)).toEqual(['nonce_unknown']);
  });

  it('concurrent submissions of one nonce give exactly one pass', async () => {
    const agent = await enrolled();
    const nonce = await nonceFor(agent.host.hostId);
    const ev = evidenceOf(agent.host, nonce);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: ev })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(results.filter((r) => r.json.verdict === 'pass')).toHaveLength(1);
    expect(results.filter((r) => codes(r.json).join() === 'nonce_reused')).toHaveLength(5);
  });

  it('a nonce for an unknown host is 404 unknown_host', async () => {
    const r = await s.call('POST', '/v1/hosts/nobody-here/nonce');
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('unknown_host');
  });
});

describe('keys and clocks', () => {
  it("a quote signed by another enrolled host's AK fails quote_signature_invalid", async () => {
    const victim = await enrolled();
    const attacker = await enrolled();
    const nonce = await nonceFor(victim.host.hostId);
    const ev = evidenceOf(attacker.host, nonce);
    const r = await s.call('POST', `/v1/hosts/${victim.host.hostId}/attestations`, { body: { ...ev, eventLog: toBase64(victim.host.eventLog) } });
    expect(r.status).toBe(200);
    expect(r.json.verdict).toBe('fail');
    expect(codes(r.json)).toContain('quote_signature_invalid');
  });

  it('replaying an older quote after a newer one fails clock_rollback', async () => {
    const agent = await enrolled();
    const older = evidenceOf(agent.host, await nonceFor(agent.host.hostId));
    const newer = evidenceOf(agent.host, await nonceFor(agent.host.hostId));
    const r1 = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: newer });
    expect(r1.json.verdict).toBe('pass');
    const r2 = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: older });
    expect(codes(r2.json)).toEqual(['clock_rollback']);
    // The rolled-back clock did not become the reference: a fresh quote still passes.
    expect((await agent.attest()).verdict).toBe('pass');
  });

  it('a reboot (resetCount + 1) is not a rollback', async () => {
    const agent = await enrolled();
    expect((await agent.attest()).verdict).toBe('pass');
    agent.host.reboot();
    expect((await agent.attest()).verdict).toBe('pass');
  });
});

describe('enrollment refusals', () => {
  it('a wrong activation secret is 403; the right one then works once; a second activation is 409', async () => {
    const host = simHost();
    const agent = new HostAgent(host, s.baseUrl);
    const enr = await agent.enroll([SIM_PROFILE]);
    const wrong = await s.call('POST', `/v1/enrollments/${enr.enrollmentId}/activate`, { body: { secret: toBase64(new Uint8Array(32)) } });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('activation_secret_invalid');
    const secret = host.activateCredential(enr.credentialBlob);
    const ok = await s.call('POST', `/v1/enrollments/${enr.enrollmentId}/activate`, { body: { secret: toBase64(secret) } });
    expect(ok.status).toBe(200);
    const twice = await s.call('POST', `/v1/enrollments/${enr.enrollmentId}/activate`, { body: { secret: toBase64(secret) } });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('enrollment_already_activated');
    const unknown = await s.call('POST', '/v1/enrollments/00000000-0000-0000-0000-000000000000/activate', { body: { secret: toBase64(secret) } });
    expect(unknown.status).toBe(404);
  });

  it('a non-restricted AK is 400', async () => {
    const host = simHost();
    const ak = parsePublic(host.akPub);
    const loose = encodeTpm2bPublic({ ...ak, objectAttributes: ak.objectAttributes & ~TPMA_OBJECT.restricted });
    const r = await s.call('POST', '/v1/enrollments', {
      body: { hostId: host.hostId, ekCert: toBase64(host.ekCertDer), ekPub: toBase64(host.ekPub), akPub: toBase64(loose) },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toMatch(/^ak_/);
  });

  it('re-enrolling a hostId with a different EK is 409 until an admin deletes the host', async () => {
    const first = await enrolled();
    const impostor = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: first.host.hostId, seed: 'another TPM' });
    const agent = new HostAgent(impostor, s.baseUrl);
    const refused = await agent.enroll([SIM_PROFILE]).catch((e: { status: number; body: { error: { code: string } } }) => e);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'host_ek_conflict' } } });
    const del = await s.call('DELETE', `/v1/hosts/${first.host.hostId}`, { key: s.adminKey });
    expect(del.status).toBe(204);
    await agent.enroll([SIM_PROFILE]);
    expect((await agent.activate()).status).toBe('enrolled');
  });

  it('the same TPM may re-enroll (new enrollment, same EK) and keeps attesting', async () => {
    const agent = await enrolled();
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    expect((await agent.attest()).verdict).toBe('pass');
  });

  it('an unknown profile at enrollment is 400 unknown_profile', async () => {
    const agent = new HostAgent(simHost(), s.baseUrl);
    const r = await agent.enroll(['no-such-profile']).catch((e: { status: number; body: { error: { code: string } } }) => e);
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'unknown_profile' } } });
  });
});

describe('EK roots', () => {
  it('an EK certificate that does not chain to the configured roots is 403', async () => {
    // One real manufacturer root: the simulator's development CA is not in it.
    const other = await startTestServer({ env: { BOOTGATE_EK_ROOTS: join(REPO_ROOT, 'src', 'enrollment', 'ek-roots', 'intel-tpm-ek-root.pem') } });
    try {
      const host = simHost();
      const r = await other.call('POST', '/v1/enrollments', {
        body: { hostId: host.hostId, ekCert: toBase64(host.ekCertDer), ekPub: toBase64(host.ekPub), akPub: toBase64(host.akPub) },
      });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('ek_cert_untrusted');
    } finally {
      await other.stop();
    }
  });
});

describe('audit', () => {
  it('records each appraisal with evidence digests and timings, and a trust event', async () => {
    const agent = await enrolled();
    const nonce = await nonceFor(agent.host.hostId);
    const ev = evidenceOf(agent.host, nonce);
    const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: ev });
    const rec = await s.service.store.getAppraisal(r.json.appraisalId);
    const sha = (b64: string) => createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
    expect(rec?.evidence).toEqual({ quote: sha(ev.quote), signature: sha(ev.signature), eventLog: sha(ev.eventLog), nonce: sha(ev.nonce) });
    expect(rec?.timings.pipeline).toBeGreaterThan(0);
    expect(rec?.clock?.resetCount).toBeTypeOf('number');
    const events = await s.service.store.trustEventsAfter(0, 10_000);
    expect(events.some((e) => e.appraisalId === r.json.appraisalId && e.kind === 'trusted')).toBe(true);
    expect(events.some((e) => e.hostId === agent.host.hostId && e.kind === 'enrolled')).toBe(true);
  });

  it('appends a trust event on each change of trust, not on each appraisal', async () => {
    const agent = await enrolled();
    const kinds = async () => (await s.service.store.trustEventsAfter(0, 100_000)).filter((e) => e.hostId === agent.host.hostId).map((e) => e.kind);
    await agent.attest();
    await agent.attest();
    expect(await kinds()).toEqual(['enrolled', 'trusted']);
    const bad = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: evidenceOf(agent.host, new Uint8Array(32)) });
    expect(bad.json.verdict).toBe('fail');
    await agent.attest();
    expect(await kinds()).toEqual(['enrolled', 'trusted', 'untrusted', 'trusted']);
  });
});

describe('expiry', () => {
  it('an expired nonce fails nonce_expired; an expired enrollment cannot be activated', async () => {
    const short = await startTestServer({ env: { BOOTGATE_NONCE_TTL: '1', BOOTGATE_ENROLLMENT_TTL: '1' } });
    try {
      const host = simHost();
      const agent = new HostAgent(host, short.baseUrl);
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const nonce = await agent.nonce();
      const late = new HostAgent(simHost(), short.baseUrl);
      const enr = await late.enroll([SIM_PROFILE]);
      await new Promise((r) => setTimeout(r, 1300));
      const r = await short.call('POST', `/v1/hosts/${host.hostId}/attestations`, { body: evidenceOf(host, nonce) });
      expect(codes(r.json)).toEqual(['nonce_expired']);
      const act = await short.call('POST', `/v1/enrollments/${enr.enrollmentId}/activate`, {
        body: { secret: toBase64(late.host.activateCredential(enr.credentialBlob)) },
      });
      expect(act.status).toBe(403);
      expect(act.json.error.code).toBe('enrollment_expired');
    } finally {
      await short.stop();
    }
  });
});
