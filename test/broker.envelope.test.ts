/**
 * Secrets at rest: the AES-256-GCM envelope, the master key's sources and refusals, and a real
 * SQLite file that holds no plaintext after secrets are stored through the broker API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createBrokerRouter, EnvelopeError, loadMasterKey, MasterKeyError, openSecret, sealSecret } from '../src/broker/index.ts';
import type { SecretRecord, Store } from '../src/store/types.ts';
import { fromBase64, toBase64 } from '../src/util/encoding.ts';
import { fakeRequireRole, listen, testApp, testJsonBody } from './helpers/broker-fakes.ts';

const KEY = new Uint8Array(randomBytes(32));
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-broker-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('envelope', () => {
  it('open(seal(x)) = x for any bytes and name; every seal uses a fresh IV', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), (bytes, name) => {
        const env = sealSecret(KEY, name, bytes);
        expect(env.length).toBe(1 + 12 + bytes.length + 16);
        expect(env[0]).toBe(1);
        expect(Buffer.from(openSecret(KEY, name, env)).equals(Buffer.from(bytes))).toBe(true);
        expect(Buffer.from(sealSecret(KEY, name, bytes)).equals(Buffer.from(env))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('an envelope moved to another name, opened with another key, altered or truncated does not open', () => {
    const env = sealSecret(KEY, 'db-password', new TextEncoder().encode('hunter2'));
    expect(() => openSecret(KEY, 'other-secret', env)).toThrow(EnvelopeError);
    expect(() => openSecret(new Uint8Array(randomBytes(32)), 'db-password', env)).toThrow(EnvelopeError);
    for (let i = 0; i < env.length; i++) {
      const bad = env.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(() => openSecret(KEY, 'db-password', bad)).toThrow(EnvelopeError);
    }
    for (let n = 0; n < env.length; n++) expect(() => openSecret(KEY, 'db-password', env.subarray(0, n))).toThrow(EnvelopeError);
    expect(() => sealSecret(new Uint8Array(16), 'x', new Uint8Array(1))).toThrow(EnvelopeError);
  });
});

describe('master key', () => {
  it('is created once as 32 bytes with mode 0600, then read back unchanged', () => {
    const dir = path.join(tmp, 'data-create');
    const first = loadMasterKey({ dataDir: dir, env: {} });
    expect(first.source).toBe('created');
    expect(first.key.length).toBe(32);
    const file = path.join(dir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadMasterKey({ dataDir: dir, env: {} });
    expect(second.source).toBe('file');
    expect(Buffer.from(second.key).equals(Buffer.from(first.key))).toBe(true);
  });

  it('BOOTGATE_MASTER_KEY (base64 of 32 bytes) wins and no file is written', () => {
    const dir = path.join(tmp, 'data-env');
    const got = loadMasterKey({ dataDir: dir, env: { BOOTGATE_MASTER_KEY: toBase64(KEY) } });
    expect(got.source).toBe('env');
    expect(Buffer.from(got.key).equals(Buffer.from(KEY))).toBe(true);
    expect(existsSync(path.join(dir, 'master.key'))).toBe(false);
  });

  it.each([
    ['too short', toBase64(new Uint8Array(16)), /decodes to 16 bytes/],
    ['too long', toBase64(new Uint8Array(33)), /decodes to 33 bytes/],
    ['not base64', 'not*base64!', /not valid base64/],
    ['empty', '', /not valid base64/],
  ])('BOOTGATE_MASTER_KEY %s → refuse to start with a clear message', (_what, value, message) => {
    expect(() => loadMasterKey({ dataDir: path.join(tmp, 'unused'), env: { BOOTGATE_MASTER_KEY: value } })).toThrow(MasterKeyError);
    expect(() => loadMasterKey({ dataDir: path.join(tmp, 'unused'), env: { BOOTGATE_MASTER_KEY: value } })).toThrow(message);
  });

  it('a key file of the wrong size or readable by others is refused', () => {
    const dir = path.join(tmp, 'data-bad');
    loadMasterKey({ dataDir: dir, env: {} });
    const file = path.join(dir, 'master.key');
    chmodSync(file, 0o644);
    expect(() => loadMasterKey({ dataDir: dir, env: {} })).toThrow(/chmod 600/);
    writeFileSync(file, new Uint8Array(31), { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => loadMasterKey({ dataDir: dir, env: {} })).toThrow(/31 bytes, expected exactly 32/);
  });
});

/** A deliberately tiny Store over a real SQLite file: just the secrets the admin API writes. */
function tinySqliteSecrets(file: string): { store: Store; close: () => void } {
  const db = new Database(file);
  db.exec('CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, ciphertext TEXT NOT NULL, policy TEXT NOT NULL, updated_at TEXT NOT NULL)');
  const impl = {
    async getSecret(name: string): Promise<SecretRecord | undefined> {
      const row = db.prepare('SELECT * FROM secrets WHERE name = ?').get(name) as { name: string; ciphertext: string; policy: string; updated_at: string } | undefined;
      return row && { name: row.name, ciphertext: row.ciphertext, policy: JSON.parse(row.policy) as SecretRecord['policy'], updatedAt: row.updated_at };
    },
    async putSecret(s: SecretRecord): Promise<void> {
      db.prepare('INSERT OR REPLACE INTO secrets VALUES (?, ?, ?, ?)').run(s.name, s.ciphertext, JSON.stringify(s.policy), s.updatedAt);
    },
  };
  return { store: impl as unknown as Store, close: () => db.close() };
}

