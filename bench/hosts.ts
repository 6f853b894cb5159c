/**
 * The scheduler's questions over a fleet: "which hosts are trusted right now"
 * (GET /v1/hosts?trust=trusted, paged) and "is this host trusted" (GET /v1/hosts/{hostId}).
 * Fleets of 5,000 and 100,000 enrolled hosts (BENCH_HOSTS_SIZES=5000,100000), three appraisals
 * each (a third of the hosts failing with findings), seeded straight through the store with the
 * fsync skipped (this measures reads, not the disk).
 *
 *  - store level: HostService.list (one joined read) and HostService.page (pages of 1,000), and,
 *    for fleets up to 10,000, the per-host reads the joined read replaced;
 *  - over HTTP, the real service (bench/service-server.ts) in its own process on the seeded data
 *    directory: both trust reads one at a time (p50/p99), a walk through every page of 1,000
 *    trusted hosts, then the same reads while 64 tpm-sim hosts attest in a closed loop, with the
 *    server process's RSS (VmRSS from /proc) sampled every 100 ms.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.ts';
import { DATABASE_FILE } from '../src/store/open.ts';
import { HostService } from '../src/attestation/hosts.ts';
import { trustOf } from '../src/attestation/trust.ts';
import type { ProfileCatalog } from '../src/attestation/profiles.ts';
import { client, closedLoop, enrollHosts, flowOver, pct, round, startChild } from './load.ts';

const SIZES = (process.env.BENCH_HOSTS_SIZES ?? '5000,100000').split(',').map(Number);
const ADMIN = 'bench-admin-key-0123456789abcdef';
const QUERIES = 1000;
const LOAD_MS = 8000;
const PROFILE = 'tpm-sim-reference';

async function seed(store: SqliteStore, n: number, now: Date): Promise<void> {
  const failures = Array.from({ length: 3 }, () => ({ code: 'kernel_not_allowed', message: 'x'.repeat(200), pcr: 9, expected: ['a'.repeat(64)], actual: 'b'.repeat(64) }));
  const pcrs = { sha256: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i), 'ab'.repeat(32)])) };
  // Tokens outlive the run, so trust does not expire while it is measured.
  const tokenExpiresAt = new Date(now.getTime() + 86_400_000).toISOString();
  for (let from = 0; from < n; from += 2000) {
    await Promise.all(Array.from({ length: Math.min(2000, n - from) }, async (_, k) => {
      const i = from + k;
      await store.createEnrollment({ enrollmentId: `e${i}`, hostId: `h${i}`, ekFingerprint: `f${i}`, akName: 'ak', akPub: 'AAAA', profiles: [PROFILE], secretHash: '00', createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });
      await store.activateEnrollment(`e${i}`, now);
      for (let a = 0; a < 3; a++) {
        await store.recordAppraisal({
          appraisalId: `a${i}-${a}`, hostId: `h${i}`, verdict: i % 3 === 0 ? 'fail' : 'pass', profile: `${PROFILE}@1`, failures: i % 3 === 0 ? failures : [], pcrs,
          evidence: { quote: 'q'.repeat(64), signature: 's'.repeat(64), eventLog: 'e'.repeat(64), nonce: 'n'.repeat(64) },
          tokenId: `j${i}-${a}`, tokenExpiresAt, timings: { total: 1 }, appraisedAt: now.toISOString(),
        });
      }
    }));
  }
}

async function best(f: () => Promise<unknown>, runs = 5): Promise<number> {
  let ms = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return round(ms, 1);
}

/** The store-level figures (no HTTP). */
async function storeLevel(store: SqliteStore, n: number, now: Date): Promise<Record<string, unknown>> {
  const hosts = new HostService(store, {} as ProfileCatalog);
  const walk = async (): Promise<number> => {
    let count = 0;
    let next: string | null | undefined;
    do {
      const page = await hosts.page(now, 'trusted', 1000, next ?? undefined);
      count += page.hosts.length;
      next = page.next;
    } while (next !== null);
    return count;
  };
  const trusted = (await hosts.list(now, 'trusted')).length;
  if ((await walk()) !== trusted) throw new Error('paging lost or repeated hosts');
  return {
    trusted,
    listTrustedBestMs: await best(() => hosts.list(now, 'trusted')),
    firstPageOf1000BestMs: await best(() => hosts.page(now, 'trusted', 1000)),
    allPagesOf1000BestMs: await best(walk),
    ...(n <= 10_000 ? { perHostReadsBestMs: await best(async () => Promise.all((await store.listHosts()).map(async (h) => trustOf(h, await store.lastAppraisal(h.hostId), now)))) } : {}),
  };
}

