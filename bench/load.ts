/**
 * The load generator of the service benchmarks (bench/service.ts, bench/replicas.ts): servers in
 * child processes, tpm-sim hosts attesting through keep-alive HTTP clients, closed and open loops.
 * Hosts use ECC (P-256) AKs, so the client's quote signing is ~0.1 ms in this process. Each host
 * runs one attestation at a time (a host's quotes must reach the verifier in clock order).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/index.ts';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { bootWithLog, REAL_LOG } from './real-log-host.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

export const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
export function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
}
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ServerChild {
  url: string;
  pid: number;
  ask(cmd: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Forks bench/<script> and waits for its {type:'ready', url}; ask(cmd) awaits the reply of that type. */
export async function startChild(script: string, args: string[], env: Record<string, string> = {}): Promise<ServerChild> {
  const prof = process.env.BENCH_SERVICE_CPU_PROF;
  const child: ChildProcess = fork(join(here, script), args, {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env, ...(prof ? { BENCH_SERVICE_CPU_PROF: resolve(prof) } : {}) },
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
    pid: child.pid ?? 0,
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

export type Post = (path: string, body?: Buffer[]) => Promise<{ status: number; json: Record<string, unknown> }>;

/**
 * A keep-alive HTTP client over one or more servers, taking them in turn request by request (round
 * robin). A body is given as Buffers written one after another: the event log part is encoded once
 * per host, so the load generator does not re-encode 37 KB per request.
 */
export function client(bases: string[], sockets: number): Post {
  const targets = bases.map((b) => ({ url: new URL(b), agent: new Agent({ keepAlive: true, maxSockets: sockets }) }));
  let turn = 0;
  return (path, body) => {
    const target = targets[turn++ % targets.length]!;
    return send(target.url, target.agent, path, body).catch((err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // The server closed an idle keep-alive socket as this request was written on it: it never saw the request.
      if (err.code === 'ECONNRESET' && err.reusedSocket) return send(target.url, target.agent, path, body);
      throw err;
    });
  };
}

/** One POST on a keep-alive agent; its error says whether the socket had served a request before. */
function send(url: URL, agent: Agent, path: string, body?: Buffer[]): ReturnType<Post> {
  return new Promise((res, rej) => {
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
    req.on('error', (err) => rej(Object.assign(err, { reusedSocket: req.reusedSocket })));
    for (const part of body?.slice(0, -1) ?? []) req.write(part);
    req.end(body?.at(-1));
  });
}

export interface BenchHost {
  sim: SimHost;
  /** `,"eventLog":"…","pcrs":{…}}`: the part of the body that never changes. */
  tail: Buffer;
  busy: Promise<unknown>;
}

export interface Flow {
  nonceMs: number;
  quoteMs: number;
  attestMs: number;
}

export const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

/**
 * `count` tpm-sim hosts enrolled at `url` and assigned a profile: booted to the real firmware log
 * with a profile learned from it when the shared fixtures are there, else the tpm-sim reference.
 */
export async function enrollHosts(url: string, adminKey: string, count: number, prefix = 'bench'): Promise<{ hosts: BenchHost[]; useReal: boolean }> {
  const admin = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const useReal = existsSync(REAL_LOG);
  let profileName = 'tpm-sim-reference';
  const sims: SimHost[] = [];
  for (let i = 0; i < count; i++) sims.push(createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `${prefix}-${i}` }));
  if (useReal) {
    const bytes = new Uint8Array(readFileSync(REAL_LOG));
    const log = parseEventLog(bytes);
    const profile = learnProfile(log, replayEventLog(log), { name: 'bench-real-log' });
    profileName = profile.name;
    const put = await fetch(new URL(`/v1/golden/${profileName}`, url), { method: 'PUT', headers: admin, body: JSON.stringify(profile) });
    if (put.status !== 201 && put.status !== 200) throw new Error(`storing the learned profile failed: ${put.status} ${await put.text()}`);
    for (const h of sims) bootWithLog(h, bytes);
  }
  for (const h of sims) {
    const agent = new HostAgent(h, url);
    await agent.enroll([profileName]);
    await agent.activate();
  }
  const hosts = sims.map((sim) => {
    const q = sim.quote(new Uint8Array(32));
    const pcrs = Object.fromEntries([...(q.pcrs.sha256 ?? new Map<number, Uint8Array>()).entries()].map(([k, v]) => [String(k), Buffer.from(v).toString('hex')]));
    return { sim, tail: Buffer.from(`,"eventLog":"${Buffer.from(sim.eventLog).toString('base64')}","pcrs":${JSON.stringify({ sha256: pcrs })}}`), busy: Promise.resolve() };
  });
  return { hosts, useReal };
}

/** One full attestation: nonce, quote (client side), attest; throws unless it passes with a token. */
export function flowOver(post: Post): (h: BenchHost) => Promise<Flow> {
  return async (h) => {
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
}

/** The first `concurrency` hosts each attesting back to back for `ms`; each flow's latency also goes to `sink`. */
export async function closedLoop(hosts: BenchHost[], flow: (h: BenchHost) => Promise<Flow>, concurrency: number, ms: number, sink?: number[]) {
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
  sink?.push(...lat);
  return {
    concurrency,
    attestations: flows.length,
    attestationsPerSecond: round((flows.length / wall) * 1000, 1),
    flowLatencyMs: { p50: pct(lat, 50), p99: pct(lat, 99) },
    clientQuoteMsMean: round(flows.reduce((a, f) => a + f.quoteMs, 0) / Math.max(1, flows.length), 3),
  };
}

/** Arrivals every 1/rate s, round-robin over the hosts; latency from the scheduled arrival (no coordinated omission), also pushed to `sink`. */
export async function openLoop(hosts: BenchHost[], flow: (h: BenchHost) => Promise<Flow>, rate: number, ms: number, sink?: number[]) {
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
  sink?.push(...lat);
  return {
    offeredPerSecond: rate,
    attestations: total,
    achievedPerSecond: round((total / wall) * 1000, 1),
    arrivalsLateOver5ms: late,
    flowLatencyMs: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: round(lat.at(-1) ?? NaN) },
    attestRequestMs: { p50: pct(attestLat, 50), p99: pct(attestLat, 99) },
    nonceRequestMs: { p50: pct(nonceLat, 50), p99: pct(nonceLat, 99) },
  };
}
