/**
 * `npm run bench -- http`: bootgate's express app against bare express and plain node:http.
 *
 * End to end: five servers in child processes (bench/service-floor.ts), a ladder from node:http to
 * the app: node-http, express-router (express's router, body read and answer as node-http's),
 * express-raw (express.raw reads the body), bare-express (res.json answers), express-app (bootgate's
 * app over a stub service, rate limits on). The same keep-alive load generator and bodies (a real
 * firmware log's size) drive them in interleaved rounds of short windows, so the shared machine's
 * load falls on all of them alike. The figure is the server's CPU per flow (one nonce + one
 * attestation request); each step of the ladder is what that piece of express costs.
 *
 * Attribution of the app's own pieces (bench/http-parts.ts): each measured in-process, in
 * interleaved rounds, as CPU per flow; what remains of the gap is not any one piece.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, round, startChild, type Post, type ServerChild } from './load.ts';
import { REAL_LOG } from './real-log-host.ts';
import { attributeParts, attestationBody } from './http-parts.ts';

const MODES = ['node-http', 'express-router', 'express-raw', 'bare-express', 'express-app'] as const;
type Mode = (typeof MODES)[number];
const CONCURRENCY = 64;
// Short windows, many rounds: each mode's window sits next to the others' in time, so a round's
// ratios see the same machine load (the paired ratios below).
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 12);
const WINDOW_MS = 1000;
const WARMUP_ROUNDS = 2;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

async function window(server: ServerChild, post: Post, eventLog: Buffer, ms: number): Promise<{ flows: number; serverCpuMs: number; serverUserMs: number; wallMs: number }> {
  const c0 = await server.ask('cpu');
  const t0 = performance.now();
  const end = t0 + ms;
  let flows = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (performance.now() < end) {
        const n = await post(`/v1/hosts/bench-${i}/nonce`);
        const a = await post(`/v1/hosts/bench-${i}/attestations`, attestationBody(String(n.json.nonce), eventLog));
        if (n.status !== 201 || a.status !== 200) throw new Error(`${server.url} answered ${n.status}/${a.status}: ${JSON.stringify(a.json).slice(0, 300)}`);
        flows++;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const c1 = await server.ask('cpu');
  return { flows, serverCpuMs: (Number(c1.micros) - Number(c0.micros)) / 1000, serverUserMs: (Number(c1.user) - Number(c0.user)) / 1000, wallMs };
}

export async function bench(): Promise<Record<string, unknown>> {
  const eventLog = existsSync(REAL_LOG) ? readFileSync(REAL_LOG) : randomBytes(38_000);
  const servers = new Map<Mode, ServerChild>();
  // One keep-alive client per server for the whole run: no window pays for opening connections.
  const posts = new Map<Mode, Post>();
  const perFlow = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const userPerFlow = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const rate = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  try {
    for (const m of MODES) {
      const server = await startChild('service-floor.ts', [m]);
      servers.set(m, server);
      posts.set(m, client([server.url], CONCURRENCY * 2));
    }
    // Two rounds of warm-up (JIT, connections), not counted.
    for (let r = -WARMUP_ROUNDS; r < ROUNDS; r++) {
      // Rotate the order each round: no mode always runs first (or right after another).
      for (let k = 0; k < MODES.length; k++) {
        const m = MODES[(k + r + WARMUP_ROUNDS) % MODES.length]!;
        const w = await window(servers.get(m)!, posts.get(m)!, eventLog, WINDOW_MS);
        if (r < 0) continue;
        perFlow.get(m)!.push(w.serverCpuMs / w.flows);
        userPerFlow.get(m)!.push(w.serverUserMs / w.flows);
        rate.get(m)!.push((w.flows / w.wallMs) * 1000);
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
  const cpu = (m: Mode) => median(perFlow.get(m)!);
  const floor = cpu('bare-express');
  const parts = await attributeParts(eventLog);
  const step = (a: Mode, b: Mode) => round(cpu(b) - cpu(a), 3);
  const { floorJsonParse = 0, 'strict JSON body (UTF-8, JSON.parse, key scan)': strict = 0, ...rest } = parts;
  const inApp: Record<string, number> = { ...rest, 'strict JSON body beyond JSON.parse': round(strict - floorJsonParse, 4) };
  const measuredInApp = Object.values(inApp).reduce((a, b) => a + b, 0);
  return {
    eventLogBytes: eventLog.length,
    setup: { concurrency: CONCURRENCY, rounds: ROUNDS, warmupRounds: WARMUP_ROUNDS, windowMs: WINDOW_MS, serverLogLevel: 'info (to a file, synchronous writes as in production)', rateLimit: 'on (1,000,000 a minute: never refuses here)' },
    serverCpuMsPerFlow: Object.fromEntries(MODES.map((m) => [m, round(cpu(m), 3)])),
    serverUserCpuMsPerFlow: Object.fromEntries(MODES.map((m) => [m, round(median(userPerFlow.get(m)!), 3)])),
    flowsPerSecond: Object.fromEntries(MODES.map((m) => [m, round(median(rate.get(m)!), 1)])),
    ratioToBareExpress: Object.fromEntries(MODES.map((m) => [m, round(cpu(m) / floor)])),
    // Each round's own ratio (its windows are seconds apart), median over the rounds: less hurt by load that comes and goes.
    ratioToBareExpressPaired: Object.fromEntries(MODES.map((m) => [m, round(median(perFlow.get(m)!.map((x, r) => x / perFlow.get('bare-express')![r]!)))])),
    rounds: Object.fromEntries(MODES.map((m) => [m, perFlow.get(m)!.map((x) => round(x, 3))])),
    // Server CPU per flow each step adds (ms): the end-to-end ladder, then the app's own pieces in-process.
    attributionMsPerFlow: {
      'node:http -> express router (app, route match, req/res set-up)': step('node-http', 'express-router'),
      'express.raw (body-parser) instead of reading the body by hand': step('express-router', 'express-raw'),
      'res.json instead of res.writeHead + res.end': step('express-raw', 'bare-express'),
      'bare express -> bootgate app, all': step('bare-express', 'express-app'),
      inApp,
      'rest of the app (express dispatch of its extra layers, async handlers)': round(cpu('express-app') - cpu('bare-express') - measuredInApp, 3),
    },
    partsInProcessMsPerFlow: parts,
    loadAverage1m: round(os.loadavg()[0] ?? 0),
    note: 'flow = one nonce request + one attestation request (body: nonce, quote, signature, the event log in base64, 24 sha256 PCRs). serverCpuMsPerFlow = server process CPU (user+system) / flows, median of interleaved rounds; the load generator shares the 2 cores. attribution: in-process CPU per flow of each hot-path piece, medians of interleaved rounds.',
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await bench(), null, 2)}\n`);
}
