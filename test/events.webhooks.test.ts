/**
 * Webhooks: admin API and persistence, signed deliveries to a local receiver on 127.0.0.1,
 * retries with exponential backoff, and delivery off the request path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createEventsRouter,
  TrustEventHub,
  verifyWebhookSignature,
  WebhookDispatcher,
  WebhookRegistry,
  withTrustEventNotifications,
  type DeliveryReport,
} from '../src/events/index.ts';
import type { Store } from '../src/store/types.ts';
import { toBase64 } from '../src/util/encoding.ts';
import { FakeStore, fakeRequireRole, listen, testApp, testJsonBody } from './helpers/broker-fakes.ts';

const SECRET = new Uint8Array(randomBytes(32));
const ADMIN = { 'x-test-role': 'admin', 'content-type': 'application/json' };

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A webhook receiver on 127.0.0.1 answering each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = [], hold?: Promise<void>): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      void (hold ?? Promise.resolve()).then(() => {
        res.statusCode = statuses.shift() ?? 200;
        res.end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let dataDir: string;
let raw: FakeStore;
let hub: TrustEventHub;
let store: Store;
let registry: WebhookRegistry;
let api: Awaited<ReturnType<typeof listen>>;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bootgate-webhooks-'));
  raw = new FakeStore();
  hub = new TrustEventHub();
  store = withTrustEventNotifications(raw.asStore(), hub);
  registry = await WebhookRegistry.open(dataDir);
  api = await listen(testApp(createEventsRouter({ store, hub, requireRole: fakeRequireRole, webhooks: registry, jsonBody: testJsonBody })));
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await api.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function putHook(id: string, body: unknown, headers: Record<string, string> = ADMIN) {
  return fetch(`${api.url}/v1/webhooks/${id}`, { method: 'PUT', headers, body: JSON.stringify(body) });
}

/** Reports each attempt and when it happened (the backoff is real: the tests use short delays). */
function dispatcher(opts: ConstructorParameters<typeof WebhookDispatcher>[1] = {}): { d: WebhookDispatcher; reports: DeliveryReport[]; at: Map<DeliveryReport, number> } {
  const reports: DeliveryReport[] = [];
  const at = new Map<DeliveryReport, number>();
  const d = new WebhookDispatcher(registry, {
    ...opts,
    onDelivery: (r) => {
      reports.push(r);
      at.set(r, performance.now());
      opts.onDelivery?.(r);
    },
  });
  cleanups.push(d.attach(hub), () => d.close());
  return { d, reports, at };
}

/** The waits between consecutive attempts at one webhook, in ms. */
function gaps(reports: DeliveryReport[], at: Map<DeliveryReport, number>): number[] {
  return reports.slice(1).map((r, i) => at.get(r)! - at.get(reports[i]!)!);
}

describe('webhook admin API', () => {
  it('PUT creates then updates, persists to <dataDir>/webhooks.json (0600), DELETE removes; secrets never listed', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    expect((await putHook('ops', { url: rx.url, secret: toBase64(SECRET) })).status).toBe(201);
    expect((await putHook('ops', { url: `${rx.url}2`, secret: toBase64(SECRET) })).status).toBe(200);
    const file = path.join(dataDir, 'webhooks.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const reopened = await WebhookRegistry.open(dataDir);
    expect(reopened.list()).toEqual([expect.objectContaining({ id: 'ops', url: `${rx.url}2`, secret: toBase64(SECRET) })]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ version: 1 });

    const listed = await (await fetch(`${api.url}/v1/webhooks`, { headers: ADMIN })).json();
    expect(listed).toEqual({ webhooks: [{ id: 'ops', url: `${rx.url}2`, updatedAt: expect.any(String) }] });
    expect(JSON.stringify(listed)).not.toContain(toBase64(SECRET));

    expect((await fetch(`${api.url}/v1/webhooks/ops`, { method: 'DELETE', headers: ADMIN })).status).toBe(204);
    expect((await fetch(`${api.url}/v1/webhooks/ops`, { method: 'DELETE', headers: ADMIN })).status).toBe(404);
    expect((await WebhookRegistry.open(dataDir)).list()).toEqual([]);
  });

  it.each([
    ['a non-http URL', { url: 'ftp://127.0.0.1/x', secret: toBase64(SECRET) }],
    ['a URL with credentials', { url: 'http://user:pw@127.0.0.1/x', secret: toBase64(SECRET) }],
    ['a secret under 32 bytes', { url: 'http://127.0.0.1/x', secret: toBase64(new Uint8Array(31)) }],
    ['a secret that is not base64', { url: 'http://127.0.0.1/x', secret: '***' }],
    ['an unknown member', { url: 'http://127.0.0.1/x', secret: toBase64(SECRET), extra: 1 }],
  ])('refuses %s with 400 invalid_request', async (_what, body) => {
    const res = await putHook('ops', body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
    expect(registry.list()).toEqual([]);
  });

  it('needs the admin role', async () => {
    expect((await putHook('ops', { url: 'http://127.0.0.1/x', secret: toBase64(SECRET) }, { 'x-test-role': 'scheduler', 'content-type': 'application/json' })).status).toBe(403);
  });
});

