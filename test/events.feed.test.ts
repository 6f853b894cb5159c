/**
 * Trust event feed: ordered sequence from the store, exact `after` semantics, long-poll wake-up
 * on append, re-check for events appended elsewhere, parameter validation.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEventsRouter, TrustEventHub, withTrustEventNotifications } from '../src/events/index.ts';
import type { Store, TrustEventRecord } from '../src/store/types.ts';
import { FakeStore, fakeRequireRole, listen, testApp } from './helpers/broker-fakes.ts';

const SCHED = { 'x-test-role': 'scheduler' };
let raw: FakeStore;
let hub: TrustEventHub;
let store: Store;
let server: Awaited<ReturnType<typeof listen>>;

async function start(recheckMs = 120_000): Promise<void> {
  server = await listen(testApp(createEventsRouter({ store, hub, requireRole: fakeRequireRole, recheckMs })));
}

beforeEach(async () => {
  raw = new FakeStore();
  hub = new TrustEventHub();
  store = withTrustEventNotifications(raw.asStore(), hub);
});
afterEach(async () => {
  await server?.close();
});

async function append(hostId: string, kind: TrustEventRecord['kind']): Promise<TrustEventRecord> {
  return store.appendTrustEvent({ hostId, kind, at: new Date().toISOString() });
}

async function get(query: string, headers: Record<string, string> = SCHED): Promise<{ status: number; body: { events: TrustEventRecord[]; lastSeq: number } & Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v1/events${query}`, { headers });
  return { status: res.status, body: (await res.json()) as never };
}

describe('GET /v1/events', () => {
  it('returns events in sequence order; after=<seq> returns exactly the later ones, without gaps', async () => {
    await start();
    const kinds: TrustEventRecord['kind'][] = ['enrolled', 'trusted', 'untrusted', 'trusted', 'revoked', 'deleted', 'enrolled'];
    for (const [i, k] of kinds.entries()) await append(`h${i % 3}`, k);

    const all = await get('?after=0&timeout=0');
    expect(all.status).toBe(200);
    expect(all.body.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.body.events.map((e) => e.kind)).toEqual(kinds);
    expect(all.body.lastSeq).toBe(7);
    for (let after = 0; after <= 7; after++) {
      const r = await get(`?after=${after}&timeout=0`);
      expect(r.body.events.map((e) => e.seq)).toEqual(Array.from({ length: 7 - after }, (_, i) => after + i + 1));
      expect(r.body.lastSeq).toBe(7);
    }
    // Paging with limit visits every event exactly once.
    const seen: number[] = [];
    let cursor = 0;
    for (;;) {
      const page = await get(`?after=${cursor}&limit=3&timeout=0`);
      if (page.body.events.length === 0) break;
      seen.push(...page.body.events.map((e) => e.seq));
      cursor = page.body.lastSeq;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('the sequence comes from the store: a new hub and router (a restart) continue where the store is', async () => {
    await start();
    await append('h1', 'trusted');
    await append('h1', 'untrusted');
    await server.close();
    hub = new TrustEventHub();
    store = withTrustEventNotifications(raw.asStore(), hub);
    await start();
    expect((await append('h1', 'trusted')).seq).toBe(3);
    expect((await get('?after=1&timeout=0')).body.events.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('a long-poll with nothing new wakes as soon as an event is appended', async () => {
    await start(); // store re-check every 120 s: only the hub can wake the poll within the test
    await append('h1', 'trusted');
    const pending = get('?after=1&timeout=60');
    await vi.waitFor(() => expect(hub.waiting).toBe(1));
    const e = await append('h1', 'untrusted');
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.events).toEqual([e]);
    expect(r.body.lastSeq).toBe(2);
    expect(hub.waiting).toBe(0);
  });

  it('a long-poll also finds events appended by another process (no hub notification) at its store re-check', async () => {
    await start(20);
    const pending = get('?after=0&timeout=60');
    await vi.waitFor(() => expect(hub.waiting).toBe(1));
    await raw.appendTrustEvent({ hostId: 'h2', kind: 'enrolled', at: new Date().toISOString() });
    expect((await pending).body.events.map((e) => e.hostId)).toEqual(['h2']);
  });

  it('answers an empty list with lastSeq = after when the wait times out', async () => {
    await start();
    await append('h1', 'trusted');
    expect((await get('?after=1&timeout=0')).body).toEqual({ events: [], lastSeq: 1 });
  });

  it('a client that hangs up releases its waiter', async () => {
    await start();
    const ac = new AbortController();
    const pending = fetch(`${server.url}/v1/events?after=0&timeout=60`, { headers: SCHED, signal: ac.signal }).catch(() => 'aborted');
    await vi.waitFor(() => expect(hub.waiting).toBe(1));
    ac.abort();
    expect(await pending).toBe('aborted');
    await vi.waitFor(() => expect(hub.waiting).toBe(0));
  });

  it.each(['?after=-1', '?after=abc', '?after=1.5', '?timeout=61', '?limit=0', '?limit=1001', '?after=1&after=2', '?timeout=1e3'])(
    'rejects %s with 400 invalid_request',
    async (q) => {
      await start();
      const r = await get(q);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: { code: 'invalid_request' } });
    },
  );

  it('needs the scheduler or admin role', async () => {
    await start();
    expect((await get('?timeout=0', { 'x-test-role': 'broker' })).status).toBe(403);
    expect((await get('?timeout=0', {})).status).toBe(401);
    expect((await get('?timeout=0', { 'x-test-role': 'admin' })).status).toBe(200);
  });
});