const PLAINTEXTS = ['correct horse battery staple -- root volume passphrase', 'BEGIN-SECRET-0123456789abcdef-END'];

async function putThroughApi(store: Store, masterKey: Uint8Array): Promise<void> {
  const deps = {
    store,
    requireRole: fakeRequireRole,
    jsonBody: testJsonBody,
    getVerificationKeys: async () => [],
    issuer: 'x',
    masterKey,
    trustOf: async () => ({ status: 'unknown' as const }),
    onTrustEvent: () => undefined,
    now: () => new Date(),
  };
  const server = await listen(testApp(createBrokerRouter(deps)));
  try {
    for (const [i, p] of PLAINTEXTS.entries()) {
      const res = await fetch(`${server.url}/v1/secrets/s${i}`, {
        method: 'PUT',
        headers: { 'x-test-role': 'admin', 'content-type': 'application/json' },
        body: JSON.stringify({ value: toBase64(new TextEncoder().encode(p)), policy: { hosts: ['node-1'] } }),
      });
      expect(res.status).toBe(201);
    }
  } finally {
    await server.close();
  }
}

/** Every byte SQLite wrote for the database (main file, WAL, journal), concatenated. */
function rawDatabaseBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).filter((f) => f.startsWith('db')).map((f) => readFileSync(path.join(dir, f))));
}

function expectNoPlaintext(raw: Buffer): void {
  expect(raw.length).toBeGreaterThan(0);
  for (const p of PLAINTEXTS) {
    const bytes = Buffer.from(p);
    for (const form of [bytes, Buffer.from(bytes.toString('base64')), Buffer.from(bytes.toString('hex')), Buffer.from(bytes.toString('base64url'))]) {
      expect(raw.includes(form)).toBe(false);
    }
    // Not even a fragment: any 16-byte window of the plaintext.
    for (let i = 0; i + 16 <= bytes.length; i++) expect(raw.includes(bytes.subarray(i, i + 16))).toBe(false);
  }
}

describe('at rest in a real SQLite file', () => {
  it('control: the same grep does find a plaintext row in such a file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'sqlite-control-'));
    const { store, close } = tinySqliteSecrets(path.join(dir, 'db.sqlite'));
    await store.putSecret({ name: 'leak', ciphertext: PLAINTEXTS[0] as string, policy: {}, updatedAt: 'now' });
    close();
    expect(rawDatabaseBytes(dir).includes(Buffer.from(PLAINTEXTS[0] as string))).toBe(true);
  });

  it('a tiny better-sqlite3 table written through PUT /v1/secrets holds envelopes only, which open with the master key', async () => {
    const dir = mkdtempSync(path.join(tmp, 'sqlite-tiny-'));
    const { store, close } = tinySqliteSecrets(path.join(dir, 'db.sqlite'));
    await putThroughApi(store, KEY);
    const stored = await store.getSecret('s0');
    close();
    expectNoPlaintext(rawDatabaseBytes(dir));
    const env = fromBase64(stored?.ciphertext ?? '');
    expect(env).not.toBeNull();
    expect(new TextDecoder().decode(openSecret(KEY, 's0', env as Uint8Array))).toBe(PLAINTEXTS[0]);
  });

  const sqliteStorePath = path.resolve(import.meta.dirname, '..', 'src', 'store', 'sqlite.ts');
  it.skipIf(!existsSync(sqliteStorePath))("the service's SqliteStore file (and its WAL) holds no plaintext either", async () => {
    const { SqliteStore } = (await import(sqliteStorePath)) as { SqliteStore: new (file: string) => Store };
    const dir = mkdtempSync(path.join(tmp, 'sqlite-store-'));
    const store = new SqliteStore(path.join(dir, 'db.sqlite'));
    try {
      await putThroughApi(store, KEY);
      expectNoPlaintext(rawDatabaseBytes(dir)); // before close: the rows may still sit in the WAL
      const env = fromBase64((await store.getSecret('s1'))?.ciphertext ?? '');
      expect(new TextDecoder().decode(openSecret(KEY, 's1', env as Uint8Array))).toBe(PLAINTEXTS[1]);
    } finally {
      await store.close();
    }
    expectNoPlaintext(rawDatabaseBytes(dir));
  });
});
