/** Attestation tokens: verifiable with the JWKS alone, TTL, expiry, key persistence and rotation. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../src/store/sqlite/migrations.ts';
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, calculateJwkThumbprint, type JWK } from 'jose';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { KeyringError, SigningKeyring, rotateSigningKey } from '../src/token/keys.ts';
import { issueAttestationToken } from '../src/token/attestation-token.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

const TTL = 2;
const MASTER = new Uint8Array(randomBytes(32));
let s: TestServer;
let agent: HostAgent;
beforeAll(async () => {
  s = await startTestServer({ env: { BOOTGATE_TOKEN_TTL: String(TTL), BOOTGATE_ISSUER: 'https://bootgate.test' } });
  agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
});
afterAll(async () => {
  await s?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function passToken(): Promise<string> {
  const r = await agent.attest();
  expect(r.verdict).toBe('pass');
  return String(r.token);
}

describe('attestation tokens', () => {
  it('verify with the remote JWKS alone; exp − iat = TTL; the configured issuer; kid is the key thumbprint', async () => {
    const token = await passToken();
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: 'https://bootgate.test', algorithms: ['ES256'] });
    expect(payload.exp! - payload.iat!).toBe(TTL);
    expect(payload.sub).toBe(agent.host.hostId);
    expect(typeof payload.jti).toBe('string');
    const published = (await s.call('GET', '/.well-known/jwks.json')).json.keys as JWK[];
    const key = published.find((k) => k.kid === protectedHeader.kid);
    expect(key).toBeDefined();
    expect(await calculateJwkThumbprint(key!, 'sha256')).toBe(protectedHeader.kid);
    for (const k of published) expect(Object.keys(k)).not.toContain('d');
  });

  it('jti is unique per token', async () => {
    const a = JSON.parse(Buffer.from((await passToken()).split('.')[1]!, 'base64url').toString()).jti;
    const b = JSON.parse(Buffer.from((await passToken()).split('.')[1]!, 'base64url').toString()).jti;
    expect(a).not.toBe(b);
  });

  it('expires after TTL: the JWKS check refuses it and the host reads expired', async () => {
    const token = await passToken();
    await sleep(TTL * 1000 + 1100);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    await expect(jwtVerify(token, jwks)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    const view = await s.call('GET', `/v1/hosts/${agent.host.hostId}`, { key: s.schedulerKey });
    expect(view.json.trust.status).toBe('expired');
    const expired = await s.call('GET', '/v1/hosts?trust=expired', { key: s.schedulerKey });
    expect(expired.json.hosts.map((h: { hostId: string }) => h.hostId)).toContain(agent.host.hostId);
  });

  it('rotation: the new key signs, the old key stays published until its tokens expired', async () => {
    const before = await passToken();
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await rotateSigningKey(s.service.keyring);
    expect(newKid).not.toBe(oldKid);
    const after = await passToken();
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    const kids = ((await s.call('GET', '/.well-known/jwks.json')).json.keys as JWK[]).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    await jwtVerify(before, jwks);
    await jwtVerify(after, jwks);
    // Once every token of the old key has expired (TTL + leeway), it leaves the JWKS.
    const later = new Date(Date.now() + (TTL + 61) * 1000);
    expect(s.service.keyring.jwks(later).keys.map((k) => k.kid)).toEqual([newKid]);
  });
});

describe('POST /v1/keys/rotate', () => {
  it('is admin only, and rotates over HTTP: tokens of both keys verify with the JWKS alone', async () => {
    expect((await s.call('POST', '/v1/keys/rotate')).status).toBe(401);
    expect((await s.call('POST', '/v1/keys/rotate', { key: s.schedulerKey })).status).toBe(403);
    const before = await passToken();
    const r = await s.call('POST', '/v1/keys/rotate', { key: s.adminKey });
    expect(r.status).toBe(201);
    expect(r.json.kid).not.toBe(decodeProtectedHeader(before).kid);
    expect(r.json.published).toEqual(expect.arrayContaining([decodeProtectedHeader(before).kid, r.json.kid]));
    const after = await passToken();
    expect(decodeProtectedHeader(after).kid).toBe(r.json.kid);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl));
    await jwtVerify(before, jwks);
    await jwtVerify(after, jwks);
  });
});

describe('signing keyring', () => {
  it('generates one key on first open, persists it, and loads the same on reopen (including rotations)', async () => {
    const store = openSqliteStore(':memory:');
    const a = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    const b = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    expect(b.current().kid).toBe(a.current().kid);
    expect(await store.listSigningKeys()).toHaveLength(1);
    const rotated = await a.rotate(new Date());
    const c = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    expect(c.current().kid).toBe(rotated);
    expect(c.jwks().keys).toHaveLength(2);
    const t = await issueAttestationToken(c, { issuer: 'x', ttlSeconds: 60, now: new Date() }, { hostId: 'h', appraisalId: 'a', profile: 'p@1', akName: '00', pcrDigest: '11', bindingKeyThumbprint: 'j' });
    expect(t.expiresAt.getTime() - t.issuedAt.getTime()).toBe(60_000);
    expect(JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString())).toMatchObject({ cnf: { jkt: 'j' }, pcrDigest: '11', ak: '00' });
    await store.close();
  });

  /** A private JWK in clear, as versions before sealed keys stored it. */
  async function clearKey(createdAt: Date): Promise<{ kid: string; privateJwk: string; publicJwk: string; createdAt: string }> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    return { kid, privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'ES256' }), publicJwk: JSON.stringify({ ...pub, kid, alg: 'ES256', use: 'sig' }), createdAt: createdAt.toISOString() };
  }

  it('keeps private keys sealed, seals a key an earlier version stored in clear, and refuses another master key', async () => {
    // A database written by a version before sealed keys (schema 5), with its key in clear.
    const dir = mkdtempSync(path.join(tmpdir(), 'bootgate-keys-'));
    const file = path.join(dir, 'old.db');
    const old = new Database(file);
    migrate(old, MIGRATIONS.filter((m) => m.version <= 5));
    const legacy = await clearKey(new Date());
    old.prepare('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at) VALUES (?, ?, ?, ?)').run(legacy.kid, legacy.privateJwk, legacy.publicJwk, legacy.createdAt);
    old.close();

    const store = openSqliteStore(file);
    expect((await store.listSigningKeys())[0]?.legacyClear).toBe(true);
    const ring = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    expect(ring.current().kid).toBe(legacy.kid);
    const [stored] = await store.listSigningKeys();
    expect(stored?.privateJwk).not.toContain('"d"');
    expect(() => JSON.parse(stored!.privateJwk)).toThrow();
    expect(stored?.legacyClear).toBeUndefined();
    await expect(SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: new Uint8Array(randomBytes(32)) })).rejects.toBeInstanceOf(KeyringError);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never publishes or signs with a clear key planted in the database: refused at start, ignored while running', async () => {
    const store = openSqliteStore(':memory:');
    const ring = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    const honest = ring.current().kid;
    const planted = await clearKey(new Date(Date.now() + 1000));
    await store.putSigningKey(planted);
    await ring.refresh();
    expect(ring.current().kid).toBe(honest);
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([honest]);
    await expect(SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER })).rejects.toThrow(/stored in clear .* refusing/);
    await store.close();
  });

  it('refresh() picks up a rotation made through another keyring on the same store (another replica)', async () => {
    const store = openSqliteStore(':memory:');
    const a = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    const b = await SigningKeyring.open(store, { tokenTtlSeconds: 60, masterKey: MASTER });
    const oldKid = a.current().kid;
    const newKid = await a.rotate(new Date());
    expect(b.current().kid).toBe(oldKid);
    await b.refresh();
    expect(b.current().kid).toBe(newKid);
    expect(b.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    await store.close();
  });
});
