/**
 * The §6 routes under hostile and unusual input: bad cursors, ids, bodies and queries are 4xx in
 * the contract's error shape, never 5xx; failures that no change explains (a replayed quote, a
 * host that never passed) get the drift and changes an operator can act on.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { encodeCursor } from '../src/util/cursor.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
let hostId: string;
beforeAll(async () => {
  s = await startTestServer();
  const agent = new HostAgent(createSimHost({ hostId: `fleet-http-${process.pid}` }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  expect((await agent.attest()).verdict).toBe('pass');
  hostId = agent.host.hostId;
});
afterAll(async () => {
  await s?.stop();
});

async function enrolled(name: string, scenario?: 'replayed-quote'): Promise<HostAgent> {
  const agent = new HostAgent(createSimHost({ hostId: `${name}-${process.pid}`, ...(scenario ? { scenario } : {}) }), s.baseUrl);
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

function expectError(r: { status: number; json: any }, status: number, code?: string): void {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expect(typeof r.json?.error?.message).toBe('string');
  if (code !== undefined) expect(r.json.error.code).toBe(code);
}

describe('§6 routes refuse what is not theirs', () => {
  it('authenticates: no key 401, a scheduler cannot read the acceptance audit or accept', async () => {
    expectError(await s.call('GET', '/v1/drift'), 401);
    expectError(await s.call('GET', `/v1/hosts/${hostId}/changes`, { key: s.brokerKey }), 403);
    expectError(await s.call('GET', '/v1/drift/acceptances', { key: s.schedulerKey }), 403);
    expectError(await s.call('POST', `/v1/drift/${'0'.repeat(32)}/accept`, { key: s.schedulerKey, body: { note: 'x' } }), 403);
  });

  it('names what is wrong with cursors, limits, ids, queries and bodies', async () => {
    const k = { key: s.adminKey };
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?limit=abc`, k), 400, 'invalid_request');
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?limit=0`, k), 400, 'invalid_request');
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?before=%00`, k), 400);
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?before=${encodeCursor('h', hostId)}`, k), 400, 'invalid_cursor');
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?before=${encodeCursor('a', '-1')}`, k), 400, 'invalid_cursor');
    expectError(await s.call('GET', `/v1/hosts/${hostId}/appraisals?limit=1&limit=2`, k), 400);
    expectError(await s.call('GET', '/v1/hosts/nobody/appraisals', k), 404, 'unknown_host');
    expectError(await s.call('GET', '/v1/hosts/nobody/changes', k), 404, 'unknown_host');
    expectError(await s.call('GET', `/v1/hosts/${hostId}/changes?x=1`, k), 400);
    expectError(await s.call('GET', '/v1/drift?limit=1', k), 400);
    expectError(await s.call('POST', '/v1/drift/not-a-group/accept', { ...k, body: { note: 'x' } }), 400, 'invalid_group_id');
    expectError(await s.call('POST', `/v1/drift/${'a'.repeat(32)}/accept`, { ...k, body: { note: 'x' } }), 404, 'unknown_drift_group');
    expectError(await s.call('POST', `/v1/drift/${'a'.repeat(32)}/accept`, { ...k, body: {} }), 400);
    expectError(await s.call('POST', `/v1/drift/${'a'.repeat(32)}/accept`, { ...k, body: { note: 'x', extra: 1 } }), 400);
    expectError(await s.call('POST', `/v1/drift/${'a'.repeat(32)}/accept`, { ...k, body: { note: 'n'.repeat(5000) } }), 400);
    expectError(await s.call('POST', `/v1/drift/${'a'.repeat(32)}/accept`, { ...k, raw: '{"note": "x", "note": "y"}', headers: { 'content-type': 'application/json' } }), 400);
    expectError(await s.call('GET', '/v1/golden/no-such-profile/census', k), 404, 'unknown_profile');
  });

  it('a host enrolled but never appraised has no changes yet', async () => {
    const agent = await enrolled('never');
    expectError(await s.call('GET', `/v1/hosts/${agent.host.hostId}/changes`, { key: s.adminKey }), 404, 'no_appraisal');
    expect((await s.call('GET', `/v1/hosts/${agent.host.hostId}/appraisals`, { key: s.adminKey })).json).toEqual({ appraisals: [], next: null });
  });

  it('never answers 5xx to arbitrary path segments, queries and bodies', async () => {
    const text = fc.string({ maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(text, text, fc.jsonValue(), async (seg, query, body) => {
        const e = encodeURIComponent(seg);
        const q = encodeURIComponent(query);
        for (const [method, path, withBody] of [
          ['GET', `/v1/hosts/${e}/appraisals?limit=${q}&before=${q}`, false],
          ['GET', `/v1/hosts/${e}/changes`, false],
          ['GET', `/v1/hosts?trust=${q}&after=${q}`, false],
          ['GET', `/v1/golden/${e}/census`, false],
          ['POST', `/v1/drift/${e}/accept`, true],
        ] as const) {
          const r = await s.call(method, path, { key: s.adminKey, ...(withBody ? { body } : {}) });
          expect(r.status, `${method} ${path}`).toBeLessThan(500);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('GET /v1/hosts pages', () => {
  it('returns every host that stayed in its state exactly once while the fleet changes between pages', async () => {
    const tag = `pg${process.pid}`;
    const ids = ['b', 'd', 'f', 'h', 'j', 'l'].map((x) => `${tag}-${x}`);
    const agents = new Map<string, HostAgent>();
    for (const id of ids) {
      const a = new HostAgent(createSimHost({ hostId: id }), s.baseUrl);
      await a.enroll([SIM_PROFILE]);
      await a.activate();
      agents.set(id, a);
    }
    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const r = await s.call('GET', `/v1/hosts?trust=unknown&limit=2${next ? `&after=${next}` : ''}`, { key: s.schedulerKey });
      expect(r.status).toBe(200);
      expect(r.json.hosts.every((h: { trust: { status: string } }) => h.trust.status === 'unknown')).toBe(true);
      seen.push(...r.json.hosts.map((h: { hostId: string }) => h.hostId).filter((id: string) => id.startsWith(tag)));
      next = r.json.next;
      if (pages++ === 0) {
        // Meanwhile: a host not yet listed leaves, another turns trusted, a new one enrolls behind the cursor.
        expect((await s.call('DELETE', `/v1/hosts/${tag}-h`, { key: s.adminKey })).status).toBe(204);
        expect((await agents.get(`${tag}-j`)!.attest()).verdict).toBe('pass');
        const late = new HostAgent(createSimHost({ hostId: `${tag}-a` }), s.baseUrl);
        await late.enroll([SIM_PROFILE]);
        await late.activate();
      }
    } while (next !== null);
    const stayed = ids.filter((id) => !id.endsWith('-h') && !id.endsWith('-j'));
    for (const id of stayed) expect(seen.filter((x) => x === id), id).toHaveLength(1);
    expect(seen).not.toContain(`${tag}-h`);
    expect(seen).not.toContain(`${tag}-j`);
  });
});

describe('failures that are not a change of boot', () => {
  it('a replayed quote: its own drift group that cannot be accepted, and changes that say why there is no boot to compare', async () => {
    const agent = await enrolled('replay', 'replayed-quote');
    const r = await agent.attest();
    expect(r.failures).toEqual([expect.objectContaining({ code: 'nonce_reused' })]);
    const ch = await s.call('GET', `/v1/hosts/${agent.host.hostId}/changes`, { key: s.schedulerKey });
    expect(ch.status).toBe(200);
    expect(ch.json.changes).toEqual([]);
    expect(ch.json.note).toMatch(/no event log/);
    const group = (await s.call('GET', '/v1/drift', { key: s.schedulerKey })).json.groups.find((g: { hosts: string[] }) => g.hosts.includes(agent.host.hostId));
    expect(group).toMatchObject({ count: 1, changes: [], blockers: ['nonce_reused'] });
    expect(ch.json.groupId).toBe(group.groupId);
    const accept = await s.call('POST', `/v1/drift/${group.groupId}/accept`, { key: s.adminKey, body: { note: 'no' } });
    expectError(accept, 409, 'change_not_acceptable');
    expect(accept.json.error.message).toContain('nonce_reused');
  });

  it('a host that passes has nothing to compare: from and to are its latest appraisal', async () => {
    const ch = await s.call('GET', `/v1/hosts/${hostId}/changes`, { key: s.schedulerKey });
    expect(ch.json.from).toBe(ch.json.to);
    expect(ch.json.changes).toEqual([]);
    expect(ch.json.groupId).toBeUndefined();
  });
});
