/**
 * The dashboard over a large fleet, in Debian's headless Chromium: from "Open the dashboard" to the
 * counts and the first page of hosts on screen, for 1,000 and 10,000 hosts (a third failing), the
 * bytes of host list it read, and how long a filter keystroke takes to redraw the list. The floor,
 * measured in the same run: the same paged GET /v1/hosts read from Node, no browser.
 * BENCH_UI_SIZES=1000,10000 picks other sizes. Without Chromium it says so and measures nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { DATABASE_FILE, startService } from '../src/service.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { simulatedFleetEnv } from '../src/demo/verifier.ts';

const CHROMIUM = process.env.BOOTGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SIZES = (process.env.BENCH_UI_SIZES ?? '1000,10000').split(',').map(Number);
const round = (x: number): number => Math.round(x * 10) / 10;

async function populate(dataDir: string, n: number): Promise<void> {
  // No fsync while populating: this measures reads.
  const store = openSqliteStore(join(dataDir, DATABASE_FILE), { sync: async () => {} });
  const now = new Date();
  const failures = [{ code: 'bootloader_not_allowed', message: 'PCR 4 event 28 (EV_EFI_BOOT_SERVICES_APPLICATION) bootloader digest is not allowed', pcr: 4, eventIndex: 28 }];
  try {
    for (let from = 0; from < n; from += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, n - from) }, async (_, k) => {
        const i = from + k;
        const hostId = `rack${String(Math.floor(i / 40)).padStart(4, '0')}-node${String(i % 40).padStart(2, '0')}`;
        await store.createEnrollment({ enrollmentId: `e${i}`, hostId, ekFingerprint: `f${i}`, akName: '000b' + 'ab'.repeat(32), akPub: 'AAAA', profiles: ['tpm-sim-reference'], secretHash: '00', createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });
        await store.activateEnrollment(`e${i}`, now);
        const fail = i % 3 === 0;
        await store.recordAppraisal({
          appraisalId: `a${i}`, hostId, verdict: fail ? 'fail' : 'pass', profile: 'tpm-sim-reference@1', failures: fail ? failures : [], pcrs: {},
          evidence: { quote: 'q', signature: 's', eventLog: 'e', nonce: 'n' }, timings: {}, appraisedAt: now.toISOString(),
          ...(fail ? {} : { tokenId: `j${i}`, tokenExpiresAt: new Date(now.getTime() + 3_600_000).toISOString() }),
        });
      }));
    }
  } finally {
    await store.close();
  }
}

async function fleetAt(n: number): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bootgate-bench-ui-'));
  const keys = { admin: `adm-${randomBytes(16).toString('hex')}`, scheduler: `sch-${randomBytes(16).toString('hex')}`, broker: `brk-${randomBytes(16).toString('hex')}` };
  await populate(dataDir, n);
  const service = await startService({ config: loadConfig(simulatedFleetEnv(dataDir, keys)), logger: pino({ level: 'silent' }) });
  const profile = mkdtempSync(join(tmpdir(), 'bootgate-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    // Floor: the same pages, read and parsed by Node.
    let floorMs = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      let after: string | null = null;
      do {
        const url = new URL('/v1/hosts', service.url);
        url.searchParams.set('limit', '1000');
        if (after) url.searchParams.set('after', after);
        const page = (await (await fetch(url, { headers: { authorization: `Bearer ${keys.admin}` } })).json()) as { next: string | null };
        after = page.next;
      } while (after);
      floorMs = Math.min(floorMs, performance.now() - t0);
    }
    const readyMs: number[] = [];
    let listBytes = 0;
    let filterMs = Infinity;
    for (let r = 0; r < 3; r++) {
      const page = await context.newPage();
      let bytes = 0;
      page.on('response', (res) => {
        if (new URL(res.url()).pathname === '/v1/hosts') bytes += Number(res.headers()['content-length'] ?? 0);
      });
      await page.goto(`${service.url}/ui/`);
      await page.getByLabel('API key').fill(keys.admin);
      const t0 = performance.now();
      await page.getByRole('button', { name: 'Open the dashboard' }).click();
      await page.locator('.tile-all .tile-count', { hasText: String(n) }).waitFor({ timeout: 120_000 });
      await page.locator('tbody tr[data-host]').first().waitFor();
      readyMs.push(performance.now() - t0);
      listBytes = bytes;
      const t1 = performance.now();
      await page.getByLabel('Host id contains').fill('rack0001-node0');
      await page.locator('tbody tr[data-host]', { hasText: 'rack0001-node00' }).waitFor();
      await page.locator('.pager', { hasText: 'of 10 hosts' }).waitFor();
      filterMs = Math.min(filterMs, performance.now() - t1);
      await page.close();
    }
    const best = Math.min(...readyMs);
    return { hosts: n, pageReadyBestMs: round(best), pageReadyRuns: readyMs.map(round), hostListBytes: listBytes, apiFloorBestMs: round(floorMs), readyOverFloor: round(best / floorMs), filterKeystrokeBestMs: round(filterMs) };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await service.stop(2000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<Record<string, unknown>> {
  if (!existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} not found (apt-get install chromium, or set BOOTGATE_TEST_CHROMIUM)` };
  const out: Record<string, unknown> = {
    note: 'pageReady = click "Open the dashboard" to counts and first rows drawn (key check, every host page, events window search, render); floor = the same GET /v1/hosts pages read by Node; best of 3',
  };
  for (const n of SIZES) out[`hosts${n}`] = await fleetAt(n);
  return out;
}
