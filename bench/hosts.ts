/**
 * The scheduler's question "which hosts are trusted right now" (GET /v1/hosts?trust=...) over a
 * fleet: 5,000 hosts with three appraisals each (a third of them failing with findings), answered
 * by HostService.list from one joined read, and in pages of 1,000 as the API serves it (HostService.page).
 * The per-host read it replaced is measured alongside.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { HostService } from '../src/attestation/hosts.ts';
import { trustOf } from '../src/attestation/trust.ts';
import type { ProfileCatalog } from '../src/attestation/profiles.ts';

const HOSTS = 5000;
const round = (x: number): number => Math.round(x * 10) / 10;

export async function bench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-bench-hosts-'));
  const store = openSqliteStore(join(dir, 'hosts.db'));
  try {
    const now = new Date();
    const failures = Array.from({ length: 3 }, () => ({ code: 'kernel_not_allowed', message: 'x'.repeat(200), pcr: 9, expected: ['a'.repeat(64)], actual: 'b'.repeat(64) }));
    const pcrs = { sha256: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i), 'ab'.repeat(32)])) };
    await Promise.all(Array.from({ length: HOSTS }, async (_, i) => {
      await store.createEnrollment({ enrollmentId: `e${i}`, hostId: `h${i}`, ekFingerprint: `f${i}`, akName: 'ak', akPub: 'AAAA', profiles: ['p'], secretHash: '00', createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });
      await store.activateEnrollment(`e${i}`, now);
      for (let k = 0; k < 3; k++) {
        await store.recordAppraisal({
          appraisalId: `a${i}-${k}`, hostId: `h${i}`, verdict: i % 3 === 0 ? 'fail' : 'pass', profile: 'p@1', failures: i % 3 === 0 ? failures : [], pcrs,
          evidence: { quote: 'q'.repeat(64), signature: 's'.repeat(64), eventLog: 'e'.repeat(64), nonce: 'n'.repeat(64) },
          tokenId: `j${i}-${k}`, tokenExpiresAt: new Date(now.getTime() + 300_000).toISOString(), timings: { total: 1 }, appraisedAt: now.toISOString(),
        });
      }
    }));
    const hosts = new HostService(store, {} as ProfileCatalog);
    const time = async (f: () => Promise<unknown>): Promise<number> => {
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        await f();
        best = Math.min(best, performance.now() - t0);
      }
      return round(best);
    };
    const trusted = (await hosts.list(now, 'trusted')).length;
    const walk = async (): Promise<number> => {
      let n = 0;
      let next: string | null | undefined;
      do {
        const page = await hosts.page(now, 'trusted', 1000, next ?? undefined);
        n += page.hosts.length;
        next = page.next;
      } while (next !== null);
      return n;
    };
    if ((await walk()) !== trusted) throw new Error('paging lost or repeated hosts');
    return {
      hosts: HOSTS,
      trusted,
      listTrustedBestMs: await time(() => hosts.list(now, 'trusted')),
      firstPageOf1000BestMs: await time(() => hosts.page(now, 'trusted', 1000)),
      allPagesOf1000BestMs: await time(walk),
      perHostReadsBestMs: await time(async () => Promise.all((await store.listHosts()).map(async (h) => trustOf(h, await store.lastAppraisal(h.hostId), now)))),
      note: 'best of 5; listTrusted = one joined read (HostService.list); pages = GET /v1/hosts?trust=trusted&limit=1000 and its next cursors (HostService.page); perHostReads = one full last-appraisal read per host, as before',
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
