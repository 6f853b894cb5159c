import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { isMeasured } from '../src/appraisal/classify.ts';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import type { EventLog } from '../src/eventlog/types.ts';
import { learnProfile } from '../src/golden/learn.ts';
import type { GoldenProfile } from '../src/golden/schema.ts';
import { toHex } from '../src/util/encoding.ts';
import { haveSharedFixtures, readFixture, realEventLogFiles, realLogs, SHARED_FIXTURES_MISSING } from './helpers/fixtures.ts';
import { dropLastSignature, flipDigest, replaceEventData } from './helpers/golden-mutate.ts';

function learned(bytes: Uint8Array, name = 'learned'): { log: EventLog; profile: GoldenProfile } {
  const log = parseEventLog(bytes);
  return { log, profile: learnProfile(log, replayEventLog(log), { name }) };
}

const LOGS = realEventLogFiles();
const RHEL8 = 'go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin';
const UBUNTU = 'go-tpm-tools/internal/test/eventlogs/ubuntu-2104-no-secure-boot.bin';
const DEBIAN = 'go-tpm-tools/internal/test/eventlogs/debian-10.bin';
const WINDOWS = 'go-attestation/attest/testdata/option_rom_eventlog';
const FEDORA = 'tpm2-tools/test/integration/fixtures/event-sd-boot-fedora37.bin';
const GCE = 'go-tpm-tools/internal/test/attestations/gce-cos-85-nonce9009.split/event_log.bin';

if (!haveSharedFixtures()) console.warn(`skipping real-log golden tests: ${SHARED_FIXTURES_MISSING}`);

