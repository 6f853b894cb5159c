import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/learn.ts';
import type { GoldenProfile } from '../src/golden/schema.ts';
import { pcrBanksFromJson } from '../src/tpm/pcr-file.ts';
import { replaceEventData } from './helpers/golden-mutate.ts';
import { GCE_ATTESTATION_DIR, haveSharedFixtures, readFixture, SHARED_FIXTURES_MISSING, sharedFixturesDir } from './helpers/fixtures.ts';

if (!haveSharedFixtures()) console.warn(`skipping the real GCE quote appraisal: ${SHARED_FIXTURES_MISSING}`);

describe.skipIf(!haveSharedFixtures())('appraiseEvidence on a real GCE vTPM attestation (AK, quotes, nonce 9009)', () => {
  const file = (f: string) => readFixture(`${GCE_ATTESTATION_DIR}/${f}`);
  const summary = () =>
    JSON.parse(readFileSync(path.join(sharedFixturesDir(), GCE_ATTESTATION_DIR, 'summary.json'), 'utf8')) as {
      quotes: { file_prefix: string; pcr_bank: string; pcrs: Record<string, string> }[];
    };
  const eventLog = () => file('event_log.bin');
  const learned = (bank: 'sha1' | 'sha256' | 'sha384'): GoldenProfile => {
    const log = parseEventLog(eventLog());
    return learnProfile(log, replayEventLog(log), { name: 'gce-cos', bank });
  };
  const evidence = (prefix: string) => {
    const q = summary().quotes.find((x) => x.file_prefix === prefix);
    if (q === undefined) throw new Error(prefix);
    return {
      akPub: file('ak_pub.tpmt_public.bin'),
      quote: file(`${prefix}.tpms_attest.bin`),
      signature: file(`${prefix}.tpmt_signature.bin`),
      expectedExtraData: Uint8Array.of(0x90, 0x09),
      eventLog: eventLog(),
      // The host's claimed values: PCR 10 (IMA) and the other PCRs the firmware log does not cover.
      claimedPcrs: pcrBanksFromJson({ [q.pcr_bank]: q.pcrs }),
    };
  };

  it.each([
    ['quote0_sha1', 'sha1'],
    ['quote1_sha256', 'sha256'],
    ['quote2_sha384', 'sha384'],
  ] as const)('%s passes against the profile learned from its log', (prefix, bank) => {
    const outcome = appraiseEvidence({ ...evidence(prefix), profiles: [learned(bank)] });
    expect(outcome.failures).toEqual([]);
    expect(outcome.verdict).toBe('pass');
    expect(outcome.clockInfo?.resetCount).toBe(10);
    expect(Object.keys(outcome.pcrs[bank] ?? {}).length).toBe(24);
    for (const k of ['parseMs', 'quoteMs', 'replayMs', 'consistencyMs', 'goldenMs', 'totalMs'] as const) expect(outcome.timings[k]).toBeGreaterThanOrEqual(0);
  });

  it('a wrong nonce, an older clock on record and a profile appraising PCR 10 each fail with their own code', () => {
    const profile = learned('sha256');
    const ev = evidence('quote1_sha256');
    expect(appraiseEvidence({ ...ev, expectedExtraData: Uint8Array.of(1), profiles: [profile] }).failures.map((f) => f.code)).toEqual(['nonce_mismatch']);
    expect(appraiseEvidence({ ...ev, previousClock: { clock: 9_000_000_000n, resetCount: 10, restartCount: 0 }, profiles: [profile] }).failures.map((f) => f.code)).toEqual(['clock_rollback']);
    expect(appraiseEvidence({ ...ev, previousClock: { clock: 1n, resetCount: 11, restartCount: 0 }, profiles: [profile] }).failures.map((f) => f.code)).toEqual(['reset_count_rollback']);
    // PCR 10 holds IMA measurements the firmware log does not explain.
    const withIma = { ...profile, pcrs: [...profile.pcrs, 10] };
    const f = appraiseEvidence({ ...ev, profiles: [withIma] }).failures;
    expect(f.map((x) => [x.code, x.pcr])).toEqual([['pcr_unexplained', 10]]);
  });

  it('a log whose kernel command line was edited (digest unchanged) fails: the command-line rule reads unverified text', () => {
    const profile = learned('sha256');
    const bytes = eventLog();
    const parsed = parseEventLog(bytes);
    const ev = parsed.events.find((e) => e.pcr === 8 && e.decoded.kind === 'text' && e.decoded.text.startsWith('kernel_cmdline: '));
    if (ev === undefined) throw new Error('no kernel_cmdline event');
    const data = new TextEncoder().encode(new TextDecoder().decode(ev.data).replace('console=ttyS0', 'Console=ttyS0'));
    const log = replaceEventData(bytes, parsed, ev, data, false);
    const outcome = appraiseEvidence({ ...evidence('quote1_sha256'), eventLog: log, profiles: [profile] });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.failures.every((x) => x.pcr === 8 && x.eventIndex === ev.index)).toBe(true);
    expect(outcome.failures.map((x) => x.code)).toEqual(['event_data_mismatch']);
    expect(outcome.failures[0]).toMatchObject({ rule: 'kernelCmdline', dataVerified: false });
  });
});
