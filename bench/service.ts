/**
 * End-to-end attestation throughput of the service over loopback HTTP: nonce + attest with a
 * real-world-sized event log, token issued, appraisal stored durably (WAL fsynced before the answer).
 *
 * The server runs in a child process (bench/service-server.ts) with its own event loop; this
 * process is the load generator. Hosts are tpm-sim hosts with ECC (P-256) AKs, so the client's
 * quote signing is ~0.1 ms and happens in this process, not in the server's. Each host runs one
 * attestation at a time (a host's quotes must reach the verifier in clock order).
 *
 *  - closed loop at several concurrencies: attestations per second;
 *  - open loop at a fixed offered rate (BENCH_SERVICE_RATE, default 300/s): latency percentiles
 *    measured from each arrival's scheduled time (no coordinated omission);
 *  - server-side stage timings (from the service's onAppraised hook) and HTTP time per route.
 * BENCH_SERVICE_CPU_PROF=<dir> writes CPU profiles of the server's main thread, one per measured window, into <dir>.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Agent, request } from 'node:http';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { bootWithLog, REAL_LOG } from './real-log-host.ts';
import { learnProfile } from '../src/golden/index.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { SigningKeyring } from '../src/token/keys.ts';
import { issueAttestationToken } from '../src/token/attestation-token.ts';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const HOSTS = 64;
// BENCH_SERVICE_CONCURRENCY=64: only that closed loop and no fixed-load run (quick A/B comparisons).
const QUICK = process.env.BENCH_SERVICE_CONCURRENCY;
const CONCURRENCIES = QUICK ? [Number(QUICK)] : [16, 64];
const WINDOW_MS = 5000;
const WARMUP_MS = 2000;
const FLOOR_MS = 3000;

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface ServerChild {
  url: string;
  ask(cmd: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function startServerChild(dataDir: string, adminKey: string, workers: number): Promise<ServerChild> {
  return startChild('service-server.ts', [dataDir, adminKey, String(workers)]);
}

/** Forks bench/<script> and waits for its {type:'ready', url}; ask(cmd) awaits the reply of that type. */
async function startChild(script: string, args: string[]): Promise<ServerChild> {
  const prof = process.env.BENCH_SERVICE_CPU_PROF;
  const child: ChildProcess = fork(join(here, script), args, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...(prof ? { BENCH_SERVICE_CPU_PROF: resolve(prof) } : {}) },
    // stdout ignored: bench/run.ts prints one JSON document there.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const next = (type: string) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const onMsg = (m: Record<string, unknown>) => {
        if (m.type !== type) return;
        child.off('message', onMsg);
        child.off('exit', onExit);
        res(m);
      };
      const onExit = (code: number | null) => rej(new Error(`bench server exited (${code}) before '${type}'`));
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    url: String(ready.url),
    ask: (cmd) => {
      const p = next(cmd);
      child.send({ cmd });
      return p;
    },
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.send({ cmd: 'stop' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/**
 * A keep-alive HTTP client. A body is given as Buffers written one after another: the event log
 * part is encoded once per host, so the load generator does not re-encode 37 KB per request.
 */
function client(base: string, sockets: number) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return (path: string, body?: Buffer[]): Promise<{ status: number; json: Record<string, unknown> }> =>
    new Promise((res, rej) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': body.reduce((n, b) => n + b.length, 0) },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => {
            try {
              res({ status: r.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
            } catch (err) {
              rej(err as Error);
            }
          });
          r.on('error', rej);
        },
      );
      req.on('error', rej);
      for (const part of body?.slice(0, -1) ?? []) req.write(part);
      req.end(body?.at(-1));
    });
}

interface BenchHost {
  sim: SimHost;
  /** `,"eventLog":"…","pcrs":{…}}`: the part of the body that never changes. */
  tail: Buffer;
  busy: Promise<unknown>;
}

interface Flow {
  nonceMs: number;
  quoteMs: number;
  attestMs: number;
}