function getter(base: string): (path: string) => Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return (path) => new Promise((res, rej) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${ADMIN}` } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end();
  });
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

function summary(ms: number[]): Record<string, number> {
  ms.sort((a, b) => a - b);
  return { n: ms.length, p50: pct(ms, 50), p99: pct(ms, 99), max: round(ms.at(-1) ?? NaN) };
}

/** p50/p99 (ms) of `count` sequential GETs of paths from `pathOf`. */
async function latencies(get: ReturnType<typeof getter>, pathOf: (i: number) => string, count: number): Promise<Record<string, number>> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const r = await get(pathOf(i));
    ms.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`GET ${pathOf(i)} answered ${r.status}: ${r.body.slice(0, 200)}`);
  }
  return summary(ms);
}

async function httpLevel(dataDir: string, n: number, trusted: number): Promise<Record<string, unknown>> {
  const server = await startChild('service-server.ts', [dataDir, ADMIN, '1']);
  try {
    const get = getter(server.url);
    const rssIdle = rssMb(server.pid);
    // process.memoryUsage() in the server at each RSS point: how much of the RSS is V8's heap.
    const memory: Record<string, unknown> = { idle: await server.ask('memory') };
    const randomHost = (i: number) => `/v1/hosts/h${(i * 7919) % n}`;
    const list = '/v1/hosts?trust=trusted';
    await latencies(get, () => list, 100);
    await latencies(get, randomHost, 100);
    // The same reads timed in the server too (request start to response finish): what the client adds is scheduling on 2 shared cores.
    const inServer = async (f: () => Promise<Record<string, number>>): Promise<Record<string, unknown>> => {
      await server.ask('reset');
      const client = await f();
      const stats = (await server.ask('stats')) as { httpMs: { other?: unknown } };
      return { ...client, inServer: stats.httpMs.other };
    };
    const idle = {
      trustedFirstPageMs: await inServer(() => latencies(get, () => list, QUERIES)),
      singleHostMs: await inServer(() => latencies(get, randomHost, QUERIES)),
    };
    const rssAfterReads = rssMb(server.pid);
    memory.afterTrustReads = await server.ask('memory');
    // Every page of 1,000 trusted hosts, following the cursors.
    const walk = async (): Promise<number> => {
      let count = 0;
      let path: string | null = `${list}&limit=1000`;
      while (path !== null) {
        const r = await get(path);
        const page = JSON.parse(r.body) as { hosts: unknown[]; next: string | null };
        count += page.hosts.length;
        path = page.next === null ? null : `${list}&limit=1000&after=${encodeURIComponent(page.next)}`;
      }
      return count;
    };
    if ((await walk()) !== trusted) throw new Error('HTTP paging lost or repeated hosts');
    const allPagesMs = await best(walk, 3);
    const rssAfterWalk = rssMb(server.pid);
    memory.afterPageWalk = await server.ask('memory');

    // Attestation load (64 tpm-sim hosts, 16 in flight) with the trust reads alongside and RSS sampled.
    const { hosts } = await enrollHosts(server.url, ADMIN, 64, 'load');
    const flow = flowOver(client([server.url], 64));
    await closedLoop(hosts, flow, 16, 1000);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMb(server.pid)), 100);
    let done = false;
    await server.ask('reset');
    const loadRun = closedLoop(hosts, flow, 16, LOAD_MS).finally(() => (done = true));
    // The two trust reads alternate until the load stops.
    const list1: number[] = [];
    const single: number[] = [];
    for (let i = 0; !done; i++) {
      const path = i % 2 === 0 ? list : randomHost(i);
      const t0 = performance.now();
      const r = await get(path);
      (i % 2 === 0 ? list1 : single).push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`);
    }
    const attestation = await loadRun;
    const loadStats = (await server.ask('stats')) as { httpMs: { other?: unknown; attest?: unknown } };
    const underLoad = { trustedFirstPageMs: summary(list1), singleHostMs: summary(single), bothReadsInServerMs: loadStats.httpMs.other, attestInServerMs: loadStats.httpMs.attest };
    clearInterval(sampler);
    rss.sort((a, b) => a - b);
    memory.afterLoad = await server.ask('memory');
    // Last, so it does not shrink the heap before the other points: what is live after a full collection.
    memory.afterLoadFullGc = await server.ask('gc');
    const rssAfterGc = rssMb(server.pid);
    return {
      idle,
      allPagesOf1000Ms: allPagesMs,
      pagesOf1000: Math.ceil(trusted / 1000),
      underAttestationLoad: { ...underLoad, attestationsPerSecond: attestation.attestationsPerSecond, concurrency: 16 },
      serverRssMb: { idle: round(rssIdle, 1), afterTrustReads: round(rssAfterReads, 1), afterPageWalk: round(rssAfterWalk, 1), underLoadP50: round(rss[Math.floor(rss.length / 2)] ?? NaN, 1), underLoadMax: round(rss.at(-1) ?? NaN, 1), afterLoadFullGc: round(rssAfterGc, 1) },
      serverMemoryMb: memory,
    };
  } finally {
    await server.stop();
  }
}

export async function bench(): Promise<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const n of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-bench-hosts-'));
    try {
      const now = new Date();
      const store = openSqliteStore(join(dir, DATABASE_FILE), { sync: async () => {} });
      const t0 = performance.now();
      await seed(store, n, now);
      const seedSeconds = round((performance.now() - t0) / 1000, 1);
      const level = await storeLevel(store, n, now);
      await store.close();
      out.push({ hosts: n, appraisalsPerHost: 3, seedSeconds, store: level, http: await httpLevel(dir, n, Number(level.trusted)) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    fleets: out,
    aims: { trustReadP99Ms: 5, serverRssMb: 250 },
    note: 'store: best of 5, HostService.list (one joined read) and HostService.page (pages of 1,000); perHostReads = one last-appraisal read per host, as before (fleets up to 10,000). http: the service in its own process on the seeded SQLite database; trustedFirstPage = GET /v1/hosts?trust=trusted (default limit 100), singleHost = GET /v1/hosts/{hostId} of spread hosts, each 1,000 sequential keep-alive requests, latency at the client, and inServer from request start to response finish in the server; allPagesOf1000 = every page with limit=1000 following next, best of 3; under load = the same reads while 64 tpm-sim hosts attest (16 in flight, real firmware log); RSS = VmRSS of the server process; serverMemoryMb = process.memoryUsage() in the server at the same points (no collection forced), and after one full collection at the end',
  };
}
