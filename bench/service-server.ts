/**
 * The server side of bench/service.ts, in its own process so the service has an event loop and a
 * core to itself. Forked with `<dataDir> <adminKey>`; answers IPC messages:
 *   {cmd:'reset'}  forget the timings gathered so far (end of warm-up)
 *   {cmd:'stats'}  reply {type:'stats', ...} with per-stage percentiles, HTTP time per route, CPU
 *   {cmd:'inproc'} the same flow without HTTP: 16 hosts of its own call the AttestationService
 *                  directly (nonce, quote, attest) for 3 s; reply {type:'inproc', ...}
 *   {cmd:'memory'} reply {type:'memory', ...process.memoryUsage() in MB}
 *   {cmd:'gc'}     a full collection, then reply {type:'gc', ...process.memoryUsage() in MB}
 *   {cmd:'stop'}   stop the service and exit
 * Logs at info level to a file in the data directory, as a production server would log.
 * BOOTGATE_DATABASE_URL and BOOTGATE_MASTER_KEY in its environment put it on PostgreSQL (bench/replicas.ts).
 * BENCH_SERVICE_CPU_PROF=<dir> writes a CPU profile of the main thread for each measured window.
 */
import { subscribe } from 'node:diagnostics_channel';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/service.ts';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { bootWithLog, REAL_LOG } from './real-log-host.ts';

const [dataDir, adminKey, workers = '0'] = process.argv.slice(2);
if (!dataDir || !adminKey || !process.send) throw new Error('usage: fork(service-server.ts, [dataDir, adminKey])');
const send = process.send.bind(process);
const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

const stages = new Map<string, number[]>();
const http = new Map<string, number[]>();
const started = new WeakMap<IncomingMessage, number>();
let cpuMark = process.cpuUsage();
let eluMark = performance.eventLoopUtilization();
let wallMark = performance.now();

function push(m: Map<string, number[]>, k: string, v: number): void {
  let a = m.get(k);
  if (!a) m.set(k, (a = []));
  a.push(v);
}

function routeOf(url: string | undefined): string {
  if (url === undefined) return 'other';
  if (url.endsWith('/nonce')) return 'nonce';
  if (url.endsWith('/attestations')) return 'attest';
  return 'other';
}

subscribe('http.server.request.start', (msg) => {
  started.set((msg as { request: IncomingMessage }).request, performance.now());
});
subscribe('http.server.response.finish', (msg) => {
  const req = (msg as { request: IncomingMessage }).request;
  const t0 = started.get(req);
  if (t0 !== undefined) push(http, routeOf(req.url), performance.now() - t0);
});

const config = loadConfig({
  BOOTGATE_PORT: '0',
  BOOTGATE_DATA_DIR: dataDir,
  BOOTGATE_GOLDEN_DIR: join(repoRoot, 'golden-measurements'),
  BOOTGATE_EK_ROOTS: join(repoRoot, 'tpm-sim', 'ca', 'dev-root.crt.pem'),
  BOOTGATE_API_KEYS: `admin:${adminKey}`,
  BOOTGATE_RATE_LIMIT: '0',
  BOOTGATE_LOG_LEVEL: 'info',
  ...(process.env.BOOTGATE_DATABASE_URL ? { BOOTGATE_DATABASE_URL: process.env.BOOTGATE_DATABASE_URL } : {}),
  ...(process.env.BOOTGATE_MASTER_KEY ? { BOOTGATE_MASTER_KEY: process.env.BOOTGATE_MASTER_KEY } : {}),
  ...(process.env.BOOTGATE_DATABASE_POOL ? { BOOTGATE_DATABASE_POOL: process.env.BOOTGATE_DATABASE_POOL } : {}),
});
const logger = pino({ level: 'info', base: { service: 'bootgate' } }, pino.destination({ dest: join(dataDir, 'server.log'), sync: false }));
const service = await startService({ config, logger, appraisalWorkers: Number(workers), onAppraised: (t) => {
  for (const [k, v] of Object.entries(t)) push(stages, k, v);
} });

const round = (x: number): number => Math.round(x * 1000) / 1000;
function summary(values: number[]): { n: number; p50: number; p99: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, p50: round(at(0.5)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
}

// BENCH_SERVICE_CPU_PROF=<dir>: a CPU profile of the main thread from each reset to the next stats.
const profileDir = process.env.BENCH_SERVICE_CPU_PROF;
const inspector = profileDir ? new Session() : undefined;
let profiles = 0;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
}

