/**
 * HostAgent speaks contract §3 against a small in-test fake of the verifier that does the real
 * cryptography: MakeCredential, quote verification, single-use nonces, binding-key JWE release.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactEncrypt, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCredentialFile, makeCredential } from '../src/tpm/credential.ts';
import { parsePublic, tpmObjectName, verifyQuote } from '../src/tpm/index.ts';
import { bytesEqual, fromBase64, toBase64, toHex } from '../src/util/encoding.ts';
import { AgentHttpError, HostAgent, createSimHost } from '../tpm-sim/index.ts';

interface Enrollment {
  hostId: string;
  akPub: Uint8Array;
  secret: Uint8Array;
}
const enrollments = new Map<string, Enrollment>();
const hosts = new Map<string, Uint8Array>();
const nonces = new Map<string, { hostId: string; used: boolean }>();
const tokens = new Map<string, JWK | undefined>();
const SECRET_VALUE = new TextEncoder().encode('database password');

function b64(x: unknown): Uint8Array {
  const v = typeof x === 'string' ? fromBase64(x) : null;
  if (!v) throw new Error('bad base64');
  return v;
}

async function route(req: IncomingMessage, body: Record<string, unknown>): Promise<[number, unknown]> {
  const url = req.url ?? '';
  let m: RegExpExecArray | null;
  if (url === '/v1/enrollments') {
    const akPub = b64(body.akPub);
    const secret = new Uint8Array(randomBytes(32));
    const made = makeCredential(parsePublic(b64(body.ekPub)), tpmObjectName(parsePublic(akPub)), secret);
    const id = randomBytes(8).toString('hex');
    enrollments.set(id, { hostId: String(body.hostId), akPub, secret });
    return [201, { enrollmentId: id, credentialBlob: toBase64(encodeCredentialFile(made)), expiresAt: new Date(Date.now() + 60_000).toISOString() }];
  }
  if ((m = /^\/v1\/enrollments\/(\w+)\/activate$/.exec(url))) {
    const e = enrollments.get(m[1] ?? '');
    if (!e || !bytesEqual(b64(body.secret), e.secret)) return [403, { error: { code: 'activation_failed', message: 'wrong secret' } }];
    hosts.set(e.hostId, e.akPub);
    return [200, { hostId: e.hostId, akName: toHex(tpmObjectName(parsePublic(e.akPub))), status: 'enrolled' }];
  }
  if ((m = /^\/v1\/hosts\/([\w.:-]+)\/nonce$/.exec(url))) {
    const n = randomBytes(32).toString('base64');
    nonces.set(n, { hostId: m[1] ?? '', used: false });
    return [201, { nonce: n, expiresAt: new Date(Date.now() + 60_000).toISOString() }];
  }
  if ((m = /^\/v1\/hosts\/([\w.:-]+)\/attestations$/.exec(url))) {
    const akPub = hosts.get(m[1] ?? '');
    if (!akPub) return [404, { error: { code: 'host_not_found', message: 'unknown host' } }];
    const failures: string[] = [];
    const n = nonces.get(String(body.nonce));
    if (!n) failures.push('nonce_unknown');
    else if (n.used) failures.push('nonce_reused');
    if (n) n.used = true;
    const jwk = body.bindingKey as JWK | undefined;
    const nonce = b64(body.nonce);
    const extra = jwk
      ? new Uint8Array(createHash('sha256').update(nonce).update(Buffer.from(await calculateJwkThumbprint(jwk, 'sha256'), 'base64url')).digest())
      : nonce;
    const v = verifyQuote({ akPub: parsePublic(akPub), quote: b64(body.quote), signature: b64(body.signature), expectedExtraData: extra });
    failures.push(...v.failures.map((f) => f.code));
    if (!(b64(body.eventLog).length > 0)) failures.push('event_log_missing');
    const pass = failures.length === 0;
    const token = pass ? randomBytes(16).toString('hex') : undefined;
    if (token) tokens.set(token, jwk);
    return [200, { appraisalId: 'a1', verdict: pass ? 'pass' : 'fail', profile: null, failures: failures.map((code) => ({ code, message: code })), pcrs: body.pcrs, ...(token ? { token } : {}) }];
  }
  if ((m = /^\/v1\/secrets\/(\w+)\/release$/.exec(url))) {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const jwk = tokens.get(token);
    if (!jwk) return [403, { error: { code: 'token_unbound', message: 'no binding key' } }];
    const alg = jwk.kty === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256';
    const jwe = await new CompactEncrypt(SECRET_VALUE).setProtectedHeader({ alg, enc: 'A256GCM' }).encrypt(await importJWK(jwk, alg));
    return [200, { jwe }];
  }
  return [404, { error: { code: 'not_found', message: url } }];
}

let baseUrl = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    route(req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {})
      .then(([status, json]) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json)))
      .catch((err: unknown) => res.writeHead(500).end(JSON.stringify({ error: { code: 'fake', message: String(err) } })));
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('HostAgent', () => {
  it.each([
    ['rsa', 'rsa', 'ec'],
    ['ecc', 'ecc', 'rsa'],
  ] as const)('%s EK / %s AK: enroll, activate, attest with a %s binding key, release the secret', async (ekType, akType, bindingKey) => {
    const agent = new HostAgent(createSimHost({ ekType, akType }), baseUrl, { bindingKey });
    await agent.enroll();
    const act = await agent.activate();
    expect(act.status).toBe('enrolled');
    expect(act.akName).toBe(toHex(agent.host.akName));
    const r = await agent.attest();
    expect(r.failures).toEqual([]);
    expect(r.verdict).toBe('pass');
    expect(Object.keys((r.pcrs as Record<string, Record<string, string>>).sha256 ?? {}).length).toBe(16);
    expect(new TextDecoder().decode(await agent.release('db'))).toBe('database password');
  });

  it('a replayed-quote host resubmits its consumed nonce and quote, and is refused with nonce_reused', async () => {
    const agent = new HostAgent(createSimHost({ scenario: 'replayed-quote', ekType: 'ecc', akType: 'ecc' }), baseUrl);
    await agent.enroll();
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict).toBe('fail');
    expect((r.failures as { code: string }[]).map((f) => f.code)).toEqual(['nonce_reused']);
  });

  it('surfaces HTTP errors with status and body', async () => {
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), baseUrl);
    await expect(agent.attest()).rejects.toThrow(AgentHttpError);
    await expect(agent.attest()).rejects.toMatchObject({ status: 404 });
  });
});
