/**
 * Contract §7 end to end: two real `bootgate serve` processes on one PostgreSQL database behave,
 * from outside, as one service. Enrollment started on one activates on the other; a nonce from
 * one is accepted once by either; a rotation on one is published and used by both; the events
 * feed and webhooks show each trust change once, in one order, whichever replica appraised it;
 * SIGKILL of a replica under load loses nothing it acknowledged.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import type { ScenarioName } from '../tpm-sim/scenarios.ts';
import { SIM_PROFILE } from '../src/demo/verifier.ts';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/index.ts';
import { verifyWebhookSignature } from '../src/events/index.ts';
import { freshDatabase, havePostgres, onDatabase, type TestDatabase } from './helpers/postgres.ts';
import { replicaEnv, startServe, type ServeProcess } from './helpers/serve-process.ts';

const HAVE = havePostgres();
const MASTER_KEY = randomBytes(32).toString('base64');

/** A fetch for HostAgent that sends each request to whichever replica `to` names now. */
function router(initial: string) {
  let target = initial;
  return {
    to(url: string) {
      target = url;
    },
    fetch: ((input: string | URL, init?: RequestInit) => {
      const u = new URL(String(input));
      return fetch(new URL(u.pathname + u.search, target), init);
    }) as typeof fetch,
  };
}