/** Nonce, quote and attest straight through the service, as the HTTP routes call it. */
async function inProcess(): Promise<Record<string, unknown>> {
  if (!existsSync(REAL_LOG)) return { skipped: `${REAL_LOG} not found` };
  const bytes = new Uint8Array(readFileSync(REAL_LOG));
  const sims: SimHost[] = [];
  for (let i = 0; i < 16; i++) {
    const h = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `inproc-${i}` });
    bootWithLog(h, bytes);
    const agent = new HostAgent(h, service.url);
    await agent.enroll(['bench-real-log']);
    await agent.activate();
    sims.push(h);
  }
  const attestation = service.context.attestation;
  let quoteMs = 0;
  const loop = async (ms: number) => {
    let n = 0;
    const end = performance.now() + ms;
    await Promise.all(sims.map(async (h) => {
      while (performance.now() < end) {
        const { nonce } = await attestation.issueNonce(h.hostId, new Date());
        const t = performance.now();
        const q = h.quote(new Uint8Array(Buffer.from(nonce, 'base64')));
        quoteMs += performance.now() - t;
        const sha256 = q.pcrs.sha256;
        const r = await attestation.attest(h.hostId, { nonce: new Uint8Array(Buffer.from(nonce, 'base64')), quote: q.quote, signature: q.signature, eventLog: bytes, ...(sha256 ? { pcrs: { sha256 } } : {}) }, new Date());
        if (r.verdict !== 'pass') throw new Error(`in-process attestation failed: ${JSON.stringify(r.failures).slice(0, 300)}`);
        n++;
      }
    }));
    return n;
  };
  const warmup = await loop(1000);
  quoteMs = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await loop(3000);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    hosts: sims.length,
    attestations: n,
    /** With the 1 s warm-up: what a caller measuring from outside (the database's CPU) divides by. */
    attestationsWithWarmup: n + warmup,
    attestationsPerSecond: Math.round((n / wall) * 1000),
    cpuMsPerAttestation: round((c.user + c.system) / 1000 / n),
    simQuoteMsMean: round(quoteMs / n),
    note: 'no HTTP: AttestationService.issueNonce + tpm-sim quote + AttestationService.attest in the server process; cpuMsPerAttestation includes the quote',
  };
}

/** Where the RSS goes: V8's heap (used and reserved), Buffers/ArrayBuffers, the rest native (SQLite, code, isolates). */
function memoryMb(): Record<string, number> {
  return Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1024 / 102.4) / 10]));
}
// A full collection on request, without starting the server under --expose-gc.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

process.on('message', async (msg: { cmd: string }) => {
  if (inspector && msg.cmd === 'reset') await inspector.post('Profiler.start');
  if (inspector && msg.cmd === 'stats') {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(join(profileDir!, `main-${process.pid}-${++profiles}.cpuprofile`), JSON.stringify(profile));
  }
  if (msg.cmd === 'reset') {
    stages.clear();
    http.clear();
    cpuMark = process.cpuUsage();
    eluMark = performance.eventLoopUtilization();
    wallMark = performance.now();
    send({ type: 'reset' });
  } else if (msg.cmd === 'stats') {
    const cpu = process.cpuUsage(cpuMark);
    const wallMs = performance.now() - wallMark;
    const attests = http.get('attest')?.length ?? 0;
    send({
      type: 'stats',
      stagesMs: Object.fromEntries([...stages.entries()].map(([k, v]) => [k, summary(v)])),
      httpMs: Object.fromEntries([...http.entries()].map(([k, v]) => [k, summary(v)])),
      eventLoopUtilization: round(performance.eventLoopUtilization(eluMark).utilization),
      cpuCoresBusy: round((cpu.user + cpu.system) / 1000 / wallMs),
      cpuMs: round((cpu.user + cpu.system) / 1000),
      attestations: attests,
      cpuMsPerAttestation: attests === 0 ? null : round((cpu.user + cpu.system) / 1000 / attests),
    });
  } else if (msg.cmd === 'inproc') {
    send({ type: 'inproc', ...(await inProcess()) });
  } else if (msg.cmd === 'memory') {
    send({ type: 'memory', ...memoryMb() });
  } else if (msg.cmd === 'gc') {
    fullGc();
    send({ type: 'gc', ...memoryMb() });
  } else if (msg.cmd === 'stop') {
    void service.stop(2000).then(() => process.exit(0));
  }
});
send({ type: 'ready', url: service.url });
