/**
 * Golden patterns are matched against host-controlled text (kernel command line, grub commands,
 * boot option paths, certificate subjects), on a route anyone can call before the quote's signature
 * is known to be good. A backtracking pattern must not let a 40-character command line stall the
 * verifier: patterns run on V8's linear-time engine, and what it cannot run is refused up front.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { textMatches } from '../src/appraisal/match.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { parseProfile } from '../src/golden/index.ts';
import { MAX_PATTERN_LENGTH } from '../src/golden/pattern.ts';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));
/** An admin's "any words" rule: harmless looking, exponential on a backtracking engine. */
const WORDS = 'kernel_cmdline: (?:[a-z0-9=/._-]+ ?)*';

describe('golden patterns against hostile host text', () => {
  it('a catastrophic-backtracking pattern answers at once on a hostile command line', () => {
    // 34 letters then a character outside the class: 2^34 paths for a backtracking engine.
    expect(textMatches({ pattern: WORDS }, `kernel_cmdline: ${'a'.repeat(34)}!`)).toBe(false);
    expect(textMatches({ pattern: WORDS }, 'kernel_cmdline: ro quiet splash')).toBe(true);
    expect(textMatches({ pattern: '(a+)+b' }, `${'a'.repeat(5000)}c`)).toBe(false);
  }, 20_000);

  it('the whole pipeline appraises a log whose command line attacks the profile pattern', () => {
    const profile = parseProfile({ ...structuredClone(reference), kernelCmdline: [{ text: { pattern: WORDS } }] }, 'test');
    const platform = referencePlatform();
    platform.kernelCmdline = `${'a'.repeat(40)}!`;
    const outcome = appraiseEvidence({ eventLog: encodeEventLog(LOG_BANKS, bootEvents(platform)), profiles: [profile] });
    expect(outcome.verdict).toBe('fail');
    expect(outcome.failures.map((f) => f.code)).toContain('cmdline_not_allowed');
  }, 20_000);

  it('patterns the linear-time engine cannot run are refused when the profile is loaded', () => {
    const withCmdline = (pattern: string) => ({ ...structuredClone(reference), kernelCmdline: [{ text: { pattern } }] });
    expect(() => parseProfile(withCmdline('(quiet) \\1'), 'p')).toThrow(/linear time/);
    expect(() => parseProfile(withCmdline('(?=quiet).*'), 'p')).toThrow(/linear time/);
    expect(() => parseProfile(withCmdline('\\p{L}+'), 'p')).toThrow(/unicode property/);
    expect(() => parseProfile(withCmdline('a'.repeat(MAX_PATTERN_LENGTH + 1)), 'p')).toThrow(/at most/);
    expect(() => parseProfile(withCmdline('('), 'p')).toThrow(/invalid regular expression/);
    // The patterns of the shipped example profile still load.
    expect(loadProfileFile(path.join(repoRoot, 'golden-measurements', 'examples', 'every-rule.json')).name).toBeTruthy();
  });
});
