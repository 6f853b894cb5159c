import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { parseEventLog } from '../src/eventlog/index.ts';
import { loadProfileDir, loadProfileFile } from '../src/golden/load.ts';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform, fakeImage } from '../tpm-sim/index.ts';
import { createSimHost, SCENARIO_NAMES, SCENARIOS, type ScenarioName } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const REFERENCE = path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json');
const reference = loadProfileFile(REFERENCE);

/** Codes whose findings name one event of the log. */
const EVENT_CODES = new Set(['firmware_not_allowed', 'driver_not_allowed', 'secure_boot_disabled', 'secure_boot_db_not_allowed', 'dbx_entry_missing', 'bootloader_not_allowed', 'kernel_not_allowed', 'cmdline_not_allowed']);

function appraiseHost(name: ScenarioName, opts: { nonce?: Uint8Array } = {}) {
  const host = createSimHost({ scenario: name, ekType: 'ecc', akType: 'ecc', seed: `golden-${name}` });
  const nonce = opts.nonce ?? new Uint8Array(randomBytes(32));
  // replayed-quote offline: the host resubmits its old quote; the verifier expects a fresh nonce.
  const evidence = host.staleEvidence() ?? host.quote(nonce);
  const outcome = appraiseEvidence({
    akPub: host.akPub,
    quote: evidence.quote,
    signature: evidence.signature,
    expectedExtraData: nonce,
    eventLog: host.eventLog,
    claimedPcrs: evidence.pcrs,
    profiles: [reference],
  });
  return { host, outcome };
}

describe('tpm-sim scenarios against golden-measurements/tpm-sim-reference.json', () => {
  it('the shipped reference profile appraises PCRs 0-9 and 11 in sha256, requires Secure Boot and dbx entries', () => {
    expect(reference.bank).toBe('sha256');
    expect(reference.pcrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
    expect(reference.secureBoot?.required).toBe(true);
    expect(reference.secureBoot?.dbxRequired?.length).toBeGreaterThan(0);
    // The service's loader reads active profiles only, not examples/.
    expect(loadProfileDir(path.join(repoRoot, 'golden-measurements')).map((p) => p.name)).toEqual(['tpm-sim-reference']);
  });

  it.each(SCENARIO_NAMES)('%s: the failure-code set is exactly the scenario table', (name) => {
    const { host, outcome } = appraiseHost(name);
    const expected = name === 'replayed-quote' ? ['nonce_mismatch'] : SCENARIOS[name].expectedCodes;
    expect([...new Set(outcome.failures.map((f) => f.code))].sort(), JSON.stringify(outcome.failures, null, 1)).toEqual([...expected].sort());
    expect(outcome.verdict).toBe(expected.length === 0 ? 'pass' : 'fail');
    expect(outcome.profile).toBe('tpm-sim-reference@1');
    const log = parseEventLog(host.eventLog);
    for (const f of outcome.failures) {
      if (f.pcr !== undefined) expect(SCENARIOS[name].pcrs, f.message).toContain(f.pcr);
      if (EVENT_CODES.has(f.code)) {
        expect(f.eventIndex, f.message).toBeDefined();
        const ev = log.events[f.eventIndex ?? -1];
        expect(ev?.pcr).toBe(f.pcr);
        expect(f.eventType).toBe(ev?.typeName);
        expect(f.bank).toBe('sha256');
        expect(f.rule).toBeTruthy();
      }
    }
    if (name === 'kernel-swap') expect(new Set(outcome.failures.map((f) => f.pcr))).toEqual(new Set([4, 9]));
    if (name === 'clean') expect(Object.keys(outcome.pcrs.sha256 ?? {})).toContain('11');
  });

  it('kernel-swap names the kernel image in PCR 4 and the kernel file in PCR 9, with expected vs actual digests', () => {
    const { outcome } = appraiseHost('kernel-swap');
    const pcr4 = outcome.failures.find((f) => f.pcr === 4);
    expect(pcr4?.component).toMatch(/kernel EFI application .*vmlinuz/);
    expect(pcr4?.rule).toBe('bootChain.kernel');
    expect(Array.isArray(pcr4?.expected)).toBe(true);
    expect(pcr4?.expected).not.toContain(pcr4?.actual);
    expect(outcome.failures.find((f) => f.pcr === 9)?.rule).toBe('kernels');
  });

  it('an appraised PCR missing from the quote is pcr_not_quoted', () => {
    const host = createSimHost({ scenario: 'clean', ekType: 'ecc', akType: 'ecc', seed: 'golden-notquoted' });
    const nonce = new Uint8Array(randomBytes(32));
    const q = host.quote(nonce, [{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }]);
    const outcome = appraiseEvidence({ akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, profiles: [reference] });
    expect(outcome.failures.map((f) => [f.code, f.pcr])).toEqual([['pcr_not_quoted', 11]]);
  });

  it('a quoted PCR without a value is pcr_value_missing only, not also pcr_not_quoted', () => {
    const host = createSimHost({ scenario: 'clean', ekType: 'ecc', akType: 'ecc', seed: 'golden-novalue' });
    const nonce = new Uint8Array(randomBytes(32));
    const q = host.quote(nonce, [{ hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11] }]);
    const outcome = appraiseEvidence({ akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, profiles: [reference] });
    expect(outcome.failures.map((f) => [f.code, f.pcr])).toEqual([['pcr_value_missing', 11]]);
  });

  it('clock: rollback of clock, resetCount or restartCount against the previous appraisal', () => {
    const host = createSimHost({ scenario: 'clean', ekType: 'ecc', akType: 'ecc', seed: 'golden-clock' });
    const nonce = new Uint8Array(randomBytes(32));
    const q = host.quote(nonce);
    const base = { akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, claimedPcrs: q.pcrs, profiles: [reference] };
    const now = appraiseEvidence(base);
    expect(now.verdict).toBe('pass');
    const ci = now.clockInfo;
    if (ci === undefined) throw new Error('no clockInfo');
    const codes = (prev: { clock: bigint; resetCount: number; restartCount: number }) => appraiseEvidence({ ...base, previousClock: prev }).failures.map((f) => f.code);
    expect(codes({ ...ci })).toEqual([]);
    expect(codes({ ...ci, clock: ci.clock + 1000n })).toEqual(['clock_rollback']);
    expect(codes({ ...ci, resetCount: ci.resetCount + 1, clock: 0n })).toEqual(['reset_count_rollback']);
    expect(codes({ ...ci, restartCount: ci.restartCount + 1, clock: 0n })).toEqual(['restart_count_rollback']);
    // After a reset (resetCount went up) the clock may be lower: only the same reset/restart epoch is compared.
    if (ci.resetCount > 0) expect(codes({ ...ci, resetCount: ci.resetCount - 1, clock: ci.clock + 1000n })).toEqual([]);
  });

  it('several profiles: passes when any passes, else reports the closest', () => {
    const strict = { ...reference, name: 'strict', kernelCmdline: [{ text: 'kernel_cmdline: nothing' }] };
    const host = createSimHost({ scenario: 'clean', ekType: 'ecc', akType: 'ecc', seed: 'golden-multi' });
    const nonce = new Uint8Array(randomBytes(32));
    const q = host.quote(nonce);
    const base = { akPub: host.akPub, quote: q.quote, signature: q.signature, expectedExtraData: nonce, eventLog: host.eventLog, claimedPcrs: q.pcrs };
    const both = appraiseEvidence({ ...base, profiles: [strict, reference] });
    expect(both.verdict).toBe('pass');
    expect(both.profile).toBe('tpm-sim-reference@1');
    const veryStrict = { ...strict, name: 'very-strict', grubCommands: [] };
    const none = appraiseEvidence({ ...base, profiles: [veryStrict, strict] });
    expect(none.verdict).toBe('fail');
    expect(none.profile).toBe('strict@1');
    expect(none.failures.map((f) => f.code)).toEqual(['cmdline_not_allowed']);
    const empty = appraiseEvidence({ ...base, profiles: [] });
    expect(empty.failures.map((f) => f.code)).toEqual(['profile_not_found']);
    expect(empty.profile).toBeNull();
  });
});