export async function bench(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-'));
  const adminKey = 'bench-admin-key-0123456789abcdef';
  const workers = Number(process.env.BENCH_SERVICE_WORKERS ?? 1);
  const server = await startServerChild(dataDir, adminKey, workers);
  const url = server.url;
  const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  try {
    const useReal = existsSync(REAL_LOG);
    let profileName = 'tpm-sim-reference';
    const sims: SimHost[] = [];
    for (let i = 0; i < HOSTS; i++) sims.push(createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `bench-${i}` }));
    if (useReal) {
      const bytes = new Uint8Array(readFileSync(REAL_LOG));
      const log = parseEventLog(bytes);
      const profile = learnProfile(log, replayEventLog(log), { name: 'bench-real-log' });
      profileName = profile.name;
      const put = await fetch(new URL(`/v1/golden/${profileName}`, url), { method: 'PUT', headers: admin, body: JSON.stringify(profile) });
      if (put.status !== 201) throw new Error(`storing the learned profile failed: ${put.status} ${await put.text()}`);
      for (const h of sims) bootWithLog(h, bytes);
    }
    for (const h of sims) {
      const agent = new HostAgent(h, url);
      await agent.enroll([profileName]);
      await agent.activate();
    }

    const post = client(url, HOSTS * 2);
    const hosts: BenchHost[] = sims.map((sim) => {
      const q = sim.quote(new Uint8Array(32));
      const pcrs = Object.fromEntries([...(q.pcrs.sha256 ?? new Map<number, Uint8Array>()).entries()].map(([k, v]) => [String(k), Buffer.from(v).toString('hex')]));
      return { sim, tail: Buffer.from(`,"eventLog":"${Buffer.from(sim.eventLog).toString('base64')}","pcrs":${JSON.stringify({ sha256: pcrs })}}`), busy: Promise.resolve() };
    });
    const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

    /** One full attestation: nonce, quote (client side), attest; throws unless it passes with a token. */
    const flow = async (h: BenchHost): Promise<Flow> => {
      const t0 = performance.now();
      const n = await post(`/v1/hosts/${h.sim.hostId}/nonce`);
      if (n.status !== 201) throw new Error(`nonce answered ${n.status}: ${JSON.stringify(n.json).slice(0, 300)}`);
      const t1 = performance.now();
      const q = h.sim.quote(new Uint8Array(Buffer.from(String(n.json.nonce), 'base64')));
      const body = [Buffer.from(`{"nonce":"${String(n.json.nonce)}","quote":"${b64(q.quote)}","signature":"${b64(q.signature)}"`), h.tail];
      const t2 = performance.now();
      const r = await post(`/v1/hosts/${h.sim.hostId}/attestations`, body);
      const t3 = performance.now();
      if (r.status !== 200 || r.json.verdict !== 'pass' || typeof r.json.token !== 'string') {
        throw new Error(`attest answered ${r.status}: ${JSON.stringify(r.json).slice(0, 500)}`);
      }
      return { nonceMs: t1 - t0, quoteMs: t2 - t1, attestMs: t3 - t2 };
    };

    /** `concurrency` hosts each attesting back to back for `ms`. */
    const closedLoop = async (concurrency: number, ms: number) => {
      const end = performance.now() + ms;
      const flows: Flow[] = [];
      const t0 = performance.now();
      await Promise.all(
        hosts.slice(0, concurrency).map(async (h) => {
          while (performance.now() < end) flows.push(await flow(h));
        }),
      );
      const wall = performance.now() - t0;
      const lat = flows.map((f) => f.nonceMs + f.attestMs).sort((a, b) => a - b);
      return {
        concurrency,
        attestations: flows.length,
        attestationsPerSecond: round((flows.length / wall) * 1000, 1),
        flowLatencyMs: { p50: pct(lat, 50), p99: pct(lat, 99) },
        clientQuoteMsMean: round(flows.reduce((a, f) => a + f.quoteMs, 0) / Math.max(1, flows.length), 3),
      };
    };

    /** Arrivals every 1/rate s, round-robin over the hosts; latency from the scheduled arrival. */
    const openLoop = async (rate: number, ms: number) => {
      const total = Math.round((rate * ms) / 1000);
      const lat: number[] = [];
      const attestLat: number[] = [];
      const nonceLat: number[] = [];
      let late = 0;
      const t0 = performance.now();
      const all: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        else if (wait < -5) late++;
        const h = hosts[i % hosts.length]!;
        const run = h.busy.then(async () => {
          const f = await flow(h);
          lat.push(performance.now() - due);
          attestLat.push(f.attestMs);
          nonceLat.push(f.nonceMs);
        });
        h.busy = run.catch(() => undefined);
        all.push(run);
      }
      await Promise.all(all);
      const wall = performance.now() - t0;
      for (const a of [lat, attestLat, nonceLat]) a.sort((x, y) => x - y);
      return {
        offeredPerSecond: rate,
        attestations: total,
        achievedPerSecond: round((total / wall) * 1000, 1),
        arrivalsLateOver5ms: late,
        flowLatencyMs: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: round(lat.at(-1) ?? NaN) },
        attestRequestMs: { p50: pct(attestLat, 50), p99: pct(attestLat, 99) },
        nonceRequestMs: { p50: pct(nonceLat, 50), p99: pct(nonceLat, 99) },
      };
    };

    await closedLoop(16, WARMUP_MS);
    const throughput: Array<Record<string, unknown>> = [];
    // With BENCH_SERVICE_CPU_PROF, the load generator profiles itself too (client-<concurrency>.cpuprofile).
    const profDir = process.env.BENCH_SERVICE_CPU_PROF;
    const inspector = profDir ? new Session() : undefined;
    if (inspector) {
      inspector.connect();
      await inspector.post('Profiler.enable');
    }
    for (const c of CONCURRENCIES) {
      await server.ask('reset');
      await inspector?.post('Profiler.start');
      const cpu0 = process.cpuUsage();
      const r = await closedLoop(c, WINDOW_MS);
      const cpu = process.cpuUsage(cpu0);
      if (inspector && profDir) writeFileSync(join(profDir, `client-${c}.cpuprofile`), JSON.stringify((await inspector.post('Profiler.stop')).profile));
      throughput.push({ ...r, clientCpuCoresBusy: round((cpu.user + cpu.system) / 1000 / WINDOW_MS), server: await server.ask('stats') });
    }
    // The same service without HTTP: nonce, quote, attest called in-process (its own 16 hosts).
    const inProcess = await server.ask('inproc');

    // Floors: the same load generator against servers that do no attestation work.
    const floors: Record<string, unknown> = {};
    for (const mode of ['node-http', 'express-app'] as const) {
      const f = await startChild('service-floor.ts', [mode]);
      try {
        const fpost = client(f.url, HOSTS * 2);
        const quote = hosts[0]!.sim.quote(new Uint8Array(32));
        const head = (nonce: string) => Buffer.from(`{"nonce":"${nonce}","quote":"${b64(quote.quote)}","signature":"${b64(quote.signature)}"`);
        const loop = async (ms: number) => {
          let n = 0;
          const end = performance.now() + ms;
          await Promise.all(hosts.map(async (h) => {
            while (performance.now() < end) {
              const r = await fpost(`/v1/hosts/${h.sim.hostId}/nonce`);
              const a = await fpost(`/v1/hosts/${h.sim.hostId}/attestations`, [head(String(r.json.nonce)), h.tail]);
              if (r.status !== 201 || a.status !== 200) throw new Error(`floor ${mode} answered ${r.status}/${a.status}: ${JSON.stringify(a.json).slice(0, 300)}`);
              n++;
            }
          }));
          return n;
        };
        await loop(WARMUP_MS / 2);
        const s0 = Number((await f.ask('cpu')).micros);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const n = await loop(FLOOR_MS);
        const wall = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const serverMicros = Number((await f.ask('cpu')).micros) - s0;
        floors[mode] = {
          flowsPerSecond: round((n / wall) * 1000, 1),
          serverCpuMsPerFlow: round(serverMicros / 1000 / n, 3),
          clientCpuMsPerFlow: round((c.user + c.system) / 1000 / n, 3),
        };
      } finally {
        await f.stop();
      }
    }

    const rate = Number(process.env.BENCH_SERVICE_RATE ?? 300);
    await server.ask('reset');
    const fixed = QUICK ? {} : await openLoop(rate, WINDOW_MS);
    const fixedServer = await server.ask('stats');

    // The durable write alone (fsync per commit), on a separate database.
    const store = openSqliteStore(join(dataDir, 'write-bench.db'));
    const probe = 'probe';
    await store.createEnrollment({ enrollmentId: 'e', hostId: probe, ekFingerprint: 'f', akName: 'a', akPub: 'AA==', profiles: [], secretHash: '00', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await store.activateEnrollment('e', new Date());
    const record = (id: string) => ({ appraisalId: id, hostId: probe, verdict: 'pass' as const, profile: 'p@1', failures: [], pcrs: {}, evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' }, timings: {}, appraisedAt: new Date().toISOString() });
    const WRITES = 200;
    let t0 = performance.now();
    for (let i = 0; i < WRITES; i++) await store.recordAppraisal(record(`s${i}`));
    const sequentialMs = (performance.now() - t0) / WRITES;
    t0 = performance.now();
    await Promise.all(Array.from({ length: WRITES }, (_, i) => store.recordAppraisal(record(`c${i}`))));
    const concurrentMs = (performance.now() - t0) / WRITES;
    await store.close();

    // Token issuance alone (ES256 through jose, key imported once), without an event loop full of requests.
    const keyStore = openSqliteStore(':memory:');
    const keyring = await SigningKeyring.open(keyStore, { tokenTtlSeconds: 300, masterKey: new Uint8Array(32) });
    const subject = { hostId: 'h', appraisalId: 'a', profile: 'p@1', akName: '000b' + 'aa'.repeat(32), pcrDigest: 'bb'.repeat(32) };
    for (let i = 0; i < 200; i++) await issueAttestationToken(keyring, { issuer: url, ttlSeconds: 300, now: new Date() }, subject);
    t0 = performance.now();
    for (let i = 0; i < 1000; i++) await issueAttestationToken(keyring, { issuer: url, ttlSeconds: 300, now: new Date() }, subject);
    const tokenMs = (performance.now() - t0) / 1000;
    await keyStore.close();

    return {
      eventLogBytes: hosts[0]!.sim.eventLog.length,
      eventLogSource: useReal ? 'real firmware log (go-tpm-tools eventlogwithsp800155.bin) replayed into tpm-sim TPMs + profile learned from it' : 'tpm-sim reference boot + tpm-sim-reference profile',
      setup: { hosts: HOSTS, ak: 'ECC P-256 (tpm-sim)', serverProcess: 'separate (fork)', appraisalWorkers: workers, serverLogLevel: 'info (to a file)', durability: 'WAL, fsync before each answer', windowMs: WINDOW_MS },
      closedLoop: throughput,
      inProcess,
      floors,
      fixedLoad: { ...fixed, server: fixedServer },
      durableWriteMsPerRecord: { sequential: round(sequentialMs, 3), concurrent200: round(concurrentMs, 3) },
      tokenIssueMsIsolated: round(tokenMs, 3),
      loadAverage1m: round(os.loadavg()[0] ?? 0),
      note: 'attestation = nonce request + client quote + attest request; flow latency = both requests, from the scheduled arrival. Server stagesMs are wall times inside the service: under load they include waiting for the event loop and for the group commit (nonce = consume, store = appraisal write), except pipeline.* which the pipeline measures itself. httpMs = request start to response finish in the server. cpuMsPerAttestation = server process CPU (all threads) / attestations. inProcess = the same nonce+quote+attest flow called inside the server process without HTTP. floors = the same load generator against a server doing no attestation work: plain node:http, and bootgate\'s express app (all middleware) over a stub service; a flow there is one nonce and one attestation request. The 2 cores are shared by the server and the load generator: serverCpuMs + clientCpuMs per attestation bounds what the machine can do (2000 ms of CPU per second).',
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await bench(), null, 2)}\n`);
}
