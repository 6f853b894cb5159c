/** Environment configuration (contract §2). */
import { describe, it, expect } from 'vitest';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, parseApiKeys } from '../src/config.ts';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: resolve('./data'),
      goldenDir: resolve('./golden-measurements'),
      ekRoots: undefined,
      apiKeys: undefined,
      tokenTtlSeconds: 300,
      nonceTtlSeconds: 120,
      issuer: undefined,
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      BOOTGATE_PORT: '0',
      BOOTGATE_HOST: '0.0.0.0',
      BOOTGATE_DATA_DIR: '/tmp/d',
      BOOTGATE_GOLDEN_DIR: '/tmp/g',
      BOOTGATE_EK_ROOTS: '/tmp/roots.pem',
      BOOTGATE_API_KEYS: 'admin:aaaaaaaaaaaaaaaa, scheduler:bbbbbbbbbbbbbbbb,broker:cccccccccccccccc',
      BOOTGATE_TOKEN_TTL: '60',
      BOOTGATE_NONCE_TTL: '1',
      BOOTGATE_ISSUER: 'https://verifier.example',
    });
    expect(c).toMatchObject({ port: 0, host: '0.0.0.0', dataDir: '/tmp/d', goldenDir: '/tmp/g', ekRoots: '/tmp/roots.pem', tokenTtlSeconds: 60, nonceTtlSeconds: 1, issuer: 'https://verifier.example' });
    expect(c.apiKeys?.map((k) => k.role)).toEqual(['admin', 'scheduler', 'broker']);
  });

  it('reads the appraisal worker count (default 0: on the event loop)', () => {
    expect(loadConfig({}).appraisalWorkers).toBe(0);
    expect(loadConfig({ BOOTGATE_APPRAISAL_WORKERS: '2' }).appraisalWorkers).toBe(2);
    expect(() => loadConfig({ BOOTGATE_APPRAISAL_WORKERS: '-1' })).toThrow(/BOOTGATE_APPRAISAL_WORKERS/);
    expect(() => loadConfig({ BOOTGATE_APPRAISAL_WORKERS: '65' })).toThrow(/BOOTGATE_APPRAISAL_WORKERS/);
  });

  it('reads the evidence retention (default: 10 older logs per host, for 30 days)', () => {
    expect(loadConfig({})).toMatchObject({ evidenceKeepPerHost: 10, evidenceMaxAgeSeconds: 30 * 86_400 });
    expect(loadConfig({ BOOTGATE_EVIDENCE_KEEP: '0', BOOTGATE_EVIDENCE_MAX_AGE: '0' })).toMatchObject({ evidenceKeepPerHost: 0, evidenceMaxAgeSeconds: 0 });
    expect(() => loadConfig({ BOOTGATE_EVIDENCE_KEEP: '-1' })).toThrow(/BOOTGATE_EVIDENCE_KEEP/);
    expect(() => loadConfig({ BOOTGATE_EVIDENCE_MAX_AGE: '1d' })).toThrow(/BOOTGATE_EVIDENCE_MAX_AGE/);
  });

  it('keeps the whole appraisal history unless told an age', () => {
    expect(loadConfig({}).historyMaxAgeSeconds).toBe(0);
    expect(loadConfig({ BOOTGATE_HISTORY_MAX_AGE: '7776000' }).historyMaxAgeSeconds).toBe(7_776_000);
    expect(() => loadConfig({ BOOTGATE_HISTORY_MAX_AGE: '-5' })).toThrow(/BOOTGATE_HISTORY_MAX_AGE/);
  });

  it('refuses bad values naming the variable', () => {
    expect(() => loadConfig({ BOOTGATE_PORT: '70000' })).toThrow(/BOOTGATE_PORT/);
    expect(() => loadConfig({ BOOTGATE_PORT: '80a' })).toThrow(/BOOTGATE_PORT/);
    expect(() => loadConfig({ BOOTGATE_TOKEN_TTL: '0' })).toThrow(/BOOTGATE_TOKEN_TTL/);
    expect(() => loadConfig({ BOOTGATE_NONCE_TTL: '-5' })).toThrow(/BOOTGATE_NONCE_TTL/);
    expect(() => loadConfig({ BOOTGATE_MASTER_KEY: 'c2hvcnQ=' })).toThrow(/BOOTGATE_MASTER_KEY/);
  });

  it('refuses unknown roles, short keys and malformed entries without echoing keys', () => {
    const secret = 'supersecretvalue-0123456789';
    for (const bad of [`root:${secret}`, `admin${secret}`, `admin:short`, `admin:${secret} x`, ',']) {
      let err: unknown;
      try {
        parseApiKeys(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain(secret);
      expect((err as Error).message).toMatch(/BOOTGATE_API_KEYS/);
    }
  });
});

describe('BOOTGATE_DATABASE_URL', () => {
  it('is unset by default (SQLite in the data directory) and keeps a valid URL, with a display form that hides the password', () => {
    expect(loadConfig({}).database).toBeUndefined();
    const d = loadConfig({ BOOTGATE_DATABASE_URL: 'postgres://bootgate:hunter2@db.example:5433/bootgate?sslmode=require' }).database;
    expect(d).toEqual({
      url: 'postgres://bootgate:hunter2@db.example:5433/bootgate?sslmode=require',
      display: 'postgres://bootgate:***@db.example:5433/bootgate?sslmode=require',
      target: 'db.example:5433',
    });
    expect(loadConfig({ BOOTGATE_DATABASE_URL: 'postgresql://db.example/bootgate' }).database?.target).toBe('db.example:5432');
    expect(loadConfig({ BOOTGATE_DATABASE_URL: 'postgres:///bootgate?host=/var/run/postgresql' }).database?.target).toBe('/var/run/postgresql:5432');
  });

  it.each([
    ['another scheme', 'mysql://bootgate:hunter2@db.example/bootgate', /the scheme is "mysql:", not postgres:/],
    ['no database name', 'postgres://bootgate:hunter2@db.example:5432', /names no database/],
    ['an empty database name', 'postgres://bootgate:hunter2@db.example/', /names no database/],
    ['a path below the database', 'postgres://bootgate:hunter2@db.example/a/b', /names no database/],
    ['no host', 'postgres://bootgate:hunter2@/bootgate', /not a URL|names no host/],
    ['not a URL', 'bootgate hunter2 at db.example', /not a URL/],
    ['a URL without a scheme', 'db.example:5432/bootgate', /the scheme is "db.example:", not postgres:/],
    ['a port that is not a number', 'postgres://bootgate:hunter2@db.example:54x/bootgate', /not a URL/],
    ['an unknown parameter', 'postgres://bootgate:hunter2@db.example/bootgate?sslmod=require', /unknown parameter "sslmod"/],
    ['a database name that is not percent-encoding', 'postgres://bootgate:hunter2@db.example/%zz', /not valid percent-encoding/],
  ])('refuses %s, naming the variable and never the password', (_what, url, message) => {
    let err: unknown;
    try {
      loadConfig({ BOOTGATE_DATABASE_URL: url });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^BOOTGATE_DATABASE_URL: /);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('hunter2');
  });
});