describe('a rollout profile accepting two firmware versions', () => {
  function logWithFirmware(label: string): Uint8Array {
    const p = referencePlatform();
    const blob = p.firmware.blobs[1];
    if (blob === undefined) throw new Error('reference platform has no second blob');
    blob.contents = fakeImage(label, blob.contents.length);
    return encodeEventLog(LOG_BANKS, bootEvents(p));
  }

  it('passes hosts on either version and fails a third', () => {
    const oldFw = encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()));
    const newFw = logWithFirmware('firmware volume DXE 2.2.0');
    const third = logWithFirmware('firmware volume DXE 9.9.9 (unknown)');
    // Add the new release's digest to the reference profile's firmware digest sets.
    const newLog = parseEventLog(newFw);
    const oldLog = parseEventLog(oldFw);
    const changed = newLog.events.filter((e, i) => e.pcr === 0 && e.digests.sha256 !== undefined && Buffer.compare(e.digests.sha256, oldLog.events[i]?.digests.sha256 ?? new Uint8Array()) !== 0);
    expect(changed.length).toBe(1);
    const rollout = structuredClone(reference);
    rollout.firmware = (rollout.firmware ?? []).map((e) => ({ ...e, digests: [...e.digests, Buffer.from(changed[0]?.digests.sha256 ?? []).toString('hex')] }));
    for (const log of [oldFw, newFw]) expect(appraiseEvidence({ eventLog: log, profiles: [rollout] }).failures).toEqual([]);
    const bad = appraiseEvidence({ eventLog: third, profiles: [rollout] });
    expect(bad.failures.map((f) => [f.code, f.pcr, f.eventIndex])).toEqual([['firmware_not_allowed', 0, changed[0]?.index]]);
    // The original profile refuses the new release.
    expect(appraiseEvidence({ eventLog: newFw, profiles: [reference] }).failures.map((f) => f.code)).toEqual(['firmware_not_allowed']);
  });
});
