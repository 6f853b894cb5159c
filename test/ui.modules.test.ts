/**
 * The dashboard's own logic, run where it runs (Chromium, as ES modules from /ui/): the timeline's
 * buckets, the search for the events of a time window, the expiry a page left open derives, the
 * host filter and the routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { haveChromium, launchChromium, watchedPage, type BrowserSession, type WatchedPage } from './helpers/browser.ts';

describe.skipIf(!haveChromium())('dashboard modules in Chromium', () => {
  let server: TestServer;
  let session: BrowserSession;
  let tab: WatchedPage;
  let page: Page;

  beforeAll(async () => {
    server = await startTestServer();
    session = await launchChromium();
    tab = await watchedPage(session, server.baseUrl);
    page = tab.page;
    await page.goto(`${server.baseUrl}/ui/`);
  });

  afterAll(async () => {
    await session?.close();
    await server?.stop();
  });

  it('counts trust changes into the window’s buckets, and nothing outside it', async () => {
    const r = await page.evaluate<any>(`(async () => {
      const { bucketize, WINDOWS } = await import('/ui/timeline.js');
      const now = Date.parse('2026-01-01T12:30:00Z');
      const at = (min) => new Date(now - min * 60_000).toISOString();
      const events = [
        { kind: 'trusted', at: at(5) },
        { kind: 'untrusted', at: at(5) },
        { kind: 'untrusted', at: at(6) },
        { kind: 'untrusted', at: at(70) },
        { kind: 'enrolled', at: at(5) },
        { kind: 'trusted', at: at(25 * 60) },
      ];
      return bucketize(events, WINDOWS.day, now);
    })()`);
    expect(r.xs).toHaveLength(24);
    expect(r.xs[1] - r.xs[0]).toBe(3600);
    expect(r.passes.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    expect(r.fails.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(r.fails[23]).toBe(2);
    expect(r.fails[22]).toBe(1);
  });

  it('finds where the window’s events begin in a few one-event reads, not by reading the history', async () => {
    const r = await page.evaluate<any>(`(async () => {
      const { windowStart } = await import('/ui/live.js');
      const start = Date.parse('2026-01-01T00:00:00Z');
      // 50,000 events, one a minute: seq n at start + n minutes.
      const total = 50_000;
      let calls = 0;
      const api = {
        async get(path) {
          calls += 1;
          const q = new URL(path, 'http://x').searchParams;
          const after = Number(q.get('after'));
          const seq = after + 1;
          return seq <= total ? { events: [{ seq, at: new Date(start + seq * 60_000).toISOString() }], lastSeq: seq } : { events: [], lastSeq: after };
        },
      };
      const since = start + 40_000.5 * 60_000;
      const found = await windowStart(api, since);
      const none = await windowStart(api, start + (total + 10) * 60_000);
      const all = await windowStart(api, start);
      return { found, none, all, calls };
    })()`);
    // The first event at or after `since` is seq 40,001, so reading starts after 40,000.
    expect(r.found).toBe(40_000);
    expect(r.none).toBeGreaterThanOrEqual(50_000);
    expect(r.all).toBe(0);
    expect(r.calls).toBeLessThan(100);
  });

  it('shows a trusted host as expired once its token has expired, without a new event', async () => {
    const r = await page.evaluate<any>(`(async () => {
      const { stateOf } = await import('/ui/format.js');
      const now = Date.parse('2026-01-01T12:00:00Z');
      const host = (status, expiresAt) => ({ hostId: 'h', trust: { status, expiresAt } });
      return [
        stateOf(host('trusted', '2026-01-01T12:00:01Z'), now),
        stateOf(host('trusted', '2026-01-01T11:59:59Z'), now),
        stateOf(host('untrusted', '2026-01-01T13:00:00Z'), now),
        stateOf(host('bogus', null), now),
      ];
    })()`);
    expect(r).toEqual(['trusted', 'expired', 'untrusted', 'unknown']);
  });

  it('filters by state, host id and profile, problems first', async () => {
    const r = await page.evaluate<any>(`(async () => {
      const { selectHosts } = await import('/ui/fleet.js');
      const future = '2999-01-01T00:00:00Z';
      const mk = (hostId, status, profile) => [hostId, { hostId, profiles: ['p'], trust: { status, expiresAt: future, profile } }];
      const hosts = new Map([mk('b-1', 'trusted', 'p@1'), mk('a-2', 'trusted', 'p@2'), mk('c-3', 'untrusted', 'p@2'), mk('a-1', 'unknown', null)]);
      const ids = (f) => selectHosts(hosts, { state: 'all', query: '', profile: 'all', ...f }, Date.now()).map((x) => x.host.hostId);
      return { all: ids({}), trusted: ids({ state: 'trusted' }), query: ids({ query: 'A-' }), profile: ids({ profile: 'p@2' }) };
    })()`);
    expect(r.all).toEqual(['c-3', 'a-1', 'a-2', 'b-1']);
    expect(r.trusted).toEqual(['a-2', 'b-1']);
    expect(r.query).toEqual(['a-1', 'a-2']);
    expect(r.profile).toEqual(['c-3', 'a-2']);
  });

  it('reads the view from the address, host ids and profile names percent-decoded', async () => {
    const r = await page.evaluate<any>(`(async () => {
      const { parseRoute } = await import('/ui/app.js');
      return ['', '#/', '#/hosts/rack12%3Anode07', '#/drift', '#/census/web-fleet', '#/nonsense'].map((h) => parseRoute(h));
    })()`);
    expect(r).toEqual([
      { view: 'fleet' },
      { view: 'fleet' },
      { view: 'host', hostId: 'rack12:node07' },
      { view: 'drift' },
      { view: 'census', name: 'web-fleet' },
      { view: 'fleet' },
    ]);
    expect(tab.errors).toEqual([]);
    expect(tab.foreign).toEqual([]);
  });
});
