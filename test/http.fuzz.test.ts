/**
 * Hostile input to every endpoint: fast-check bodies, paths and mutated evidence. Every answer must
 * be a 4xx in the error shape (or, for well-formed evidence, a 200 appraisal); never a 5xx.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
let agent: HostAgent;
beforeAll(async () => {
  s = await startTestServer({ env: { BOOTGATE_RATE_LIMIT: '0' } });
  agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: 'fuzz-host' }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
});
afterAll(async () => {
  await s?.stop();
});

const RUNS = 150;
/** Cases that make the server verify certificates or appraise full evidence are slower. */
const HEAVY_RUNS = 80;

function checkAnswer(r: { status: number; json: any }, allow200 = false): void {
  if (allow200 && (r.status === 200 || r.status === 201)) return;
  expect(r.status, JSON.stringify(r.json)).toBeGreaterThanOrEqual(400);
  expect(r.status, JSON.stringify(r.json)).toBeLessThan(500);
  expect(typeof r.json?.error?.code).toBe('string');
  expect(r.json.error.code).toMatch(/^[a-z0-9_]+$/);
  expect(typeof r.json.error.message).toBe('string');
}

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const bytes = fc.uint8Array({ maxLength: 300 });
const maybeB64 = fc.oneof(bytes.map(b64), fc.string(), fc.constant(''), bytes.map((u) => Buffer.from(u).toString('base64url')));
const json = fc.jsonValue({ maxDepth: 4 });

describe('fuzzing every endpoint never yields a 5xx', () => {
  it('POST /v1/enrollments with arbitrary JSON and near-valid bodies', async () => {
    const nearValid = fc.record(
      { hostId: fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/)), ekCert: maybeB64, ekPub: maybeB64, akPub: maybeB64, profiles: fc.array(fc.string(), { maxLength: 3 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(json, nearValid), async (body) => {
        checkAnswer(await s.call('POST', '/v1/enrollments', { body }));
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/enrollments with the real keys and a mutated EK certificate or AK', async () => {
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc' });
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('ekCert', 'akPub', 'ekPub'), async (pos, val, field) => {
        const body = { hostId: host.hostId, ekCert: host.ekCertDer, ekPub: host.ekPub, akPub: host.akPub };
        const target = new Uint8Array(body[field as keyof typeof body] as Uint8Array);
        target[pos % target.length] = val;
        const r = await s.call('POST', '/v1/enrollments', {
          body: { hostId: host.hostId, ekCert: b64(field === 'ekCert' ? target : host.ekCertDer), ekPub: b64(field === 'ekPub' ? target : host.ekPub), akPub: b64(field === 'akPub' ? target : host.akPub) },
        });
        checkAnswer(r, true);
      }),
      { numRuns: HEAVY_RUNS },
    );
  });

  it('POST /v1/enrollments/{id}/activate', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.oneof(json, fc.record({ secret: maybeB64 })), async (id, body) => {
        checkAnswer(await s.call('POST', `/v1/enrollments/${encodeURIComponent(id)}/activate`, { body }));
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/hosts/{id}/nonce with arbitrary ids and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 140 }), fc.option(json), async (id, body) => {
        const r = await s.call('POST', `/v1/hosts/${encodeURIComponent(id)}/nonce`, body === null ? {} : { body });
        checkAnswer(r, id === 'fuzz-host');
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/hosts/{id}/attestations with arbitrary and near-valid bodies', async () => {
    const nearValid = fc.record(
      {
        nonce: maybeB64,
        quote: maybeB64,
        signature: maybeB64,
        eventLog: maybeB64,
        bindingKey: fc.oneof(json, fc.record({ kty: fc.constantFrom('EC', 'RSA', 'oct'), crv: fc.string(), x: fc.string(), y: fc.string(), n: fc.string(), e: fc.string() }, { requiredKeys: ['kty'] })),
        pcrs: fc.dictionary(fc.constantFrom('sha1', 'sha256', 'sha512', 'md5'), fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 130 }))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(json, nearValid), async (body) => {
        checkAnswer(await s.call('POST', '/v1/hosts/fuzz-host/attestations', { body }), true);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST attestations with real evidence where one field is mutated or truncated', async () => {
    const ev = await agent.collectEvidence();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('quote', 'signature', 'eventLog'),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        async (field, pos, val, truncate) => {
          const original = Buffer.from(ev[field], 'base64');
          const mutated = truncate ? original.subarray(0, pos % original.length) : Buffer.from(original);
          if (!truncate) mutated[pos % mutated.length] = val;
          const fresh = await agent.nonce();
          const quoteFor = agent.host.quote(fresh);
          const body = {
            nonce: b64(fresh),
            quote: b64(quoteFor.quote),
            signature: b64(quoteFor.signature),
            eventLog: ev.eventLog,
            pcrs: ev.pcrs,
            [field]: mutated.toString('base64'),
          };
          const r = await s.call('POST', '/v1/hosts/fuzz-host/attestations', { body });
          checkAnswer(r, true);
          if (r.status === 200) expect(['pass', 'fail']).toContain(r.json.verdict);
        },
      ),
      { numRuns: HEAVY_RUNS },
    );
  });

  it('admin endpoints with arbitrary bodies, names and queries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 140 }), json, fc.string({ maxLength: 40 }), async (name, body, query) => {
        const n = encodeURIComponent(name);
        checkAnswer(await s.call('PUT', `/v1/hosts/${n}`, { key: s.adminKey, body }), true);
        checkAnswer(await s.call('PUT', `/v1/golden/${n}`, { key: s.adminKey, body }), true);
        checkAnswer(await s.call('GET', `/v1/golden/${n}?version=${encodeURIComponent(query)}`, { key: s.adminKey }), true);
        checkAnswer(await s.call('GET', `/v1/hosts?trust=${encodeURIComponent(query)}`, { key: s.schedulerKey }), true);
        checkAnswer(await s.call('GET', `/v1/hosts/${n}`, { key: s.schedulerKey }), true);
      }),
      { numRuns: 60 },
    );
  });

  it('raw bytes with a JSON content type, and arbitrary credentials', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.string({ maxLength: 60 }), async (raw, key) => {
        checkAnswer(await s.call('POST', '/v1/enrollments', { raw, headers: { 'content-type': 'application/json' } }));
        const headers: Record<string, string> = {};
        try {
          new Headers({ authorization: `Bearer ${key}` });
          headers.authorization = `Bearer ${key}`;
        } catch {
          // not a valid header value; the client cannot even send it
        }
        checkAnswer(await s.call('GET', '/v1/hosts', { headers }));
      }),
      { numRuns: RUNS },
    );
  });
});