async function call(base: string, method: string, path: string, key?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe.skipIf(!HAVE)('two bootgate replicas on one PostgreSQL database (BOOTGATE_TEST_DATABASE_URL not set)', () => {
  let db: TestDatabase;
  let a: ServeProcess;
  let b: ServeProcess;
  let adminKey: string;

  /** A host enrolled on A and activated on B, with the reference profile. */
  async function enrolledAgent(scenario: ScenarioName = 'clean') {
    const r = router(a.url);
    const agent = new HostAgent(createSimHost({ scenario, hostId: `rep-${scenario}-${randomBytes(3).toString('hex')}` }), a.url, { fetch: r.fetch });
    await agent.enroll([SIM_PROFILE]);
    r.to(b.url);
    await agent.activate();
    return { agent, r };
  }

  beforeAll(async () => {
    db = await freshDatabase('bg_pg_replicas');
    // Both start at once on an empty database: one migrates, one generates the admin key, both use them.
    const env = replicaEnv({ BOOTGATE_DATABASE_URL: db.url, BOOTGATE_MASTER_KEY: MASTER_KEY });
    [a, b] = await Promise.all([startServe(env), startServe(env)]);
    adminKey = readFileSync(join(a.dataDir, 'admin.key'), 'utf8').trim();
  });
  afterAll(async () => {
    for (const r of [a, b]) {
      await r?.stop();
      r?.remove();
    }
    await db?.drop();
  });

  it('both replicas answer to the one generated admin key', async () => {
    expect(readFileSync(join(b.dataDir, 'admin.key'), 'utf8').trim()).toBe(adminKey);
    for (const r of [a, b]) expect((await call(r.url, 'GET', '/v1/golden', adminKey)).status).toBe(200);
  });

  it('enrollment started on one replica activates on the other; a nonce from one is accepted by the other, once', async () => {
    const { agent, r } = await enrolledAgent();
    r.to(a.url);
    const evidence = await agent.collectEvidence();
    r.to(b.url);
    const first = await agent.submit(evidence);
    expect(first.verdict).toBe('pass');
    r.to(a.url);
    const replay = await agent.submit(evidence);
    expect(replay.verdict).toBe('fail');
    expect(replay.failures).toEqual([expect.objectContaining({ code: 'nonce_reused' })]);
    // Both replicas give the same answer about the host.
    const views = await Promise.all([a, b].map((x) => call(x.url, 'GET', `/v1/hosts/${agent.host.hostId}`, adminKey)));
    for (const v of views) expect(v.json.trust).toMatchObject({ status: 'untrusted', appraisalId: replay.appraisalId });
  });

  it('50 concurrent submissions of one nonce, split over the two replicas: exactly one passes', async () => {
    const { agent, r } = await enrolledAgent();
    r.to(a.url);
    const evidence = await agent.collectEvidence();
    const path = `/v1/hosts/${agent.host.hostId}/attestations`;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 ? b.url : a.url, 'POST', path, undefined, evidence)));
    expect(answers.every((x) => x.status === 200)).toBe(true);
    expect(answers.filter((x) => x.json.verdict === 'pass')).toHaveLength(1);
    for (const x of answers.filter((y) => y.json.verdict !== 'pass')) expect(x.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_reused']);
  });

  it('tokens from either replica verify with the JWKS of the other; after a rotation on one, both publish and sign with the new key', async () => {
    const { agent, r } = await enrolledAgent();
    const jwksOf = (x: ServeProcess) => createRemoteJWKSet(new URL('/.well-known/jwks.json', x.url), { cacheMaxAge: 0, cooldownDuration: 0 });
    r.to(a.url);
    const fromA = String((await agent.attest()).token);
    r.to(b.url);
    const fromB = String((await agent.attest()).token);
    await jwtVerify(fromA, jwksOf(b));
    await jwtVerify(fromB, jwksOf(a));
    const oldKid = decodeProtectedHeader(fromB).kid;

    const rotated = await call(a.url, 'POST', '/v1/keys/rotate', adminKey);
    expect(rotated.status).toBe(201);
    const newKid = rotated.json.kid as string;
    // B's very next JWKS answer publishes the new key and keeps the old one.
    const kids = ((await call(b.url, 'GET', '/.well-known/jwks.json')).json.keys as Array<{ kid: string }>).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    // B signs with the new key as soon as it has heard of the rotation (LISTEN/NOTIFY).
    let kid: string | undefined;
    for (let i = 0; i < 50 && kid !== newKid; i++) {
      kid = decodeProtectedHeader(String((await agent.attest()).token)).kid;
      if (kid !== newKid) await new Promise((res) => setTimeout(res, 100));
    }
    expect(kid).toBe(newKid);
    await jwtVerify(fromB, jwksOf(b));
    await jwtVerify(String(agent.token), jwksOf(a));
  });

  it('a profile version stored on one replica is used by the other at its next attestations', async () => {
    const name = `rep-prof-${randomBytes(3).toString('hex')}`;
    const reference = (await call(a.url, 'GET', `/v1/golden/${SIM_PROFILE}`, adminKey)).json;
    expect((await call(a.url, 'PUT', `/v1/golden/${name}`, adminKey, { ...reference, name, version: '1' })).status).toBe(201);
    const { agent, r } = await enrolledAgent('kernel-swap');
    expect((await call(a.url, 'PUT', `/v1/hosts/${agent.host.hostId}`, adminKey, { profiles: [name] })).status).toBe(200);
    r.to(b.url);
    const before = await agent.attest();
    expect(before).toMatchObject({ verdict: 'fail', profile: `${name}@1` });
    // Version 2 accepts this host's kernel: stored through A, B must appraise with it.
    const log = parseEventLog(agent.host.eventLog);
    const learned = learnProfile(log, replayEventLog(log), { name });
    expect((await call(a.url, 'PUT', `/v1/golden/${name}`, adminKey, { ...learned, version: '2' })).status).toBe(201);
    let answer: Record<string, unknown> = before;
    for (let i = 0; i < 50 && answer.verdict !== 'pass'; i++) {
      answer = await agent.attest();
      if (answer.verdict !== 'pass') await new Promise((res) => setTimeout(res, 100));
    }
    expect(answer).toMatchObject({ verdict: 'pass', profile: `${name}@2` });
  });

  it('the events feed and webhooks show each trust change once, in one order, whichever replica appraised it', async () => {
    const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const rx = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((res) => rx.listen(0, '127.0.0.1', res));
    const secret = randomBytes(32);
    try {
      const hook = await call(b.url, 'PUT', '/v1/webhooks/ops', adminKey, { url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook`, secret: secret.toString('base64') });
      expect(hook.status).toBe(201);
      expect((await call(a.url, 'GET', '/v1/webhooks', adminKey)).json.webhooks.map((w: { id: string }) => w.id)).toEqual(['ops']);
      const start = (await call(a.url, 'GET', '/v1/events?timeout=0&limit=1000', adminKey)).json.lastSeq as number;

      // A long-poll waiting on A is woken by a change appraised on B.
      const waiting = call(a.url, 'GET', `/v1/events?after=${start}&timeout=30`, adminKey);
      const { agent, r } = await enrolledAgent('kernel-swap');
      const t0 = Date.now();
      const woke = await waiting;
      expect(woke.json.events[0]).toMatchObject({ hostId: agent.host.hostId, kind: 'enrolled' });
      expect(Date.now() - t0).toBeLessThan(5000);

      r.to(a.url);
      expect((await agent.attest()).verdict).toBe('fail');
      const clean = await enrolledAgent();
      clean.r.to(b.url);
      expect((await clean.agent.attest()).verdict).toBe('pass');
      clean.r.to(a.url);
      await clean.agent.attest();

      const feeds = await Promise.all([a, b].map(async (x) => (await call(x.url, 'GET', `/v1/events?after=${start}&timeout=0&limit=1000`, adminKey)).json.events));
      expect(feeds[0]).toEqual(feeds[1]);
      const mine = (feeds[0] as Array<{ seq: number; hostId: string; kind: string }>).filter((e) => [agent.host.hostId, clean.agent.host.hostId].includes(e.hostId));
      expect(mine.map((e) => `${e.hostId === agent.host.hostId ? 'bad' : 'good'}:${e.kind}`)).toEqual(['bad:enrolled', 'bad:untrusted', 'good:enrolled', 'good:trusted']);
      const seqs = (feeds[0] as Array<{ seq: number }>).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));

      // Every event since the webhook existed reached it once, from one replica or the other.
      const deadline = Date.now() + 15_000;
      while (got.length < seqs.length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      await new Promise((res) => setTimeout(res, 500));
      expect(got.map((g) => Number(g.headers['x-bootgate-event-seq'])).sort((x, y) => x - y)).toEqual(seqs);
      for (const g of got) expect(verifyWebhookSignature(secret, Buffer.from(g.body), String(g.headers['x-bootgate-signature']))).toBe(true);
    } finally {
      rx.closeAllConnections();
      rx.close();
    }
  });

  it('secrets stay encrypted at rest in the shared database: broker secrets, webhook secrets, signing keys, the admin key', async () => {
    const secretValue = `disk-key-${randomBytes(12).toString('hex')}`;
    const hookSecret = randomBytes(32);
    expect((await call(a.url, 'PUT', '/v1/secrets/disk', adminKey, { value: Buffer.from(secretValue).toString('base64'), policy: { profiles: [SIM_PROFILE] } })).status).toBe(201);
    expect((await call(b.url, 'PUT', '/v1/webhooks/rest', adminKey, { url: 'http://127.0.0.1:9/none', secret: hookSecret.toString('base64') })).status).toBe(201);
    const dump = await onDatabase(db, async (c) => {
      const tables = (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.t);
      let text = '';
      for (const t of tables) text += (await c.query<{ row: string }>(`SELECT t::text AS row FROM "${t}" t`)).rows.map((r) => r.row).join('\n');
      return text;
    });
    expect(dump).toContain('disk');
    for (const clear of [secretValue, Buffer.from(secretValue).toString('base64'), hookSecret.toString('base64'), hookSecret.toString('hex'), adminKey]) expect(dump).not.toContain(clear);
    // No private JWK member in clear: every signing key row is an envelope.
    expect(dump).not.toMatch(/"d"\s*:/);
    expect((await call(b.url, 'DELETE', '/v1/webhooks/rest', adminKey)).status).toBe(204);
  });

  it('SIGKILL of one replica under load loses nothing it acknowledged; the other serves on', async () => {
    const hosts = await Promise.all(Array.from({ length: 6 }, () => enrolledAgent()));
    const acked: string[] = [];
    let killed = false;
    const end = Date.now() + 4000;
    const killer = (async () => {
      await new Promise((res) => setTimeout(res, 1500));
      await a.kill();
      killed = true;
    })();
    await Promise.all(
      hosts.map(async ({ agent, r }, i) => {
        for (let n = 0; Date.now() < end; n++) {
          r.to(!killed && (n + i) % 2 === 0 ? a.url : b.url);
          try {
            const res = await agent.attest();
            acked.push(String(res.appraisalId));
          } catch {
            // A request to the replica being killed: never answered, so never acknowledged.
          }
        }
      }),
    );
    await killer;
    expect(acked.length).toBeGreaterThan(20);
    const stored = await onDatabase(db, async (c) => new Set((await c.query<{ appraisal_id: string }>('SELECT appraisal_id FROM appraisals')).rows.map((x) => x.appraisal_id)));
    const lost = acked.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    // The survivor still serves every host.
    for (const { agent, r } of hosts) {
      r.to(b.url);
      expect((await agent.attest()).verdict).toBe('pass');
    }
  });
});
