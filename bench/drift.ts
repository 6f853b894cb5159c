/**
 * Fleet drift at scale (contract §6): 10,000 and 100,000 failing hosts, 99% of them in 5 drift
 * groups (new bootloader, new kernel, an option ROM, a longer command line, reflashed firmware) and
 * 1% each with a change of its own. Every host has a kept passing and a kept failing tpm-sim log
 * and the drift entry the service records. Then, over HTTP against the real service:
 *   - GET /v1/drift (one grouped read of the failing hosts; the answer names every host);
 *   - GET /v1/hosts/{id}/changes, cold (both logs read, inflated and parsed) and warm (parsed logs cached);
 * with the growth factor from 10,000 to 100,000 hosts (10 is linear).
 * And the storage a fleet costs: bytes per appraisal row and per kept log, from SQLite's dbstat,
 * after tpm-sim hosts attest through the real service (each host's boot differs a little, as real
 * ones do), with the census of their profile over those distinct logs, cold and warm.
 *
 * The populating writes skip fsync (an injected no-op sync): this measures reads, not the disk.
 * BENCH_DRIFT_SIZES=1000,10000 picks other fleet sizes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { blockingCodes, changeSetId } from '../src/appraisal/change-set.ts';
import { diffBoots } from '../src/appraisal/diff.ts';
import { loadConfig } from '../src/config.ts';
import { parseEventLog } from '../src/eventlog/index.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { DATABASE_FILE, startService } from '../src/service.ts';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite.ts';
import type { AppraisalRecord } from '../src/store/types.ts';
import { applyScenario, bootEvents, createSimHost, encodeEventLog, fakeImage, HostAgent, LOG_BANKS, referencePlatform, type Platform } from '../tpm-sim/index.ts';
import { GOLDEN_DIR, SIM_EK_ROOT, SIM_PROFILE } from '../src/demo/verifier.ts';
import { createHash } from 'node:crypto';

/** BENCH_DRIFT_SIZES=1000,10000 for a quicker run. */
const SIZES = (process.env.BENCH_DRIFT_SIZES ?? '10000,100000').split(',').map(Number);
const ADMIN = 'bench-admin-key-0123456789';
const round = (x: number): number => Math.round(x * 10) / 10;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const profile = loadProfileFile(join(GOLDEN_DIR, `${SIM_PROFILE}.json`));

function logOf(p: Platform): Uint8Array {
  return encodeEventLog(LOG_BANKS, bootEvents(p));
}

function variant(edit: (p: Platform) => void): Uint8Array {
  const p = referencePlatform();
  edit(p);
  return logOf(p);
}

const GROUP_EDITS: Array<[string, (p: Platform) => void]> = [
  ['bootloader', (p) => (p.grub.contents = fakeImage('grub 2.14', p.grub.contents.length))],
  ['kernel', (p) => (p.kernel.contents = fakeImage('linux 6.9', p.kernel.contents.length))],
  ['option ROM', (p) => Object.assign(p, applyScenario(p, 'option-rom-implant'))],
  ['cmdline', (p) => (p.kernelCmdline += ' quiet')],
  ['firmware', (p) => Object.assign(p, applyScenario(p, 'bios-reflash'))],
];

interface Boot {
  bytes: Uint8Array;
  digest: string;
  drift: NonNullable<AppraisalRecord['drift']>;
  codes: string[];
}

function failingBoot(clean: Uint8Array, bytes: Uint8Array): Boot {
  const before = parseEventLog(clean);
  const after = parseEventLog(bytes);
  const changes = diffBoots(before, after, { bank: profile.bank, pcrs: profile.pcrs, profile });
  const codes = ['bootloader_not_allowed'];
  const blockers = blockingCodes(codes.map((code) => ({ code })));
  return { bytes, digest: sha(bytes), codes, drift: { groupId: changeSetId(profile.name, profile.bank, changes, blockers), changes, blockers, bank: profile.bank } };
}

