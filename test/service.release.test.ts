/**
 * The key broker and the trust-event feed as mounted by the service: a host that attests with a
 * binding key gets a secret released to it; a token of a host that then fails is refused; schedulers
 * follow trust changes by long-poll.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { toBase64 } from '../src/util/encoding.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

async function agentWith(): Promise<HostAgent> {
  const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

/**
 * Attests with a fresh binding key and returns what the host needs to release secrets, sending the
 * binding JWK again in the release body ({"jwk": ...}, the optional form src/broker accepts).
 */
async function attestBound(agent: HostAgent, kind: 'ec' | 'rsa'): Promise<{ token: string; privateKey: CryptoKey; jwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(kind === 'ec' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256', { extractable: true });
  const full = await exportJWK(publicKey);
  const jwk: JWK = full.kty === 'EC' ? { kty: 'EC', crv: full.crv, x: full.x, y: full.y } : { kty: 'RSA', n: full.n, e: full.e };
  const thumbprint = Buffer.from(await calculateJwkThumbprint(jwk, 'sha256'), 'base64url');
  const nonce = await agent.nonce();
  const q = agent.host.quote(new Uint8Array(createHash('sha256').update(nonce).update(thumbprint).digest()));
  const r = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, {
    body: {
      nonce: toBase64(nonce),
      quote: toBase64(q.quote),
      signature: toBase64(q.signature),
      eventLog: toBase64(agent.host.eventLog),
      pcrs: { sha256: Object.fromEntries([...(q.pcrs.sha256 ?? new Map<number, Uint8Array>())].map(([k, v]) => [String(k), Buffer.from(v).toString('hex')])) },
      bindingKey: jwk,
    },
  });
  expect(r.json.verdict, JSON.stringify(r.json.failures)).toBe('pass');
  return { token: String(r.json.token), privateKey, jwk };
}

async function release(name: string, bound: { token: string; privateKey: CryptoKey; jwk: JWK }): Promise<{ status: number; json: any; plaintext?: string }> {
  const r = await s.call('POST', `/v1/secrets/${name}/release`, { headers: { authorization: `Bearer ${bound.token}` }, body: { jwk: bound.jwk } });
  if (r.status !== 200) return r;
  const { plaintext } = await compactDecrypt(String(r.json.jwe), bound.privateKey);
  return { ...r, plaintext: Buffer.from(plaintext).toString() };
}

describe('key release through the service', () => {
  it('releases a secret to a host that attested with an EC or RSA binding key', async () => {
    const value = new TextEncoder().encode('disk-unlock-key-0123456789');
    const put = await s.call('PUT', '/v1/secrets/disk-key', { key: s.adminKey, body: { value: toBase64(value), policy: { profiles: [SIM_PROFILE] } } });
    expect(put.status).toBe(201);
    for (const kind of ['ec', 'rsa'] as const) {
      const bound = await attestBound(await agentWith(), kind);
      expect((await release('disk-key', bound)).plaintext).toBe('disk-unlock-key-0123456789');
    }
    const audit = await s.call('GET', '/v1/secrets/disk-key/releases', { key: s.adminKey });
    expect(audit.json.releases.filter((r: { outcome: string }) => r.outcome === 'released')).toHaveLength(2);
  });

  it('releases with the bearer token alone (contract §3.5): the verifier kept the binding key from the attestation', async () => {
    const value = new TextEncoder().encode('tenant-7-disk-key');
    await s.call('PUT', '/v1/secrets/tenant-7', { key: s.adminKey, body: { value: toBase64(value), policy: { profiles: [SIM_PROFILE] } } });
    for (const kind of ['ec', 'rsa'] as const) {
      const host = createSimHost({ ekType: 'ecc', akType: 'ecc' });
      const agent = new HostAgent(host, s.baseUrl, { bindingKey: kind });
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const r = await agent.attest();
      expect(r.verdict, JSON.stringify(r.failures)).toBe('pass');
      expect(Buffer.from(await agent.release('tenant-7')).toString()).toBe('tenant-7-disk-key');
    }
    // A relay holding the token but another key gets nothing: naming its own key is refused.
    const thief = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc' });
    const agent = new HostAgent(host, s.baseUrl, { bindingKey: 'ec' });
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const token = String((await agent.attest()).token);
    const stolen = await s.call('POST', '/v1/secrets/tenant-7/release', {
      headers: { authorization: `Bearer ${token}` },
      body: { jwk: await exportJWK(thief.publicKey) },
    });
    expect(stolen.status).toBe(403);
    expect(stolen.json.error.code).toBe('binding_key_mismatch');
  });

  it('refuses an unbound token, and the token of a host whose later appraisal failed', async () => {
    await s.call('PUT', '/v1/secrets/other', { key: s.adminKey, body: { value: toBase64(new Uint8Array([1, 2, 3])), policy: { profiles: [SIM_PROFILE] } } });
    const unbound = await agentWith();
    const r = await unbound.attest();
    const refused = await s.call('POST', '/v1/secrets/other/release', { headers: { authorization: `Bearer ${String(r.token)}` }, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('token_unbound');

    const agent = await agentWith();
    const bound = await attestBound(agent, 'ec');
    expect((await release('other', bound)).status).toBe(200);
    // A failing appraisal (evidence for a nonce the verifier never issued) revokes the earlier token.
    const ev = await agent.collectEvidence();
    const bad = await s.call('POST', `/v1/hosts/${agent.host.hostId}/attestations`, { body: { ...ev, nonce: toBase64(new Uint8Array(32)) } });
    expect(bad.json.verdict).toBe('fail');
    const late = await release('other', bound);
    expect(late.status).toBe(401);
    expect(late.json.error.code).toBe('token_revoked');
  });

  it('introspects tokens for the broker role', async () => {
    const agent = await agentWith();
    const r = await agent.attest();
    const intro = await s.call('POST', '/v1/tokens/introspect', { key: s.brokerKey, body: { token: r.token } });
    expect(intro.json).toMatchObject({ active: true, sub: agent.host.hostId, appraisal: r.appraisalId, iss: s.baseUrl });
  });
});

describe('trust events through the service', () => {
  it('lists enrolled and trust changes, and wakes a long-poll when a host changes trust', async () => {
    const before = await s.call('GET', '/v1/events?after=0&timeout=0&limit=1000', { key: s.schedulerKey });
    const lastSeq = before.json.lastSeq as number;
    const agent = await agentWith();
    const poll = s.call('GET', `/v1/events?after=${lastSeq}&timeout=30`, { key: s.schedulerKey });
    const first = await poll;
    expect(first.json.events[0]).toMatchObject({ hostId: agent.host.hostId, kind: 'enrolled' });
    const waiting = s.call('GET', `/v1/events?after=${first.json.lastSeq}&timeout=30`, { key: s.schedulerKey });
    await new Promise((r) => setTimeout(r, 100));
    await agent.attest();
    const woke = await waiting;
    expect(woke.json.events).toEqual([expect.objectContaining({ hostId: agent.host.hostId, kind: 'trusted' })]);
  });
});
