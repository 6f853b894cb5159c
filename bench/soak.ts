/**
 * Soak: does memory or the descriptor count grow over a long run?
 *
 *  - in-process: BENCH_SOAK_APPRAISALS (default 10^6) appraiseEvidence calls on tpm-sim hosts'
 *    evidence (ECC AK quotes of sha256:0-15 with their event logs) through one PreparedLogCache of
 *    16 entries: 9 in 10 from 8 hot hosts (their logs stay cached), 1 in 10 from 56 other hosts in
 *    turn, whose logs miss the cache and evict each other (each host's disk, so its log, differs);
 *    RSS, V8 heap used (after a full collection) and open descriptors (/proc/self/fd) of this
 *    process sampled 200 times.
 *  - HTTP: BENCH_SOAK_HTTP (default 10^5) attestations (nonce + quote + attest) by 64 tpm-sim hosts,
 *    16 in flight, through the real service in its own process (bench/service-server.ts); its RSS
 *    and open descriptors sampled from /proc/<pid> 200 times. (The server does not report its heap.)
 * Each series is fitted by least squares after a warm-up (the first 10% of the samples dropped);
 * growth = the fitted change over the rest of the run, as % of the fitted start.
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { appraiseEvidence, type EvidenceInput } from '../src/appraisal/pipeline.ts';
import { PreparedLogCache } from '../src/appraisal/prepared-log-cache.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { GOLDEN_DIR, SIM_PROFILE } from '../src/demo/verifier.ts';
import { createSimHost } from '../tpm-sim/index.ts';
import { client, enrollHosts, flowOver, round, startChild } from './load.ts';

const APPRAISALS = Number(process.env.BENCH_SOAK_APPRAISALS ?? 1_000_000);
const HTTP = Number(process.env.BENCH_SOAK_HTTP ?? 100_000);
const SAMPLES = 200;
const HOT = 8;
const COLD = 56;
const ADMIN = 'bench-admin-key-0123456789abcdef';

// A full collection before each in-process sample, so heap used is what is live, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Sample {
  at: number;
  [series: string]: number;
}

/** Least-squares line through the samples after warm-up; growth over that span as % of its fitted start. */
function trend(samples: Sample[], key: string): Record<string, number> {
  const s = samples.slice(Math.floor(samples.length / 10));
  const xs = s.map((p) => p.at);
  const ys = s.map((p) => p[key]!);
  const n = s.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const start = my + slope * (xs[0]! - mx);
  const span = xs[n - 1]! - xs[0]!;
  return {
    first: round(ys[0]!, 1),
    last: round(ys[n - 1]!, 1),
    min: round(Math.min(...ys), 1),
    max: round(Math.max(...ys), 1),
    growthPercent: round(((slope * span) / start) * 100, 2),
  };
}

const mb = (bytes: number): number => bytes / 1048576;
const procRssMb = (pid: number | 'self'): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const fds = (pid: number | 'self'): number => readdirSync(`/proc/${pid}/fd`).length;

function inProcess(): Record<string, unknown> {
  const base = loadProfileFile(join(GOLDEN_DIR, `${SIM_PROFILE}.json`));
  // Without PCR 5 (the disk's GPT), so hosts whose disks differ all pass.
  const profile = { ...base, pcrs: base.pcrs.filter((p) => p !== 5) };
  const nonce = new Uint8Array(32).fill(3);
  const cache = new PreparedLogCache({ maxEntries: 16, maxLogBytes: 8 << 20 });
  const inputs: EvidenceInput[] = Array.from({ length: HOT + COLD }, (_, i) => {
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `soak-${i}` });
    host.platform.disk.guid = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
    host.reboot();
    const q = host.quote(nonce);
    return { akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, claimedPcrs: q.pcrs, profiles: [profile], logPreparer: cache };
  });
  const every = Math.max(1, Math.floor(APPRAISALS / SAMPLES));
  const samples: Sample[] = [];
  let cached = 0;
  let cold = 0;
  const t0 = performance.now();
  for (let i = 0; i < APPRAISALS; i++) {
    const input = i % 10 === 9 ? inputs[HOT + (cold++ % COLD)]! : inputs[i % HOT]!;
    const r = appraiseEvidence(input);
    if (r.verdict !== 'pass') throw new Error(`soak appraisal ${i} failed: ${JSON.stringify(r.failures).slice(0, 300)}`);
    if (r.logCached === true) cached++;
    if ((i + 1) % every === 0) {
      gc();
      const m = process.memoryUsage();
      samples.push({ at: i + 1, rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), fds: fds('self') });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    appraisals: APPRAISALS,
    cachedShare: round(cached / APPRAISALS, 3),
    seconds: round(seconds, 1),
    appraisalsPerSecond: Math.round(APPRAISALS / seconds),
    rssMb: trend(samples, 'rssMb'),
    heapUsedMb: trend(samples, 'heapUsedMb'),
    openFds: trend(samples, 'fds'),
    samples: samples.length,
  };
}

async function overHttp(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-soak-'));
  const server = await startChild('service-server.ts', [dataDir, ADMIN, process.env.BENCH_SERVICE_WORKERS ?? '1']);
  try {
    const { hosts } = await enrollHosts(server.url, ADMIN, 64, 'soak');
    const flow = flowOver(client([server.url], 64));
    const every = Math.max(1, Math.floor(HTTP / SAMPLES));
    const samples: Sample[] = [];
    let started = 0;
    let completed = 0;
    const t0 = performance.now();
    // 16 in flight, each worker taking the hosts in turn so no host has two attestations at once.
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      for (let k = 0; started < HTTP; k++) {
        started++;
        await flow(hosts[w + 16 * (k % 4)]!);
        if (++completed % every === 0) samples.push({ at: completed, rssMb: procRssMb(server.pid), fds: fds(server.pid) });
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    return {
      attestations: completed,
      seconds: round(seconds, 1),
      attestationsPerSecond: Math.round(completed / seconds),
      serverRssMb: trend(samples, 'rssMb'),
      serverOpenFds: trend(samples, 'fds'),
      samples: samples.length,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, unknown>> {
  return {
    inProcess: inProcess(),
    http: await overHttp(),
    aims: { growthPercentWithin: 10, fdGrowth: 0 },
    note: 'growthPercent = least-squares slope x span / fitted start, over the samples after the first 10% (warm-up); in-process: 9 in 10 appraisals hit the log cache, 1 in 10 miss it and evict; http: every attestation a fresh nonce, quote, appraisal (log cache), durable write and token',
  };
}
