/**
 * `npm run bench -- replicas`: the same attestation load, in one run, against
 *   - one bootgate process on SQLite (the embedded default),
 *   - one replica on PostgreSQL,
 *   - two replicas on one PostgreSQL database, taken in turn request by request by the load
 *     generator (a nonce from one replica is often consumed by the other).
 * Each gets a closed loop (capacity: attestations/s and flow latency at a fixed concurrency) and an
 * open loop at a fixed offered rate (latency under equal load, from each scheduled arrival).
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
import { client, closedLoop, enrollHosts, flowOver, openLoop, round, startChild, type ServerChild } from './load.ts';

const HOSTS = 64;
const CONCURRENCY = Number(process.env.BENCH_REPLICAS_CONCURRENCY ?? 64);
const RATE = Number(process.env.BENCH_REPLICAS_RATE ?? 300);
const WINDOW_MS = 5000;
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

async function measure(setup: Setup) {
  const urls = setup.servers.map((s) => s.url);
  const { hosts } = await enrollHosts(urls[0]!, ADMIN_KEY, HOSTS, `bench-${setup.name}`);
  const flow = flowOver(client(urls, HOSTS * 2));
  await closedLoop(hosts, flow, CONCURRENCY, WARMUP_MS);

  const window = async <R extends { attestations: number }>(run: () => Promise<R>) => {
    await Promise.all(setup.servers.map((s) => s.ask('reset')));
    const db0 = setup.db ? await backendCpu(setup.db) : undefined;
    const c0 = process.cpuUsage();
    const r = await run();
    const c = process.cpuUsage(c0);
    const stats = await Promise.all(setup.servers.map((s) => s.ask('stats')));
    const dbMs = setup.db && db0 ? cpuDelta(db0, await backendCpu(setup.db)) : 0;
    const serverMs = stats.reduce((n, s) => n + Number(s.cpuMs), 0);
    const n = Math.max(1, r.attestations);
    return {
      ...r,
      cpuMsPerAttestation: {
        bootgate: round(serverMs / n, 3),
        postgres: setup.db ? round(dbMs / n, 3) : null,
        server: round((serverMs + dbMs) / n, 3),
        loadGenerator: round((c.user + c.system) / 1000 / n, 3),
      },
      bootgateCoresBusy: stats.map((s) => s.cpuCoresBusy),
    };
  };
  const closed = await window(() => closedLoop(hosts, flow, CONCURRENCY, WINDOW_MS));
  const open = await window(() => openLoop(hosts, flow, RATE, WINDOW_MS));
  // Without HTTP or the load generator: what the store costs the service process itself.
  let inProcess: Record<string, unknown> | undefined;
  if (setup.servers.length === 1) {
    const db0 = setup.db ? await backendCpu(setup.db) : undefined;
    const r = await setup.servers[0]!.ask('inproc');
    const dbMs = setup.db && db0 ? cpuDelta(db0, await backendCpu(setup.db)) : undefined;
    const { type: _type, note: _note, ...rest } = r;
    const n = Number(r.attestationsWithWarmup);
    inProcess = { ...rest, ...(dbMs !== undefined ? { postgresCpuMsPerAttestation: round(dbMs / n, 3) } : {}) };
  }
  return { replicas: setup.servers.length, store: setup.db ? 'postgresql' : 'sqlite', closedLoop: closed, fixedLoad: open, ...(inProcess ? { inProcess } : {}) };
}

export async function bench(): Promise<Record<string, unknown>> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.BOOTGATE_TEST_DATABASE_URL;
  if (!serverUrl) return { skipped: 'set BENCH_DATABASE_URL=postgres://<role with CREATEDB>@host:port/<database> to compare SQLite with PostgreSQL replicas' };
  const masterKey = randomBytes(32).toString('base64');
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'bootgate-bench-replicas-'));
    dirs.push(d);
    return d;
  };
  const serve = (env: Record<string, string> = {}) => startChild('service-server.ts', [dataDir(), ADMIN_KEY, '0'], { BOOTGATE_MASTER_KEY: masterKey, ...env });

  const setups: Array<() => Promise<Setup>> = [
    async () => {
      const s = await serve({ BOOTGATE_DATABASE_URL: '' });
      return { name: 'sqlite', servers: [s], cleanup: () => s.stop() };
    },
    async () => {
      const db = await createDatabase(serverUrl);
      const s = await serve({ BOOTGATE_DATABASE_URL: db.url });
      return { name: 'pg1', servers: [s], db, cleanup: async () => (await s.stop(), await db.drop()) };
    },
    async () => {
      const db = await createDatabase(serverUrl);
      const servers = await Promise.all([serve({ BOOTGATE_DATABASE_URL: db.url }), serve({ BOOTGATE_DATABASE_URL: db.url })]);
      return { name: 'pg2', servers, db, cleanup: async () => (await Promise.all(servers.map((s) => s.stop())), await db.drop()) };
    },
  ];
  const results: Array<Awaited<ReturnType<typeof measure>>> = [];
  try {
    for (const make of setups) {
      const setup = await make();
      try {
        results.push(await measure(setup));
      } finally {
        await setup.cleanup();
      }
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const [sqlite, pg1, pg2] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
  const rate = (r: typeof sqlite) => r.closedLoop.attestationsPerSecond;
  const total = (r: typeof sqlite) => r.closedLoop.cpuMsPerAttestation.server + r.closedLoop.cpuMsPerAttestation.loadGenerator;
  return {
    setup: { hosts: HOSTS, concurrency: CONCURRENCY, fixedRatePerSecond: RATE, windowMs: WINDOW_MS, cores: os.cpus().length, appraisalWorkers: 0, durability: 'SQLite: WAL fsynced before each answer; PostgreSQL: synchronous_commit as configured on the server' },
    sqlite,
    postgresOneReplica: pg1,
    postgresTwoReplicas: pg2,
    ratios: {
      oneReplicaVsSqliteThroughput: round(rate(pg1) / rate(sqlite)),
      twoReplicasVsOneThroughput: round(rate(pg2) / rate(pg1)),
      postgresVsSqliteServerCpuPerAttestation: round(pg1.closedLoop.cpuMsPerAttestation.server / sqlite.closedLoop.cpuMsPerAttestation.server),
      postgresVsSqliteBootgateCpuPerAttestation: round(pg1.closedLoop.cpuMsPerAttestation.bootgate / sqlite.closedLoop.cpuMsPerAttestation.bootgate),
      postgresVsSqliteInProcessCpuPerAttestation: round(Number(pg1.inProcess?.cpuMsPerAttestation) / Number(sqlite.inProcess?.cpuMsPerAttestation)),
    },
    aims: { oneReplicaVsSqliteThroughput: '>= 0.8', twoReplicasVsOneThroughput: '>= 1.3', postgresVsSqliteServerCpuPerAttestation: '<= 1.3' },
    cpuBoundAttestationsPerSecond: {
      note: 'cores x 1000 / (server + load generator CPU ms per attestation): what the measured CPU cost allows when every core is busy and nothing else waits',
      sqlite: round((os.cpus().length * 1000) / total(sqlite), 0),
      postgresTwoReplicas: round((os.cpus().length * 1000) / total(pg2), 0),
    },
    loadAverage1m: round(os.loadavg()[0] ?? 0),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await bench(), null, 2)}\n`);
}
