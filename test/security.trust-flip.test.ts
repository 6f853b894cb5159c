/**
 * Evidence that the host's TPM did not sign cannot speak for the host. Anyone can POST to
 * /v1/hosts/{id}/attestations; such a submission is answered and recorded (verdict fail), but it
 * must not make a trusted host untrusted, revoke its token, or emit a trust event. Evidence the
 * host's own AK signed still counts, fresh or not (a host replaying its own old quote fails).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { toBase64, toHex } from '../src/util/encoding.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

let counter = 0;
async function trustedHost(): Promise<{ agent: HostAgent; token: string }> {
  const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `flip-${process.pid}-${counter++}` }), s.baseUrl, { bindingKey: 'ec' });
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  const r = await agent.attest();
  expect(r.verdict).toBe('pass');
  return { agent, token: String(r.token) };
}

function evidence(signer: SimHost, nonce: Uint8Array, eventLog: Uint8Array) {
  const q = signer.quote(nonce);
  return {
    nonce: toBase64(nonce),
    quote: toBase64(q.quote),
    signature: toBase64(q.signature),
    eventLog: toBase64(eventLog),
    pcrs: { sha256: Object.fromEntries([...(q.pcrs.sha256 ?? new Map()).entries()].map(([k, v]) => [String(k), toHex(v)])) },
  };
}

async function freshNonce(hostId: string): Promise<Uint8Array> {
  const r = await s.call('POST', `/v1/hosts/${hostId}/nonce`);
  return new Uint8Array(Buffer.from(String(r.json.nonce), 'base64'));
}

async function trustOf(hostId: string): Promise<string> {
  return String((await s.call('GET', `/v1/hosts/${hostId}`, { key: s.schedulerKey })).json.trust.status);
}

async function eventKinds(hostId: string): Promise<string[]> {
  const r = await s.call('GET', '/v1/events?after=0&timeout=0&limit=1000', { key: s.schedulerKey });
  return (r.json.events as { hostId: string; kind: string }[]).filter((e) => e.hostId === hostId).map((e) => e.kind);
}

describe('evidence not signed by the host', () => {
  it('a quote signed by another TPM, over the victim\'s own fresh nonce, is recorded but leaves the victim trusted', async () => {
    const victim = await trustedHost();
    const attacker = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: 'attacker-not-enrolled' });
    const r = await s.call('POST', `/v1/hosts/${victim.agent.host.hostId}/attestations`, {
      body: evidence(attacker, await freshNonce(victim.agent.host.hostId), victim.agent.host.eventLog),
    });
    expect(r.status).toBe(200);
    expect(r.json.verdict).toBe('fail');
    expect(r.json.failures.map((f: { code: string }) => f.code)).toContain('quote_signature_invalid');
    expect(await trustOf(victim.agent.host.hostId)).toBe('trusted');
    const claims = JSON.parse(Buffer.from(victim.token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    expect(await s.service.store.isTokenRevoked(claims.jti)).toBe(false);
    expect((await s.service.store.getAppraisal(String(r.json.appraisalId)))?.rejected).toBe(true);
    expect(await eventKinds(victim.agent.host.hostId)).toEqual(['enrolled', 'trusted']);
  });

  it('a made-up nonce with junk evidence is recorded but leaves the victim trusted, and its secret still releases', async () => {
    const victim = await trustedHost();
    await s.call('PUT', '/v1/secrets/flip-disk-key', { key: s.adminKey, body: { value: toBase64(new Uint8Array([1, 2, 3])), policy: { hosts: [victim.agent.host.hostId] } } });
    const junk = { nonce: toBase64(new Uint8Array(32).fill(9)), quote: toBase64(new Uint8Array([1, 2, 3])), signature: toBase64(new Uint8Array([4, 5])), eventLog: toBase64(new Uint8Array([6])) };
    for (let i = 0; i < 3; i++) {
      const r = await s.call('POST', `/v1/hosts/${victim.agent.host.hostId}/attestations`, { body: junk });
      expect(r.status).toBe(200);
      expect(r.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_unknown']);
    }
    expect(await trustOf(victim.agent.host.hostId)).toBe('trusted');
    expect(Array.from(await victim.agent.release('flip-disk-key'))).toEqual([1, 2, 3]);
  });
});

describe('evidence the host signed still counts', () => {
  it('its own quote over the wrong nonce makes it untrusted and revokes its token', async () => {
    const host = await trustedHost();
    const nonce = await freshNonce(host.agent.host.hostId);
    const ev = evidence(host.agent.host, new Uint8Array(32), host.agent.host.eventLog);
    const r = await s.call('POST', `/v1/hosts/${host.agent.host.hostId}/attestations`, { body: { ...ev, nonce: toBase64(nonce) } });
    expect(r.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_mismatch']);
    expect(await trustOf(host.agent.host.hostId)).toBe('untrusted');
    expect(await eventKinds(host.agent.host.hostId)).toEqual(['enrolled', 'trusted', 'untrusted']);
  });

  it('its own earlier quote replayed (nonce_reused) makes it untrusted', async () => {
    const host = await trustedHost();
    const ev = evidence(host.agent.host, await freshNonce(host.agent.host.hostId), host.agent.host.eventLog);
    expect((await s.call('POST', `/v1/hosts/${host.agent.host.hostId}/attestations`, { body: ev })).json.verdict).toBe('pass');
    const replay = await s.call('POST', `/v1/hosts/${host.agent.host.hostId}/attestations`, { body: ev });
    expect(replay.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_reused']);
    expect(await trustOf(host.agent.host.hostId)).toBe('untrusted');
  });
});
