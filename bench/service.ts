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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { SigningKeyring } from '../src/token/keys.ts';
import { issueAttestationToken } from '../src/token/attestation-token.ts';
import { b64, client, closedLoop, enrollHosts, flowOver, openLoop, round, startChild, type ServerChild } from './load.ts';

const HOSTS = 64;
// BENCH_SERVICE_CONCURRENCY=64: only that closed loop and no fixed-load run (quick A/B comparisons).
const QUICK = process.env.BENCH_SERVICE_CONCURRENCY;
const CONCURRENCIES = QUICK ? [Number(QUICK)] : [16, 64];
const WINDOW_MS = 5000;
const WARMUP_MS = 2000;
const FLOOR_MS = 3000;

async function startServerChild(dataDir: string, adminKey: string, workers: number): Promise<ServerChild> {
  return startChild('service-server.ts', [dataDir, adminKey, String(workers)]);
}

export async function bench(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-'));
  const adminKey = 'bench-admin-key-0123456789abcdef';
  const workers = Number(process.env.BENCH_SERVICE_WORKERS ?? 1);
  const server = await startServerChild(dataDir, adminKey, workers);
  const url = server.url;
  try {
    const { hosts, useReal } = await enrollHosts(url, adminKey, HOSTS);
    const post = client([url], HOSTS * 2);
    const flow = flowOver(post);

    await closedLoop(hosts, flow, 16, WARMUP_MS);
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
      const r = await closedLoop(hosts, flow, c, WINDOW_MS);
      const cpu = process.cpuUsage(cpu0);
      if (inspector && profDir) writeFileSync(join(profDir, `client-${c}.cpuprofile`), JSON.stringify((await inspector.post('Profiler.stop')).profile));
      throughput.push({ ...r, clientCpuCoresBusy: round((cpu.user + cpu.system) / 1000 / WINDOW_MS), server: await server.ask('stats') });
    }
    // The same service without HTTP: nonce, quote, attest called in-process (its own 16 hosts).
    const inProcess = await server.ask('inproc');

    // Floors: the same load generator against servers that do no attestation work.
    const floors: Record<string, unknown> = {};
    for (const mode of ['node-http', 'bare-express', 'express-app'] as const) {
      const f = await startChild('service-floor.ts', [mode]);
      try {
        const fpost = client([f.url], HOSTS * 2);
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
    const fixed = QUICK ? {} : await openLoop(hosts, flow, rate, WINDOW_MS);
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
      note: 'attestation = nonce request + client quote + attest request; flow latency = both requests, from the scheduled arrival. Server stagesMs are wall times inside the service: under load they include waiting for the event loop and for the group commit (nonce = consume, store = appraisal write), except pipeline.* which the pipeline measures itself. httpMs = request start to response finish in the server. cpuMsPerAttestation = server process CPU (all threads) / attestations. inProcess = the same nonce+quote+attest flow called inside the server process without HTTP. floors = the same load generator against a server doing no attestation work: plain node:http, bare express (express.raw, JSON.parse, res.json), and bootgate\'s express app (all middleware, rate limits on) over a stub service (bench/http.ts compares them in interleaved rounds); a flow there is one nonce and one attestation request. The 2 cores are shared by the server and the load generator: serverCpuMs + clientCpuMs per attestation bounds what the machine can do (2000 ms of CPU per second).',
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await bench(), null, 2)}\n`);
}