describe.skipIf(!haveSharedFixtures())('learn then appraise every real log', () => {
  it('finds every real log by its content, including those named neither .bin nor *_eventlog', () => {
    // Every log with expected PCRs, and the GCE attestation's log, must be found by content.
    for (const r of realLogs()) expect(LOGS).toContain(r.name);
    expect(LOGS).toContain('go-tpm-tools/internal/test/attestations/gce-cos-85-nonce9009.split/event_log.bin');
    expect(LOGS.some((f) => !/(?:\.bin|_eventlog)$/.test(f))).toBe(true);
    expect(LOGS.some((f) => /tpms_attest|tpmt_signature|tpmt_public|\.der$|\.json$/.test(f))).toBe(false);
  });

  it.each(LOGS)('%s: one edited event in each appraised PCR fails, naming that PCR', (name) => {
    const bytes = readFixture(name);
    if (parseEventLog(bytes).events.every((e) => !isMeasured(e))) return; // nothing measured: learning refuses (above)
    const { log, profile } = learned(bytes);
    for (const pcr of profile.pcrs) {
      const ev = log.events.find((e) => isMeasured(e) && e.pcr === pcr && e.digests[profile.bank] !== undefined);
      expect(ev, `PCR ${pcr}`).toBeDefined();
      if (ev === undefined) continue;
      const outcome = appraiseEvidence({ eventLog: flipDigest(bytes, log, ev, profile.bank), profiles: [profile] });
      expect(outcome.verdict, `PCR ${pcr} event ${ev.index} ${ev.typeName}`).toBe('fail');
      expect(outcome.failures.some((f) => f.pcr === pcr && f.eventIndex === ev.index), JSON.stringify(outcome.failures)).toBe(true);
    }
  });

  it.each(LOGS)('%s: the learned profile passes its own log', (name) => {
    const bytes = readFixture(name);
    if (parseEventLog(bytes).events.every((e) => !isMeasured(e))) {
      // Nothing measured (the zero-event fixture): learning refuses instead of writing a profile that appraises no PCR.
      expect(() => learned(bytes)).toThrow(/no replayable measurement/);
      return;
    }
    const { log, profile } = learned(bytes);
    const outcome = appraiseEvidence({ eventLog: bytes, profiles: [profile] });
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('pass');
    expect(outcome.profile).toBe('learned@1');
    // Learned profiles appraise the PCRs the log covers, in a bank the log carries.
    expect(log.banks).toContain(profile.bank);
    const covered = new Set(log.events.filter((e) => isMeasured(e) && e.digests[profile.bank] !== undefined).map((e) => e.pcr));
    expect(new Set(profile.pcrs)).toEqual(covered);
  });

  it('legacy SHA-1 logs are appraised in sha1, crypto-agile ones in sha256', () => {
    expect(learned(readFixture(DEBIAN)).profile.bank).toBe('sha1');
    expect(learned(readFixture(WINDOWS)).profile.bank).toBe('sha1');
    expect(learned(readFixture(RHEL8)).profile.bank).toBe('sha256');
  });

  it('a learned profile is deny-by-default against another machine', () => {
    const { profile } = learned(readFixture(RHEL8));
    const other = appraiseEvidence({ eventLog: readFixture(UBUNTU), profiles: [profile] });
    expect(other.verdict).toBe('fail');
    const codes = new Set(other.failures.map((f) => f.code));
    expect(codes.has('bootloader_not_allowed')).toBe(true);
    expect(codes.has('secure_boot_disabled')).toBe(true);
  });

  for (const name of [RHEL8, UBUNTU, DEBIAN, WINDOWS, FEDORA, GCE]) {
    it(`${name}: flipping any single appraised digest fails with a finding naming that event`, () => {
      const bytes = readFixture(name);
      const { log, profile } = learned(bytes);
      const targets = log.events.filter((e) => isMeasured(e) && profile.pcrs.includes(e.pcr) && e.digests[profile.bank] !== undefined);
      expect(targets.length).toBeGreaterThan(10);
      const pcrsHit = new Set<number>();
      for (const ev of targets) {
        const outcome = appraiseEvidence({ eventLog: flipDigest(bytes, log, ev, profile.bank), profiles: [profile] });
        expect(outcome.verdict, `event ${ev.index} ${ev.typeName}`).toBe('fail');
        const named = outcome.failures.filter((f) => f.eventIndex === ev.index);
        expect(named.length, `event ${ev.index} ${ev.typeName} PCR ${ev.pcr}: ${JSON.stringify(outcome.failures)}`).toBeGreaterThan(0);
        expect(named[0]?.pcr).toBe(ev.pcr);
        expect(named[0]?.bank).toBe(profile.bank);
        pcrsHit.add(ev.pcr);
      }
      expect(pcrsHit.size).toBeGreaterThanOrEqual(5);
    });
  }

  it.each([
    [UBUNTU, 'consistent digest'],
    [RHEL8, 'old grub'],
  ])('%s (%s): changing the kernel command line fails naming the event', (name) => {
    const bytes = readFixture(name);
    const { log, profile } = learned(bytes);
    const ev = log.events.find((e) => e.pcr === 8 && e.decoded.kind === 'text' && /kernel_cmdline/.test(e.decoded.text));
    expect(ev).toBeDefined();
    if (ev === undefined) return;
    const text = new TextDecoder().decode(ev.data);
    const tampered = new TextEncoder().encode(text.replace(/ ro( |$)/, ' rw$1'));
    expect(tampered.length).toBe(ev.data.length);
    // Forged text under the old digest: the command-line rule reads unverified text.
    // Re-hashed: the text is verified, and it is not an allowed command line.
    for (const [rehash, code] of [[false, 'event_data_mismatch'], [true, 'cmdline_not_allowed']] as const) {
      const outcome = appraiseEvidence({ eventLog: replaceEventData(bytes, log, ev, tampered, rehash), profiles: [profile] });
      expect(outcome.verdict).toBe('fail');
      const named = outcome.failures.filter((x) => x.eventIndex === ev.index);
      expect(named.map((x) => x.code)).toEqual([code]);
      expect(named.every((x) => x.pcr === 8 && x.rule === 'kernelCmdline')).toBe(true);
    }
  });

  it('systemd-boot: changing the UTF-16 command line in PCR 12 fails naming the event', () => {
    const bytes = readFixture(FEDORA);
    const { log, profile } = learned(bytes);
    const ev = log.events.find((e) => e.pcr === 12 && e.decoded.kind === 'text');
    expect(ev).toBeDefined();
    if (ev === undefined) return;
    const data = ev.data.slice();
    data[2] = 'C'.charCodeAt(0); // " console=" -> " Console="
    const outcome = appraiseEvidence({ eventLog: replaceEventData(bytes, log, ev, data, true), profiles: [profile] });
    expect(outcome.failures.filter((x) => x.eventIndex === ev.index).map((x) => x.code)).toEqual(['cmdline_not_allowed']);
  });

  it('removing a dbx entry (log kept self-consistent) fails with dbx_entry_missing naming the dbx event', () => {
    const bytes = readFixture(RHEL8);
    const { log, profile } = learned(bytes);
    const dbx = log.events.find((e) => e.pcr === 7 && e.decoded.kind === 'efi_variable' && e.decoded.name === 'dbx');
    expect(dbx).toBeDefined();
    if (dbx === undefined) return;
    const { data, removed } = dropLastSignature(dbx.data);
    const mutated = replaceEventData(bytes, log, dbx, data, true);
    expect(parseEventLog(mutated).events.length).toBe(log.events.length);
    const outcome = appraiseEvidence({ eventLog: mutated, profiles: [profile] });
    expect(outcome.failures.map((f) => f.code)).toEqual(['dbx_entry_missing']);
    // A certificate entry is named by the SHA-256 of its DER, a hash entry by its hex.
    const id = createHash('sha256').update(removed).digest('hex');
    expect(outcome.failures[0]).toMatchObject({ pcr: 7, eventIndex: dbx.index });
    expect([id, toHex(removed)]).toContain(outcome.failures[0]?.expected);
  });

  it('removing a dbx entry without fixing the digest fails as event_data_mismatch on that event', () => {
    const bytes = readFixture(RHEL8);
    const { log, profile } = learned(bytes);
    const dbx = log.events.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === 'dbx');
    if (dbx === undefined) throw new Error('no dbx');
    const outcome = appraiseEvidence({ eventLog: replaceEventData(bytes, log, dbx, dropLastSignature(dbx.data).data, false), profiles: [profile] });
    const codes = new Set(outcome.failures.filter((f) => f.eventIndex === dbx.index).map((f) => f.code));
    expect(codes.has('event_data_mismatch')).toBe(true);
  });
});
