/**
 * `npm run bench -- replicas`: the same attestation load, in one run, against
 *   - one bootgate process on SQLite (the embedded default),
 *   - one replica on PostgreSQL,
 *   - two replicas on one PostgreSQL database, taken in turn request by request by the load
 *     generator (a nonce from one replica is often consumed by the other).
 * Each gets a closed loop (capacity: attestations/s and flow latency at a fixed concurrency) and an
 * open loop at a fixed offered rate (latency under equal load, from each scheduled arrival), in
 * rounds that take the configurations in turn, so the machine's other load falls on all alike.
 * CPU per attestation is measured for the bootgate processes, for the PostgreSQL backends serving
 * the bench database (/proc of the pids pg_stat_activity names; the WAL writer and checkpointer
 * are shared and not counted), and for the load generator, which shares the machine's cores.
 *
 * Needs BENCH_DATABASE_URL (or BOOTGATE_TEST_DATABASE_URL): a role that may CREATEDB; the bench
 * creates its databases (bg_pg_bench_*) and drops them afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { client, closedLoop, enrollHosts, flowOver, openLoop, pct, round, startChild, type ServerChild } from './load.ts';

const HOSTS = 64;
const CONCURRENCY = Number(process.env.BENCH_REPLICAS_CONCURRENCY ?? 64);
const RATE = Number(process.env.BENCH_REPLICAS_RATE ?? 300);
const WINDOW_MS = 3000;
/** Rounds of windows, each configuration in turn (BENCH_REPLICAS_ROUNDS). */
const ROUNDS = Number(process.env.BENCH_REPLICAS_ROUNDS ?? 3);
const WARMUP_MS = 2000;
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
/** Kernel clock ticks per second for /proc/<pid>/stat (CLK_TCK is 100 on Linux). */
const TICKS_PER_SECOND = 100;

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function createDatabase(serverUrl: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `bg_pg_bench_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return { url: u.href, name, drop: () => admin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined) };
}

/** CPU milliseconds so far of each PostgreSQL backend connected to `db`, by pid. */
async function backendCpu(db: { url: string; name: string }): Promise<Map<number, number>> {
  const pids = await admin(db.url, async (c) => (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name])).rows.map((r) => r.pid));
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      // Fields after the ")" of the command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // The backend ended meanwhile.
    }
  }
  return out;
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, v] of after) ms += v - (before.get(pid) ?? 0);
  return ms;
}

interface Setup {
  name: string;
  servers: ServerChild[];
  db?: { url: string; name: string };
  cleanup(): Promise<void>;
}

/** What one configuration accumulates over the rounds of one kind of window. */
class Tally {
  attestations = 0;
  wallMs = 0;
  bootgateMs = 0;
  postgresMs = 0;
  loadGeneratorMs = 0;
  readonly latencies: number[] = [];
  readonly busy: number[][] = [];

  summary(hasDb: boolean) {
    const n = Math.max(1, this.attestations);
    const lat = [...this.latencies].sort((a, b) => a - b);
    return {
      attestations: this.attestations,
      attestationsPerSecond: round((this.attestations / this.wallMs) * 1000, 1),
      flowLatencyMs: { p50: pct(lat, 50), p99: pct(lat, 99) },
      cpuMsPerAttestation: {
        bootgate: round(this.bootgateMs / n, 3),
        postgres: hasDb ? round(this.postgresMs / n, 3) : null,
        server: round((this.bootgateMs + this.postgresMs) / n, 3),
        loadGenerator: round(this.loadGeneratorMs / n, 3),
      },
      bootgateCoresBusy: this.busy,
    };
  }
}

/** One measured window of `run` against `setup`, added to `tally`. */
async function measure(setup: Setup, tally: Tally, run: (sink: number[]) => Promise<{ attestations: number }>): Promise<void> {
  await Promise.all(setup.servers.map((s) => s.ask('reset')));
  const db0 = setup.db ? await backendCpu(setup.db) : undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run(tally.latencies);
  tally.wallMs += performance.now() - t0;
  const c = process.cpuUsage(c0);
  const stats = await Promise.all(setup.servers.map((s) => s.ask('stats')));
  tally.attestations += r.attestations;
  tally.bootgateMs += stats.reduce((n, s) => n + Number(s.cpuMs), 0);
  tally.postgresMs += setup.db && db0 ? cpuDelta(db0, await backendCpu(setup.db)) : 0;
  tally.loadGeneratorMs += (c.user + c.system) / 1000;
  tally.busy.push(stats.map((s) => Number(s.cpuCoresBusy)));
}

/** The same flow inside the one server process, without HTTP or the load generator, with the backends' CPU. */
async function inProcess(setup: Setup): Promise<Record<string, unknown>> {
  const db0 = setup.db ? await backendCpu(setup.db) : undefined;
  const r = await setup.servers[0]!.ask('inproc');
  const dbMs = setup.db && db0 ? cpuDelta(db0, await backendCpu(setup.db)) : undefined;
  const { type: _type, note: _note, ...rest } = r;
  return { ...rest, ...(dbMs !== undefined ? { postgresCpuMsPerAttestation: round(dbMs / Number(r.attestationsWithWarmup), 3) } : {}) };
}

export async function bench(): Promise<Record<string, unknown>> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.BOOTGATE_TEST_DATABASE_URL;
  if (!serverUrl) return { skipped: 'set BENCH_DATABASE_URL=postgres://<role with CREATEDB>@host:port/<database> to compare SQLite with PostgreSQL replicas' };
  const masterKey = randomBytes(32).toString('base64');
  const dirs: string[] = [];
  const serve = (env: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-bench-replicas-'));
    dirs.push(dir);
    return startChild('service-server.ts', [dir, ADMIN_KEY, '0'], { BOOTGATE_MASTER_KEY: masterKey, ...env });
  };
  const setups: Setup[] = [];
  try {
    const sqlite = await serve({ BOOTGATE_DATABASE_URL: '' });
    setups.push({ name: 'sqlite', servers: [sqlite], cleanup: () => sqlite.stop() });
    const db1 = await createDatabase(serverUrl);
    const one = await serve({ BOOTGATE_DATABASE_URL: db1.url });
    setups.push({ name: 'pg1', servers: [one], db: db1, cleanup: async () => (await one.stop(), await db1.drop()) });
    const db2 = await createDatabase(serverUrl);
    const two = await Promise.all([serve({ BOOTGATE_DATABASE_URL: db2.url }), serve({ BOOTGATE_DATABASE_URL: db2.url })]);
    setups.push({ name: 'pg2', servers: two, db: db2, cleanup: async () => (await Promise.all(two.map((s) => s.stop())), await db2.drop()) });

    // Each configuration gets its hosts and a warm-up, then the rounds take them in turn, so the
    // machine's other load falls on all of them alike.
    const loads = [];
    for (const setup of setups) {
      const urls = setup.servers.map((x) => x.url);
      const { hosts } = await enrollHosts(urls[0]!, ADMIN_KEY, HOSTS, `bench-${setup.name}`);
      const flow = flowOver(client(urls, HOSTS * 2));
      await closedLoop(hosts, flow, CONCURRENCY, WARMUP_MS);
      loads.push({ setup, hosts, flow, closed: new Tally(), fixed: new Tally() });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const l of loads) await measure(l.setup, l.closed, (sink) => closedLoop(l.hosts, l.flow, CONCURRENCY, WINDOW_MS, sink));
      for (const l of loads) await measure(l.setup, l.fixed, (sink) => openLoop(l.hosts, l.flow, RATE, WINDOW_MS, sink));
    }
    const result = loads.map((l) => ({
      replicas: l.setup.servers.length,
      store: l.setup.db ? 'postgresql' : 'sqlite',
      closedLoop: l.closed.summary(l.setup.db !== undefined),
      fixedLoad: { offeredPerSecond: RATE, ...l.fixed.summary(l.setup.db !== undefined) },
      ...(l.setup.servers.length === 1 ? { inProcess: {} as Record<string, unknown> } : {}),
    }));
    for (const [i, l] of loads.entries()) if (l.setup.servers.length === 1) result[i]!.inProcess = await inProcess(l.setup);
    const [sq, pg1, pg2] = result as [(typeof result)[0], (typeof result)[0], (typeof result)[0]];
    const rate = (r: typeof sq) => r.closedLoop.attestationsPerSecond;
    const total = (r: typeof sq) => r.closedLoop.cpuMsPerAttestation.server + r.closedLoop.cpuMsPerAttestation.loadGenerator;
    return {
      setup: {
        hosts: HOSTS,
        concurrency: CONCURRENCY,
        fixedRatePerSecond: RATE,
        rounds: ROUNDS,
        windowMs: WINDOW_MS,
        cores: os.cpus().length,
        appraisalWorkers: 0,
        durability: 'SQLite: WAL fsynced before each answer; PostgreSQL: synchronous_commit as configured on the server',
      },
      sqlite: sq,
      postgresOneReplica: pg1,
      postgresTwoReplicas: pg2,
      ratios: {
        oneReplicaVsSqliteThroughput: round(rate(pg1) / rate(sq)),
        twoReplicasVsOneThroughput: round(rate(pg2) / rate(pg1)),
        postgresVsSqliteServerCpuPerAttestation: round(pg1.closedLoop.cpuMsPerAttestation.server / sq.closedLoop.cpuMsPerAttestation.server),
        postgresVsSqliteBootgateCpuPerAttestation: round(pg1.closedLoop.cpuMsPerAttestation.bootgate / sq.closedLoop.cpuMsPerAttestation.bootgate),
        postgresVsSqliteInProcessCpuPerAttestation: round(Number(pg1.inProcess?.cpuMsPerAttestation) / Number(sq.inProcess?.cpuMsPerAttestation)),
      },
      aims: { oneReplicaVsSqliteThroughput: '>= 0.8', twoReplicasVsOneThroughput: '>= 1.3', postgresVsSqliteServerCpuPerAttestation: '<= 1.3' },
      cpuBoundAttestationsPerSecond: {
        note: 'cores x 1000 / (server + load generator CPU ms per attestation): what the measured CPU cost allows when every core is busy and nothing else waits',
        sqlite: round((os.cpus().length * 1000) / total(sq), 0),
        postgresTwoReplicas: round((os.cpus().length * 1000) / total(pg2), 0),
      },
      loadAverage1m: round(os.loadavg()[0] ?? 0),
    };
  } finally {
    for (const setup of setups) await setup.cleanup().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await bench(), null, 2)}\n`);
}