describe('webhook delivery', () => {
  it('POSTs each event with a verifiable HMAC-SHA256 signature and its sequence header', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    await putHook('ops', { url: rx.url, secret: toBase64(SECRET) });
    const { d, reports } = dispatcher();
    const e1 = await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', appraisalId: 'a1', at: '2026-11-23T18:00:00.000Z' });
    const e2 = await store.appendTrustEvent({ hostId: 'h1', kind: 'untrusted', appraisalId: 'a2', at: '2026-11-23T18:01:00.000Z' });
    await d.idle();

    expect(rx.got).toHaveLength(2);
    const bySeq = new Map(rx.got.map((g) => [Number(g.headers['x-bootgate-event-seq']), g]));
    for (const e of [e1, e2]) {
      const g = bySeq.get(e.seq);
      expect(g).toBeDefined();
      expect(JSON.parse(g!.body.toString('utf8'))).toEqual(e);
      expect(g!.headers['content-type']).toBe('application/json');
      const sig = g!.headers['x-bootgate-signature'] as string;
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature(SECRET, g!.body, sig)).toBe(true);
      expect(verifyWebhookSignature(new Uint8Array(randomBytes(32)), g!.body, sig)).toBe(false);
      expect(verifyWebhookSignature(SECRET, Buffer.concat([g!.body, Buffer.from(' ')]), sig)).toBe(false);
    }
    expect(reports.every((r) => r.ok && r.attempt === 1)).toBe(true);
  });

  it('retries a failing webhook with exponential backoff until it accepts', async () => {
    const rx = await receiver([500, 503]);
    cleanups.push(rx.close);
    await putHook('flaky', { url: rx.url, secret: toBase64(SECRET) });
    const { d, reports, at } = dispatcher({ baseDelayMs: 100, maxAttempts: 5 });
    await store.appendTrustEvent({ hostId: 'h1', kind: 'revoked', at: '2026-11-23T18:00:00.000Z' });
    await d.idle();
    expect(reports.map((r) => [r.attempt, r.ok, r.status, r.retryInMs])).toEqual([
      [1, false, 500, 100],
      [2, false, 503, 200],
      [3, true, 200, undefined],
    ]);
    // Each retry waited at least the delay it announced.
    const waited = gaps(reports, at);
    expect(waited[0]).toBeGreaterThanOrEqual(95);
    expect(waited[1]).toBeGreaterThanOrEqual(195);
    expect(rx.got).toHaveLength(3);
    // Every attempt carries the same body and a valid signature.
    expect(new Set(rx.got.map((g) => g.body.toString()))).toHaveProperty('size', 1);
    for (const g of rx.got) expect(verifyWebhookSignature(SECRET, g.body, g.headers['x-bootgate-signature'] as string)).toBe(true);
  });

  it('gives up after the bounded number of attempts, with capped delays; an unreachable URL counts as a failure', async () => {
    const rx = await receiver([500, 500, 500, 500, 500]);
    cleanups.push(rx.close);
    await putHook('down', { url: rx.url, secret: toBase64(SECRET) });
    await putHook('gone', { url: 'http://127.0.0.1:1/hook', secret: toBase64(SECRET) });
    const { d, reports, at } = dispatcher({ baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 4 });
    await store.appendTrustEvent({ hostId: 'h1', kind: 'expired', at: '2026-11-23T18:00:00.000Z' });
    await d.idle();
    const down = reports.filter((r) => r.webhookId === 'down');
    expect(down.map((r) => [r.attempt, r.ok, r.retryInMs])).toEqual([
      [1, false, 100],
      [2, false, 200],
      [3, false, 300],
      [4, false, undefined],
    ]);
    expect(rx.got).toHaveLength(4);
    const gone = reports.filter((r) => r.webhookId === 'gone');
    expect(gone).toHaveLength(4);
    expect(gone.every((r) => !r.ok && r.error === 'connection failed')).toBe(true);
    expect(gone.map((r) => r.retryInMs)).toEqual([100, 200, 300, undefined]);
    const waited = gaps(down, at);
    for (const [i, min] of [100, 200, 300].entries()) expect(waited[i]).toBeGreaterThanOrEqual(min - 5);
  });

  it('stops retrying a webhook deleted while it was backing off', async () => {
    const rx = await receiver([500, 500, 500]);
    cleanups.push(rx.close);
    await putHook('temp', { url: rx.url, secret: toBase64(SECRET) });
    const { d, reports } = dispatcher({
      baseDelayMs: 100,
      maxAttempts: 5,
      onDelivery: () => void registry.delete('temp'),
    });
    await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: '2026-11-23T18:00:00.000Z' });
    await d.idle();
    expect(reports).toHaveLength(1);
    expect(rx.got).toHaveLength(1);
  });

  it('an event published twice (wrapped store and an explicit onTrustEvent) is delivered once', async () => {
    const rx = await receiver();
    cleanups.push(rx.close);
    await putHook('ops', { url: rx.url, secret: toBase64(SECRET) });
    const { d } = dispatcher();
    const e = await store.appendTrustEvent({ hostId: 'h1', kind: 'revoked', at: '2026-11-23T18:00:00.000Z' });
    hub.publish(e);
    await d.idle();
    expect(rx.got).toHaveLength(1);
  });

  it('never blocks the request path: the append resolves while the receiver is still holding the delivery', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const rx = await receiver([], held);
    cleanups.push(rx.close);
    await putHook('slow', { url: rx.url, secret: toBase64(SECRET) });
    const { d, reports } = dispatcher();
    const e = await store.appendTrustEvent({ hostId: 'h1', kind: 'trusted', at: '2026-11-23T18:00:00.000Z' });
    expect(e.seq).toBe(1);
    expect(reports).toHaveLength(0); // appended and answered; the delivery is still in flight
    release();
    await d.idle();
    expect(reports).toEqual([expect.objectContaining({ webhookId: 'slow', seq: 1, ok: true })]);
  });
});