async function populate(store: SqliteStore, n: number): Promise<{ groups: number; singletonHost: string; groupHost: string }> {
  const clean = logOf(referencePlatform());
  const cleanDigest = sha(clean);
  const groups = GROUP_EDITS.map(([, edit]) => failingBoot(clean, variant(edit)));
  const singletons = Math.round(n / 100);
  const t0 = new Date('2026-01-01T00:00:00Z').getTime();
  const CHUNK = 2000;
  for (let from = 0; from < n; from += CHUNK) {
    await Promise.all(Array.from({ length: Math.min(CHUNK, n - from) }, async (_, k) => {
      const i = from + k;
      const hostId = `host-${String(i).padStart(6, '0')}`;
      const at = new Date(t0 + i * 1000).toISOString();
      await store.createEnrollment({ enrollmentId: `e${i}`, hostId, ekFingerprint: `ek${i}`, akName: 'ak', akPub: 'AAAA', profiles: [SIM_PROFILE], secretHash: '00', createdAt: at, expiresAt: '2100-01-01T00:00:00Z' });
      await store.activateEnrollment(`e${i}`, new Date(t0));
      const base = { hostId, pcrs: {}, timings: {}, appraisedAt: at, profile: `${SIM_PROFILE}@1` };
      await store.recordAppraisal({ ...base, appraisalId: `p${i}`, verdict: 'pass', failures: [], evidence: { quote: 'q', signature: 's', eventLog: cleanDigest, nonce: `np${i}` }, eventLog: clean });
      // The first 1% change something of their own; the rest share one of the 5 group changes.
      const boot = i < singletons ? failingBoot(clean, variant((p) => (p.grub.contents = fakeImage(`grub build ${i}`, p.grub.contents.length)))) : (groups[i % groups.length] as Boot);
      await store.recordAppraisal({
        ...base, appraisalId: `f${i}`, verdict: 'fail', appraisedAt: new Date(t0 + i * 1000 + 500).toISOString(),
        failures: boot.codes.map((code) => ({ code, message: code })), evidence: { quote: 'q', signature: 's', eventLog: boot.digest, nonce: `nf${i}` },
        eventLog: boot.bytes, drift: boot.drift,
      });
    }));
  }
  return { groups: GROUP_EDITS.length + singletons, singletonHost: 'host-000000', groupHost: `host-${String(n - 1).padStart(6, '0')}` };
}

async function timed(f: () => Promise<unknown>, runs: number): Promise<{ best: number; median: number }> {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { best: round(ms[0] ?? NaN), median: round(ms[Math.floor(ms.length / 2)] ?? NaN) };
}

