/**
 * The prepared-log cache must be invisible: an appraisal that reuses a cached log gives exactly the
 * findings, PCRs and verdict of one that parses it afresh, for clean and attacked boots alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence, type AppraisalOutcome } from '../src/appraisal/pipeline.ts';
import { PreparedLogCache } from '../src/appraisal/prepared-log-cache.ts';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/index.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { ParseError } from '../src/util/errors.ts';
import { createSimHost, SCENARIO_NAMES } from '../tpm-sim/index.ts';
import { haveSharedFixtures, realLogs, repoRoot, SHARED_FIXTURES_MISSING } from './helpers/fixtures.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));

/** What an operator sees of an appraisal: everything but the timings and the cache flag. */
function visible(o: AppraisalOutcome) {
  return { verdict: o.verdict, profile: o.profile, failures: o.failures, pcrs: o.pcrs, clock: o.clockInfo };
}

describe('prepared-log cache', () => {
  it('gives the same appraisal as no cache, for every tpm-sim scenario, on the first and on later hits', () => {
    let hits = 0;
    for (const name of SCENARIO_NAMES) {
      // One cache per scenario: some attacks (hidden-measurement) present the clean log byte for byte.
      const cache = new PreparedLogCache({ maxEntries: 64, maxLogBytes: 8 << 20 });
      const host = createSimHost({ scenario: name, ekType: 'ecc', akType: 'ecc', seed: `cache-${name}` });
      for (let round = 0; round < 3; round++) {
        const nonce = new Uint8Array(randomBytes(32));
        const ev = host.staleEvidence() ?? host.quote(nonce);
        const input = { akPub: host.akPub, quote: ev.quote, signature: ev.signature, expectedExtraData: nonce, eventLog: host.eventLog, claimedPcrs: ev.pcrs, profiles: [reference] };
        const fresh = appraiseEvidence(input);
        const cached = appraiseEvidence({ ...input, logPreparer: cache });
        expect(visible(cached), `${name} round ${round}`).toEqual(visible(fresh));
        // A quote that fails authentication stops before the log: nothing is prepared or cached.
        if (fresh.logCached === undefined) expect(cached.logCached).toBeUndefined();
        else expect(cached.logCached, `${name} round ${round}`).toBe(round > 0);
      }
      hits += cache.hits;
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('a cached log is still judged against this quote: a quote over other PCR values fails with the same findings as without the cache', () => {
    const clean = createSimHost({ scenario: 'clean', ekType: 'ecc', akType: 'ecc', seed: 'cache-clean' });
    const other = createSimHost({ scenario: 'unknown-bootloader', ekType: 'ecc', akType: 'ecc', seed: 'cache-clean' });
    const cache = new PreparedLogCache({ maxEntries: 8, maxLogBytes: 8 << 20 });
    const nonce = new Uint8Array(randomBytes(32));
    const good = clean.quote(nonce);
    const base = { akPub: clean.akPub, expectedExtraData: nonce, eventLog: clean.eventLog, profiles: [reference] };
    expect(appraiseEvidence({ ...base, quote: good.quote, signature: good.signature, claimedPcrs: good.pcrs, logPreparer: cache }).verdict).toBe('pass');
    // The same (cached) clean log with a quote of the swapped-bootloader machine's PCRs (same seed, same AK).
    expect(other.akPub).toEqual(clean.akPub);
    const forged = other.quote(nonce);
    const input = { ...base, akPub: other.akPub, quote: forged.quote, signature: forged.signature, claimedPcrs: forged.pcrs };
    const fresh = appraiseEvidence(input);
    const cached = appraiseEvidence({ ...input, logPreparer: cache });
    expect(cached.logCached).toBe(true);
    expect(fresh.verdict).toBe('fail');
    expect(visible(cached)).toEqual(visible(fresh));
    expect(cached.failures.map((f) => f.code)).toContain('pcr_replay_mismatch');
  });

  it.skipIf(!haveSharedFixtures())('gives the same appraisal as no cache on every real log (learned profile)', () => {
    if (!haveSharedFixtures()) throw new Error(SHARED_FIXTURES_MISSING);
    const cache = new PreparedLogCache({ maxEntries: 64, maxLogBytes: 8 << 20 });
    for (const real of realLogs()) {
      const bytes = new Uint8Array(readFileSync(real.path));
      const log = parseEventLog(bytes);
      const profile = learnProfile(log, replayEventLog(log), { name: 'learned' });
      for (let round = 0; round < 2; round++) {
        const fresh = appraiseEvidence({ eventLog: bytes, profiles: [profile] });
        const cached = appraiseEvidence({ eventLog: bytes, profiles: [profile], logPreparer: cache });
        expect(visible(cached), real.name).toEqual(visible(fresh));
      }
    }
  });

  it('keeps at most maxEntries logs and maxLogBytes bytes, evicting the least recently used', () => {
    const logs = (['clean', 'unknown-bootloader', 'kernel-swap'] as const).map((scenario) => createSimHost({ scenario, ekType: 'ecc', akType: 'ecc', seed: 'evict' }).eventLog);
    expect(new Set(logs.map((l) => Buffer.from(l).toString('hex'))).size).toBe(3);
    const cache = new PreparedLogCache({ maxEntries: 2, maxLogBytes: 1 << 30 });
    const prep = (l: Uint8Array) => cache.prepare(l, ['sha256'], ['sha256']).cached;
    expect(prep(logs[0]!)).toBe(false);
    expect(prep(logs[1]!)).toBe(false);
    expect(prep(logs[0]!)).toBe(true); // a is now the most recent
    expect(prep(logs[2]!)).toBe(false); // evicts b
    expect(cache.size).toBe(2);
    expect(prep(logs[0]!)).toBe(true);
    expect(prep(logs[1]!)).toBe(false);
    // A digest the caller computed already is the same key.
    expect(cache.prepare(logs[1]!, ['sha256'], ['sha256'], createHash('sha256').update(logs[1]!).digest('hex')).cached).toBe(true);
    // Other banks are another entry.
    expect(cache.prepare(logs[0]!, ['sha1', 'sha256'], ['sha256']).cached).toBe(false);

    const small = new PreparedLogCache({ maxEntries: 100, maxLogBytes: logs[0]!.length + 10 });
    expect(small.prepare(logs[0]!, ['sha256'], ['sha256']).cached).toBe(false);
    expect(small.prepare(logs[1]!, ['sha256'], ['sha256']).cached).toBe(false);
    expect(small.size).toBe(1);
    expect(small.prepare(logs[0]!, ['sha256'], ['sha256']).cached).toBe(false);
  });

  it('does not cache a log that fails to parse', () => {
    const cache = new PreparedLogCache({ maxEntries: 8, maxLogBytes: 1 << 20 });
    const junk = new Uint8Array(randomBytes(100));
    expect(() => cache.prepare(junk, ['sha256'], ['sha256'])).toThrow(ParseError);
    expect(() => cache.prepare(junk, ['sha256'], ['sha256'])).toThrow(ParseError);
    expect(cache.size).toBe(0);
    expect(cache.misses).toBe(2);
  });
});
