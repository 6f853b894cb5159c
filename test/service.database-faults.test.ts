/**
 * Database faults as an operator meets them with `bootgate serve`: a bad or partial
 * BOOTGATE_DATABASE_URL, a database unreachable at start, a database lost while serving (503 in
 * the contract's error shape, /healthz says so, recovery without a restart, nothing acknowledged
 * that was not committed), and a replica whose master key differs from the others'.
 */
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { SIM_PROFILE } from '../src/demo/verifier.ts';
import { freshDatabase, havePostgres, interruptibleLink, onDatabase } from './helpers/postgres.ts';
import { replicaEnv, serveUntilExit, startServe } from './helpers/serve-process.ts';

const ADMIN = `admin:${randomBytes(16).toString('hex')}`;
const STACK_LINE = /^\s+at /m;

// The other malformed URLs are refused by the same check: test/service.config.test.ts.
describe('BOOTGATE_DATABASE_URL at start', () => {
  it.each([
    ['another scheme', 'mysql://bootgate:hunter2@db.example/bootgate', /the scheme is "mysql:", not postgres:/],
    ['no database name', 'postgres://bootgate:hunter2@db.example:5432', /postgres:\/\/bootgate:\*\*\*@db\.example:5432 names no database/],
  ])('refuses %s with one clear line, exit 2, never printing the password', async (_what, url, message) => {
    const r = await serveUntilExit(replicaEnv({ BOOTGATE_DATABASE_URL: url, BOOTGATE_API_KEYS: ADMIN }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^bootgate serve: BOOTGATE_DATABASE_URL: /);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).toBe('');
  });

  it('an unreachable database: exit non-zero within 30 s, naming its host and the cause, no stack trace, no password', async () => {
    const r = await serveUntilExit(replicaEnv({ BOOTGATE_DATABASE_URL: 'postgres://bootgate:hunter2@127.0.0.1:1/bootgate', BOOTGATE_API_KEYS: ADMIN }), 40_000);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/cannot reach the database at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).not.toContain('listening');
  });
});

describe.skipIf(!havePostgres())('the database while serving (BOOTGATE_TEST_DATABASE_URL not set)', () => {
  it('lost: 503 storage_unavailable in the error shape, /healthz says the database is down, nothing acknowledged is missing; back: serves again without a restart', async () => {
    const db = await freshDatabase('bg_pg_faults');
    const link = await interruptibleLink(db);
    const key = randomBytes(16).toString('hex');
    const server = await startServe(replicaEnv({ BOOTGATE_DATABASE_URL: link.db.url, BOOTGATE_API_KEYS: `admin:${key}` }));
    try {
      const agent = new HostAgent(createSimHost({ hostId: 'fault-host' }), server.url);
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const acked = [String((await agent.attest()).appraisalId)];
      const evidence = await agent.collectEvidence();

      await link.down();
      const nonce = await fetch(new URL('/v1/hosts/fault-host/nonce', server.url), { method: 'POST' });
      expect(nonce.status).toBe(503);
      expect(nonce.headers.get('retry-after')).toBe('5');
      const body = (await nonce.json()) as { error: { code: string; message: string } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe('storage_unavailable');
      expect(body.error.message).toMatch(/the database at 127\.0\.0\.1:\d+ is unavailable/);
      const attest = await fetch(new URL('/v1/hosts/fault-host/attestations', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(evidence),
      });
      expect(attest.status).toBe(503);
      const health = await fetch(new URL('/healthz', server.url));
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ error: { code: 'storage_unavailable', message: expect.stringMatching(/the database at 127\.0\.0\.1:\d+ is unreachable/) } });
      // The JWKS stays served from memory: relying parties keep verifying tokens.
      expect((await fetch(new URL('/.well-known/jwks.json', server.url))).status).toBe(200);

      await link.up();
      const back = await fetch(new URL('/healthz', server.url));
      expect(back.status).toBe(200);
      acked.push(String((await agent.attest()).appraisalId));
      const stored = await onDatabase(db, async (c) => (await c.query<{ appraisal_id: string }>("SELECT appraisal_id FROM appraisals WHERE host_id = 'fault-host' ORDER BY seq")).rows.map((r) => r.appraisal_id));
      // Everything acknowledged is there; the submission answered 503 left nothing behind.
      expect(stored).toEqual(acked);
      expect(server.child.exitCode).toBeNull();
    } finally {
      await server.stop();
      server.remove();
      await link.close();
      await db.drop();
    }
  });

  it('a replica whose master key differs from the one that sealed the stored keys refuses to start, saying so', async () => {
    const db = await freshDatabase('bg_pg_faults');
    try {
      const env = replicaEnv({ BOOTGATE_DATABASE_URL: db.url, BOOTGATE_API_KEYS: ADMIN });
      const first = await startServe({ ...env, BOOTGATE_MASTER_KEY: randomBytes(32).toString('base64') });
      await first.stop();
      first.remove();
      const second = await serveUntilExit({ ...env, BOOTGATE_MASTER_KEY: randomBytes(32).toString('base64') });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/does not open with this master key: every process on one database must share BOOTGATE_MASTER_KEY/);
      expect(second.stderr).not.toMatch(STACK_LINE);
    } finally {
      await db.drop();
    }
  });
});
