/**
 * Contract §5 through bin/bootgate.mjs as a user runs it: `appraise` gives the same verdict,
 * profile, failures and PCRs as the HTTP API for the same evidence; `verify-quote --nonce ""`
 * means an empty extraData; `eventlog --json` has exactly the contract's keys and types.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimHost, HostAgent, type ScenarioName } from '../tpm-sim/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { startTestServer, SIM_PROFILE, GOLDEN_DIR, type TestServer } from './helpers/server.ts';
import { SHARED_FIXTURES_MISSING, haveSharedFixtures, readFixture, sharedFixturesDir } from './helpers/fixtures.ts';
import { runBootgate, type CliRun } from './helpers/cli.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-contract-cli-'));
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const bootgate = (...args: string[]): Promise<CliRun> => runBootgate(args);

function write(dir: string, name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe('§5 bootgate appraise: the same verdict and failures as the API', () => {
  it.each(['clean', 'log-tamper', 'hidden-measurement'] as const)('%s', async (scenario: ScenarioName) => {
    const host = createSimHost({ scenario, ekType: 'ecc', akType: 'ecc', hostId: `contract-cli-${process.pid}-${scenario}` });
    const agent = new HostAgent(host, s.baseUrl);
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const evidence = await agent.collectEvidence();
    const api = await agent.submit(evidence);

    const dir = mkdtempSync(path.join(tmp, `${scenario}-`));
    const b = (v: string): Uint8Array => new Uint8Array(Buffer.from(v, 'base64'));
    const cli = await bootgate(
      'appraise', '--golden', path.join(GOLDEN_DIR, `${SIM_PROFILE}.json`),
      '--eventlog', write(dir, 'eventlog.bin', host.eventLog),
      '--ak', write(dir, 'ak.pub', host.akPub),
      '--quote', write(dir, 'quote.msg', b(evidence.quote)),
      '--signature', write(dir, 'quote.sig', b(evidence.signature)),
      '--nonce', toHex(b(evidence.nonce)),
      '--pcrs', write(dir, 'pcrs.json', JSON.stringify(evidence.pcrs)),
      '--json',
    );
    expect(cli.stderr).toBe('');
    const out = JSON.parse(cli.stdout) as Record<string, unknown>;
    expect(out.verdict).toBe(api.verdict);
    expect(out.profile).toBe(api.profile);
    expect(out.failures).toEqual(api.failures);
    expect(out.pcrs).toEqual(api.pcrs);
    expect(cli.code).toBe(api.verdict === 'pass' ? 0 : 1);
    if (scenario !== 'clean') expect((out.failures as unknown[]).length).toBeGreaterThan(0);
  });
});

describe('§5 bootgate verify-quote --nonce ""', () => {
  it('means an empty extraData: a quote with empty extraData is valid (0), a non-empty nonce is not (1)', async () => {
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: 'contract-empty-nonce' });
    const q = host.quote(new Uint8Array(0), [{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    const dir = mkdtempSync(path.join(tmp, 'nonce-'));
    const base = ['verify-quote', '--ak', write(dir, 'ak.pub', host.akPub), '--quote', write(dir, 'q.msg', q.quote), '--signature', write(dir, 'q.sig', q.signature)];
    const log = write(dir, 'log.bin', host.eventLog);
    expect((await bootgate(...base, '--nonce', '', '--eventlog', log)).code).toBe(0);
    const wrong = await bootgate(...base, '--nonce', '00', '--eventlog', log, '--json');
    expect(wrong.code).toBe(1);
    expect((JSON.parse(wrong.stdout) as { failures: Array<{ code: string }> }).failures.map((f) => f.code)).toEqual(['nonce_mismatch']);
  });
});

interface EventJson {
  index: unknown;
  pcr: unknown;
  type: unknown;
  digests: unknown;
  data?: unknown;
  dataVerified?: boolean;
  knownDeviation?: string;
}

function expectContractEventLogJson(json: Record<string, unknown>, format: string, banks: string[]): void {
  expect(Object.keys(json).sort()).toEqual(['events', 'format', 'pcrs']);
  expect(json.format).toBe(format);
  const events = json.events as EventJson[];
  expect(events.length).toBeGreaterThan(0);
  events.forEach((e, i) => {
    // The contract's keys, plus the documented additions dataVerified (boolean) and knownDeviation (quirk id).
    for (const k of Object.keys(e)) expect(['index', 'pcr', 'type', 'digests', 'data', 'dataVerified', 'knownDeviation']).toContain(k);
    if ('dataVerified' in e) expect(typeof e.dataVerified).toBe('boolean');
    if ('knownDeviation' in e) expect(e.dataVerified).toBe(false);
    expect(e.index).toBe(i);
    expect(Number.isInteger(e.pcr)).toBe(true);
    expect(e.type).toMatch(/^EV_[A-Z0-9_]+$/);
    for (const [bank, hex] of Object.entries(e.digests as Record<string, unknown>)) {
      expect(banks).toContain(bank);
      expect(hex).toMatch(/^(?:[0-9a-f]{2})+$/);
    }
  });
  const pcrs = json.pcrs as Record<string, Record<string, unknown>>;
  for (const bank of Object.keys(pcrs)) expect(banks).toContain(bank);
  for (const bank of banks) {
    for (const [pcr, hex] of Object.entries(pcrs[bank] ?? {})) {
      expect(pcr).toMatch(/^(?:[0-9]|1[0-9]|2[0-3])$/);
      expect(hex).toMatch(/^(?:[0-9a-f]{2})+$/);
    }
  }
}

describe('§5 bootgate eventlog --json: exactly {format, events: [{index, pcr, type, digests, data?}], pcrs}', () => {
  it('crypto-agile (tpm-sim log): EV_ names, numeric PCRs, hex digests per bank', async () => {
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: 'contract-eventlog' });
    const r = await bootgate('eventlog', write(tmp, 'sim.bin', host.eventLog), '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expectContractEventLogJson(json, 'crypto-agile', ['sha1', 'sha256', 'sha384']);
    expect((json.pcrs as Record<string, Record<string, string>>).sha256?.['0']).toMatch(/^[0-9a-f]{64}$/);
  });

  it.skipIf(!haveSharedFixtures())(`legacy SHA-1 (real debian-10 log) is "sha1" with a sha1 bank only${haveSharedFixtures() ? '' : ` (${SHARED_FIXTURES_MISSING})`}`, async () => {
    const rel = 'go-tpm-tools/internal/test/eventlogs/debian-10.bin';
    expect(readFixture(rel).length).toBeGreaterThan(0);
    const r = await bootgate('eventlog', path.join(sharedFixturesDir(), rel), '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expectContractEventLogJson(json, 'sha1', ['sha1']);
    expect(Object.keys(json.pcrs as object)).toEqual(['sha1']);
  });
});