async function get(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

async function driftAt(n: number): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-drift-'));
  try {
    const store = openSqliteStore(join(dataDir, DATABASE_FILE), { sync: async () => {} });
    const p0 = performance.now();
    const pop = await populate(store, n);
    const populateMs = performance.now() - p0;
    const storeList = await timed(() => store.listDriftGroups(), 3);
    await store.close();
    const config = loadConfig({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_GOLDEN_DIR: GOLDEN_DIR, BOOTGATE_EK_ROOTS: SIM_EK_ROOT, BOOTGATE_API_KEYS: `admin:${ADMIN}`, BOOTGATE_LOG_LEVEL: 'silent' });
    const service = await startService({ config, logger: pino({ level: 'silent' }) });
    try {
      const answer = (await get(`${service.url}/v1/drift`)) as { groups: Array<{ count: number }> };
      const drift = await timed(() => get(`${service.url}/v1/drift`), 5);
      // The same answer without HTTP and JSON: where the time of /v1/drift goes.
      const driftService = await timed(() => service.context.fleet.drift.list(), 5);
      // Cold: hosts whose logs no request has parsed yet (each singleton has a log of its own).
      const cold: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const t0 = performance.now();
        await get(`${service.url}/v1/hosts/host-${String(i).padStart(6, '0')}/changes`);
        cold.push(performance.now() - t0);
      }
      const warm = await timed(() => get(`${service.url}/v1/hosts/${pop.groupHost}/changes`), 20);
      return {
        hosts: n,
        groups: answer.groups.length,
        largestGroups: answer.groups.slice(0, 5).map((g) => g.count),
        populateSeconds: round(populateMs / 1000),
        driftMs: drift,
        driftServiceMs: driftService,
        storeListDriftGroupsMs: storeList,
        changesColdMs: round(cold.sort((a, b) => a - b)[2] ?? NaN),
        changesWarmMs: warm,
      };
    } finally {
      await service.stop(1000);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Bytes of each table with its indexes, from SQLite's dbstat. */
function tableBytes(store: SqliteStore): Record<string, number> {
  const rows = store.db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name").all() as Array<{ name: string; bytes: number }>;
  const indexOf = store.db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").all() as Array<{ name: string; tbl_name: string }>;
  const owner = new Map(indexOf.map((i) => [i.name, i.tbl_name]));
  const out: Record<string, number> = {};
  for (const r of rows) {
    const t = owner.get(r.name) ?? r.name;
    out[t] = (out[t] ?? 0) + r.bytes;
  }
  return out;
}

/**
 * 100 tpm-sim hosts, each with a boot of its own (its disk), attest 10 times each through the real
 * service; one in five then reboots into a new bootloader and fails 5 times.
 */
async function storage(): Promise<Record<string, unknown>> {
  const HOSTS = 100;
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-storage-'));
  // The reference profile without PCR 5, so hosts whose disks differ (the GPT event) all pass.
  const goldenDir = join(dataDir, 'golden');
  mkdirSync(goldenDir);
  writeFileSync(join(goldenDir, 'fleet.json'), JSON.stringify({ ...profile, name: 'fleet', pcrs: profile.pcrs.filter((p) => p !== 5) }));
  const config = loadConfig({ BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dataDir, BOOTGATE_GOLDEN_DIR: goldenDir, BOOTGATE_EK_ROOTS: SIM_EK_ROOT, BOOTGATE_API_KEYS: `admin:${ADMIN}`, BOOTGATE_LOG_LEVEL: 'silent', BOOTGATE_RATE_LIMIT: '0' });
  const service = await startService({ config, logger: pino({ level: 'silent' }) });
  let appraisals = 0;
  try {
    const agents = Array.from({ length: HOSTS }, (_, i) => new HostAgent(createSimHost({ hostId: `store-${i}` }), service.url));
    for (const [i, a] of agents.entries()) {
      await a.enroll(['fleet']);
      await a.activate();
      // A boot of its own: its disk GUID (PCR 5) and boot option differ, as on real hosts.
      a.host.platform.disk.guid = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
      a.host.reboot();
    }
    for (let round = 0; round < 10; round++) for (const a of agents) (await a.attest(), appraisals++);
    for (const a of agents.filter((_, i) => i % 5 === 0)) {
      a.host.platform.grub.contents = fakeImage('grub 2.14', a.host.platform.grub.contents.length);
      a.host.reboot();
      for (let r = 0; r < 5; r++) (await a.attest(), appraisals++);
    }
    // The census reads every host's last passing log: cold (each distinct log read and parsed once), then warm.
    const t0 = performance.now();
    const census = (await get(`${service.url}/v1/golden/fleet/census`)) as { hosts: number };
    const censusColdMs = performance.now() - t0;
    const censusWarm = await timed(() => get(`${service.url}/v1/golden/fleet/census`), 5);
    // This bench runs the embedded default: the service's store is the SQLite file, measured in place.
    const sqlite = service.store as SqliteStore;
    const bytes = tableBytes(sqlite);
    const logs = sqlite.db.prepare('SELECT COUNT(*) AS n, SUM(size) AS raw, SUM(length(bytes)) AS stored FROM event_logs').get() as { n: number; raw: number; stored: number };
    const perAppraisal = Math.round((bytes.appraisals ?? 0) / appraisals);
    const perLog = Math.round((bytes.event_logs ?? 0) / logs.n);
    return {
      hosts: HOSTS,
      appraisals,
      tableBytes: bytes,
      bytesPerAppraisalRow: perAppraisal,
      keptLogs: logs.n,
      logBytesRaw: Math.round(logs.raw / logs.n),
      logBytesStored: perLog,
      bytesPerHost: Math.round(((bytes.event_logs ?? 0) + (bytes.host_drift ?? 0) + (bytes.drift_groups ?? 0) + (bytes.hosts ?? 0)) / HOSTS),
      censusHosts: census.hosts,
      censusColdMs: round(censusColdMs),
      censusWarmMs: censusWarm,
      note: 'bytesPerHost: kept logs, drift entry and host row, without its appraisal history; each appraisal adds bytesPerAppraisalRow (the log is stored once per distinct boot)',
    };
  } finally {
    await service.stop(1000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, unknown>> {
  const scaling: Array<Record<string, unknown>> = [];
  for (const n of SIZES) scaling.push(await driftAt(n));
  const ms = (i: number, k: string): number => ((scaling[i]?.[k] as { median: number } | undefined)?.median ?? NaN);
  return {
    scaling,
    growth: { hosts: SIZES[1]! / SIZES[0]!, drift: round(ms(1, 'driftMs') / ms(0, 'driftMs')), changesWarm: round(ms(1, 'changesWarmMs') / ms(0, 'changesWarmMs')) },
    storage: await storage(),
  };
}
