/**
 * A failed fsync leaves the page cache in an unknown state: the store must refuse every write from
 * then on (never report a write durable that may not be), keep serving reads, and say so on /healthz
 * so a supervisor restarts the service.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { createApp } from '../src/http/app.ts';
import type { AppContext } from '../src/http/context.ts';
import { Metrics } from '../src/http/metrics.ts';
import { RateLimiter } from '../src/http/rate-limit.ts';
import { ApiKeyring } from '../src/http/auth.ts';
import { loadConfig } from '../src/config.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const enrollment = (id: string) => ({
  enrollmentId: id, hostId: `h-${id}`, ekFingerprint: `ek-${id}`, akName: 'ak', akPub: 'AAAA', profiles: [],
  secretHash: 'ff', createdAt: NOW.toISOString(), expiresAt: new Date(NOW.getTime() + 600_000).toISOString(),
});

describe('SQLite store: a failed fsync', () => {
  it('rejects the writes it covered and every later one, keeps reads, and reports unhealthy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-fsync-'));
    let failNext = false;
    const store = openSqliteStore(join(dir, 'b.db'), {
      sync: async () => {
        if (failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    try {
      await store.createEnrollment(enrollment('e1'));
      expect(await store.health()).toEqual({ ok: true });

      failNext = true;
      await expect(store.createEnrollment(enrollment('e2'))).rejects.toThrow(/fsync of the SQLite WAL failed/);
      failNext = false;
      // The disk "works" again, but nothing written since can be trusted: still refused.
      await expect(store.createEnrollment(enrollment('e3'))).rejects.toThrow(/no longer accepted/);
      expect(await store.getEnrollment('e1')).toMatchObject({ enrollmentId: 'e1' });
      expect(await store.getEnrollment('e3')).toBeUndefined();
      const health = await store.health();
      expect(health.ok).toBe(false);
      expect(!health.ok && health.reason).toMatch(/restart the service/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('/healthz answers 503 storage_unavailable while the store refuses writes', async () => {
    let health: { ok: true } | { ok: false; reason: string } = { ok: true };
    const ctx = {
      config: loadConfig({ BOOTGATE_DATA_DIR: tmpdir(), BOOTGATE_RATE_LIMIT: '0' }),
      log: pino({ level: 'silent' }),
      metrics: new Metrics(),
      limiter: new RateLimiter(0),
      apiKeys: new ApiKeyring([]),
      now: () => new Date(),
      store: { health: async () => health },
    } as unknown as AppContext;
    const server = createServer(createApp(ctx));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    try {
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ok' });
      health = { ok: false, reason: 'fsync of the SQLite WAL failed: writes are no longer accepted, restart the service' };
      const bad = await fetch(url);
      expect(bad.status).toBe(503);
      expect(await bad.json()).toEqual({ error: { code: 'storage_unavailable', message: health.reason } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
