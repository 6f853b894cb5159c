/**
 * Replay of every real event log reproduces the PCR values its upstream project pairs with it,
 * bit for bit, in every bank given (expected-pcrs.json), and the GCE attestation's log replays to
 * the PCRs its quotes carry.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { toHex } from '../src/util/encoding.ts';
import { DIGEST_SIZE, type HashAlg } from '../src/tpm/alg.ts';
import { GCE_ATTESTATION_DIR, SHARED_FIXTURES_MISSING, haveSharedFixtures, readFixture, realLogs, sharedFixturesDir } from './helpers/fixtures.ts';

const have = haveSharedFixtures();
if (!have) console.warn(`eventlog.replay: ${SHARED_FIXTURES_MISSING}`);

function resetHex(bank: HashAlg, pcr: number): string {
  return (pcr >= 17 && pcr <= 22 ? 'ff' : '00').repeat(DIGEST_SIZE[bank]);
}

/**
 * Expected values that no firmware log can reproduce: go-attestation's sb_cert_eventlog comes with
 * all 24 PCRs read from the TPM, and PCR 10 there holds Linux IMA measurements (the IMA log is not
 * part of the firmware event log).
 */
const NOT_IN_FIRMWARE_LOG: Record<string, number[]> = { 'go-attestation/attest/testdata/sb_cert_eventlog': [10] };

describe.skipIf(!have)('replay of real event logs', () => {
  const logs = realLogs();
  it('finds the fixtures', () => {
    expect(logs.length).toBeGreaterThanOrEqual(11);
  });

  for (const real of logs) {
    it(`${real.name}: every expected PCR in every bank`, () => {
      const log = parseEventLog(new Uint8Array(readFileSync(real.path)));
      const replay = replayEventLog(log);
      let compared = 0;
      for (const [bank, values] of Object.entries(real.expected) as [HashAlg, Record<string, string>][]) {
        for (const [pcrText, want] of Object.entries(values)) {
          const pcr = Number(pcrText);
          const got = replay.pcrs[bank]?.get(pcr);
          if (got !== undefined) {
            expect({ bank, pcr, value: toHex(got) }).toEqual({ bank, pcr, value: want });
          } else if ((NOT_IN_FIRMWARE_LOG[real.name] ?? []).includes(pcr)) {
            expect(want).not.toBe(resetHex(bank, pcr));
          } else {
            // The log never touches this PCR: the TPM must hold its reset value.
            expect({ bank, pcr, value: want }).toEqual({ bank, pcr, value: resetHex(bank, pcr) });
          }
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(0);
    });
  }

  it('reports the partial-digest event of event-uefivar.bin as unreplayable in sha384 and sha512', () => {
    const log = parseEventLog(readFixture('tpm2-tools/test/integration/fixtures/event-uefivar.bin'));
    expect(log.banks).toEqual(['sha1', 'sha256', 'sha384', 'sha512']);
    expect(Object.keys(log.events[1]!.digests).sort()).toEqual(['sha1', 'sha256']);
    const replay = replayEventLog(log);
    expect(replay.unreplayable).toEqual([
      { bank: 'sha384', pcr: 7, eventIndex: 1 },
      { bank: 'sha512', pcr: 7, eventIndex: 1 },
    ]);
    // Never a guessed value for an unreplayable PCR.
    expect(replay.pcrs.sha384?.has(7)).toBe(false);
    expect(replay.pcrs.sha512?.has(7)).toBe(false);
    expect(replay.pcrs.sha256?.has(7)).toBe(true);
  });

  it('starts PCR 0 at locality 3 for glinux-alex.bin (StartupLocality event)', () => {
    const log = parseEventLog(readFixture('go-tpm-tools/internal/test/eventlogs/glinux-alex.bin'));
    const replay = replayEventLog(log);
    expect(replay.startupLocality).toBe(3);
    // The same log replayed without its StartupLocality event gives a different PCR 0.
    const without = { ...log, events: log.events.filter((e) => e.decoded.kind !== 'startup_locality') };
    expect(toHex(replayEventLog(without).pcrs.sha256!.get(0)!)).not.toBe(toHex(replay.pcrs.sha256!.get(0)!));
  });

  it('does not extend Windows PCR-index 0xFFFFFFFF events (option_rom_eventlog)', () => {
    const log = parseEventLog(readFixture('go-attestation/attest/testdata/option_rom_eventlog'));
    expect(log.events.some((e) => e.pcr === 0xffffffff)).toBe(true);
    const replay = replayEventLog(log);
    expect([...replay.pcrs.sha1!.keys()].every((p) => p <= 23)).toBe(true);
  });
});

describe.skipIf(!have)('GCE attestation (gce-cos-85-nonce9009)', () => {
  it('replays event_log.bin to the quoted PCRs 0-9 in sha1, sha256 and sha384', () => {
    const dir = path.join(sharedFixturesDir(), GCE_ATTESTATION_DIR);
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { quotes: { pcr_bank: HashAlg; pcrs: Record<string, string> }[] };
    const replay = replayEventLog(parseEventLog(readFixture(`${GCE_ATTESTATION_DIR}/event_log.bin`)));
    expect(summary.quotes.map((q) => q.pcr_bank).sort()).toEqual(['sha1', 'sha256', 'sha384']);
    for (const q of summary.quotes) {
      for (let pcr = 0; pcr <= 9; pcr++) {
        const got = replay.pcrs[q.pcr_bank]?.get(pcr);
        expect({ bank: q.pcr_bank, pcr, value: got && toHex(got) }).toEqual({ bank: q.pcr_bank, pcr, value: q.pcrs[String(pcr)] });
      }
    }
  });
});
