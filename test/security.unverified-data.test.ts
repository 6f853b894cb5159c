/**
 * Event data is trusted only where its digest verifies it and a rule reads it (no external
 * components needed: tpm-sim logs). Forged Secure Boot state, db contents and command lines fail
 * as event_data_mismatch; a boot variable pinned by its digest passes with its data reported as
 * unverified.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { checkDigestConsistencyDetailed, eventLogToJson, parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/learn.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { applyScenario, bootEvents, encodeEventLog, LOG_BANKS, referencePlatform, type SimEvent } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));

/** The log of `events`, with `component`'s data taken from `donor` and its digests kept: data and digest disagree. */
function forge(events: SimEvent[], donor: SimEvent[], component: string): Uint8Array {
  const from = donor.find((e) => e.component === component);
  if (from === undefined) throw new Error(`no ${component} event`);
  return encodeEventLog(LOG_BANKS, events.map((e) => (e.component === component ? { ...e, data: from.data } : e)));
}

const genuine = bootEvents(referencePlatform());

describe('forged event data fails where a rule reads it', () => {
  it('a SecureBoot variable that says "on" under the digest of "off" fails as event_data_mismatch', () => {
    const off = bootEvents(applyScenario(referencePlatform(), 'secure-boot-off'));
    const log = forge(off, genuine, 'secureboot');
    const sb = parseEventLog(log).events.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === 'SecureBoot');
    expect(sb?.decoded.kind === 'efi_variable' && sb.decoded.enabled).toBe(true); // the forged data claims Secure Boot on
    const outcome = appraiseEvidence({ eventLog: log, profiles: [reference] });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.failures.filter((f) => f.eventIndex === sb?.index)).toMatchObject([
      { code: 'event_data_mismatch', pcr: 7, rule: 'secureBoot.required', dataVerified: false },
    ]);
  });

  it('a db whose certificates were swapped in the data, digest kept, fails as event_data_mismatch', () => {
    const attacked = bootEvents(applyScenario(referencePlatform(), 'db-key-added'));
    const outcome = appraiseEvidence({ eventLog: forge(attacked, genuine, 'db'), profiles: [reference] });
    expect(outcome.failures.map((f) => [f.code, f.pcr, f.rule])).toEqual([['event_data_mismatch', 7, 'secureBoot.db']]);
  });

  it('a tampered command line logged as the allowed one fails as event_data_mismatch naming the rule', () => {
    const attacked = bootEvents(applyScenario(referencePlatform(), 'cmdline-tamper'));
    const outcome = appraiseEvidence({ eventLog: forge(attacked, genuine, 'cmdline'), profiles: [reference] });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.failures.map((f) => [f.code, f.pcr, f.rule, f.dataVerified])).toEqual([['event_data_mismatch', 8, 'kernelCmdline', false]]);
    // The same tampered command line, logged honestly, fails on its text.
    const honest = appraiseEvidence({ eventLog: encodeEventLog(LOG_BANKS, attacked), profiles: [reference] });
    expect(honest.failures.map((f) => f.code)).toEqual(['cmdline_not_allowed']);
  });
});

describe('data a rule does not read is judged by its digest alone', () => {
  const bytes = encodeEventLog(LOG_BANKS, genuine);
  const log = parseEventLog(bytes);
  const learned = learnProfile(log, replayEventLog(log), { name: 'sim-learned' });

  it('a BootOrder pinned by digest whose data does not match passes, reported as unverified', () => {
    const bootOrder = genuine.find((e) => e.component === 'bootorder')!;
    const other = { ...bootOrder, data: bootOrder.data.slice() };
    const last = other.data.length - 1;
    other.data[last] = (other.data[last] ?? 0) ^ 0x01; // the logged order differs from what was measured
    const forged = encodeEventLog(LOG_BANKS, genuine.map((e) => (e === bootOrder ? other : e)));
    const parsed = parseEventLog(forged);
    const ev = parsed.events.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === 'BootOrder')!;
    expect(learned.bootConfig?.variables?.find((v) => v.name === 'BootOrder')?.digests).toBeDefined();

    const outcome = appraiseEvidence({ eventLog: forged, profiles: [learned] });
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('pass');
    expect(outcome.unverifiedData).toEqual([{ pcr: 1, eventIndex: ev.index, eventType: 'EV_EFI_VARIABLE_BOOT', bank: 'sha256' }]);

    const json = eventLogToJson(parsed, replayEventLog(parsed), checkDigestConsistencyDetailed(parsed));
    expect(json.events[ev.index]?.dataVerified).toBe(false);
    expect(json.events.filter((e) => e.dataVerified === false).map((e) => e.index)).toEqual([ev.index]);
  });

  it('the genuine log has no unverified data at all', () => {
    const outcome = appraiseEvidence({ eventLog: bytes, profiles: [learned] });
    expect(outcome.verdict).toBe('pass');
    expect(outcome.unverifiedData).toBeUndefined();
  });

  it('a boot option allowed by its description (a rule that reads the data) fails when that data is unverified', () => {
    const byContent = { ...reference, bootConfig: { ...reference.bootConfig, bootOptions: [{ description: { pattern: '.*' } }] } };
    const option = genuine.find((e) => e.component === 'bootoption')!;
    const tampered = { ...option, digests: { ...option.digests, sha256: new Uint8Array(32).fill(7) } };
    const outcome = appraiseEvidence({ eventLog: encodeEventLog(LOG_BANKS, genuine.map((e) => (e === option ? tampered : e))), profiles: [byContent] });
    const named = outcome.failures.filter((f) => f.pcr === 1);
    expect(named.map((f) => [f.code, f.rule])).toEqual([['event_data_mismatch', 'bootConfig.bootOptions']]);
  });
});
