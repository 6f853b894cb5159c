/** `bootgate eventlog` as a user runs it: a real process, real logs, exit codes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_FIXTURES_MISSING, haveSharedFixtures, realLogs } from './helpers/fixtures.ts';
import { runBootgate, type CliRun } from './helpers/cli.ts';

const have = haveSharedFixtures();
if (!have) console.warn(`cli.eventlog: ${SHARED_FIXTURES_MISSING}`);

const bootgate = (...args: string[]): Promise<CliRun> => runBootgate(args);

const SAMPLE = [
  'go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin',
  'go-tpm-tools/internal/test/eventlogs/debian-10.bin',
  'tpm2-tools/test/integration/fixtures/event-uefivar.bin',
];

describe.skipIf(!have)('bootgate eventlog <real log> --json', () => {
  for (const real of realLogs().filter((r) => SAMPLE.includes(r.name))) {
    it(`${real.name}: contract JSON whose pcrs equal the expected values`, async () => {
      const { code, stdout } = await bootgate('eventlog', real.path, '--json');
      expect(code).toBe(0);
      const json = JSON.parse(stdout) as {
        format: string;
        events: { index: number; pcr: number; type: string; digests: Record<string, string>; data?: unknown }[];
        pcrs: Record<string, Record<string, string>>;
      };
      expect(['crypto-agile', 'sha1']).toContain(json.format);
      expect(json.events.length).toBeGreaterThan(1);
      expect(json.events[1]).toMatchObject({ index: 1, pcr: expect.any(Number), type: expect.stringMatching(/^EV_/) });
      for (const [bank, values] of Object.entries(real.expected)) {
        for (const [pcr, want] of Object.entries(values)) {
          const got = json.pcrs[bank]?.[pcr];
          if (got !== undefined) expect({ bank, pcr, got }).toEqual({ bank, pcr, got: want });
        }
        // Every PCR the log extends in this bank is in the JSON and matches.
        expect(Object.keys(json.pcrs[bank] ?? {}).length).toBeGreaterThan(0);
      }
    });
  }

  it('prints a human table with replayed PCRs and unreplayable banks', async () => {
    const uefivar = realLogs().find((r) => r.name.endsWith('event-uefivar.bin'))!;
    const { code, stdout } = await bootgate('eventlog', uefivar.path);
    expect(code).toBe(0);
    expect(stdout).toMatch(/EV_EFI_VARIABLE_DRIVER_CONFIG\s+ccfc4bb32888\s+SecureBoot = enabled/);
    expect(stdout).toContain('sha384 PCR 7: event 1 carries no sha384 digest');
    expect(stdout).toContain('Event data: every checkable digest verifies its data');
  });
});

describe('bootgate eventlog on unusable input', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bootgate-eventlog-'));

  it('exits 2 on a garbage file, naming the structure and offset', async () => {
    const file = path.join(dir, 'garbage.bin');
    writeFileSync(file, Buffer.from('this is not an event log at all, just some text that goes on'));
    const { code, stderr, stdout } = await bootgate('eventlog', file, '--json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/not a usable TCG event log: TCG_PCR_EVENT\.\w+ at offset \d+/);
    // Under --json the error is JSON on stdout as well (contract §5).
    const { error } = JSON.parse(stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('malformed_event_log');
    expect(error.message).toMatch(/garbage\.bin is not a usable TCG event log: TCG_PCR_EVENT\.\w+ at offset \d+/);
  });

  it('exits 2 on a truncated event, naming TCG_PCR_EVENT and the event offset', async () => {
    const file = path.join(dir, 'truncated.bin');
    const b = Buffer.alloc(40);
    b.writeUInt32LE(8, 4);
    b.writeUInt32LE(0xc0000000, 28); // 3 GB EventSize
    writeFileSync(file, b);
    const { code, stderr } = await bootgate('eventlog', file);
    expect(code).toBe(2);
    expect(stderr).toContain('TCG_PCR_EVENT.event at offset 32: needs 3221225472 bytes but only 8 remain');
  });

  it('exits 2 when the file cannot be read', async () => {
    const { code, stderr } = await bootgate('eventlog', path.join(dir, 'missing.bin'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read .*missing\.bin/);
  });
});
