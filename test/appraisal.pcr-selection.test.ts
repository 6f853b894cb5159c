/**
 * The PCR selection a host must quote (contract §3.2): the union of what its profiles appraise, each
 * PCR in its profile's bank, in `tpm2_quote -l` syntax. Property: a quote over exactly that selection
 * never fails pcr_not_quoted for any of the profiles; leaving out any one PCR does, and the failure
 * names the missing PCRs and the selection to use.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appraiseLog } from '../src/appraisal/appraise.ts';
import { NO_PROFILE_SELECTION, requiredPcrSelection, requiredPcrSelectionText } from '../src/appraisal/pcr-selection.ts';
import { checkDigestConsistencyDetailed, parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/learn.ts';
import type { GoldenProfile } from '../src/golden/schema.ts';
import { DIGEST_SIZE, type HashAlg, type PcrBanks } from '../src/tpm/alg.ts';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';

const log = parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(referencePlatform())));
const replay = replayEventLog(log);
const consistency = checkDigestConsistencyDetailed(log);
const learned = learnProfile(log, replay, { name: 'learned' });

/** tpm2-tools' `-l` grammar as bootgate writes it: bank:n[,n...] joined by '+', each bank once. */
function parseSelectionText(text: string): Array<{ hash: HashAlg; pcrs: number[] }> {
  expect(text).toMatch(/^(sha1|sha256|sha384|sha512):\d{1,2}(,\d{1,2})*(\+(sha1|sha256|sha384|sha512):\d{1,2}(,\d{1,2})*)*$/);
  const out = text.split('+').map((part) => {
    const [hash, list] = part.split(':') as [HashAlg, string];
    return { hash, pcrs: list.split(',').map(Number) };
  });
  expect(new Set(out.map((s) => s.hash)).size).toBe(out.length);
  return out;
}

/** A value for every selected PCR, as a quote over that selection vouches for. */
function quotedValues(selection: Array<{ hash: HashAlg; pcrs: number[] }>): PcrBanks {
  const out: PcrBanks = {};
  for (const s of selection) out[s.hash] = new Map(s.pcrs.map((p) => [p, replay.pcrs[s.hash]?.get(p) ?? new Uint8Array(DIGEST_SIZE[s.hash])]));
  return out;
}

function notQuoted(profile: GoldenProfile, selection: Array<{ hash: HashAlg; pcrs: number[] }>, required: string) {
  const { findings } = appraiseLog({ log, replay, consistency, profile, quotedPcrs: quotedValues(selection), quoteSelection: selection, requiredSelection: required });
  return findings.filter((f) => f.code === 'pcr_not_quoted');
}

describe('requiredPcrSelection', () => {
  it('is the union per bank, banks in TPM_ALG_ID order, PCRs ascending, in tpm2_quote -l syntax', () => {
    const profiles = [
      { bank: 'sha256', pcrs: [14, 0, 4] },
      { bank: 'sha1', pcrs: [7, 1] },
      { bank: 'sha256', pcrs: [4, 9, 2] },
    ] as const;
    expect(requiredPcrSelectionText(profiles.map((p) => ({ bank: p.bank, pcrs: [...p.pcrs] })))).toBe('sha1:1,7+sha256:0,2,4,9,14');
    expect(requiredPcrSelectionText([learned])).toBe('sha256:0,1,2,3,4,5,6,7,8,9,14');
  });

  it('without a profile asks for every sha256 PCR (the attestation fails with profile_not_found anyway)', () => {
    expect(requiredPcrSelection([])).toBe(NO_PROFILE_SELECTION);
    expect(requiredPcrSelectionText([])).toBe(`sha256:${[...Array(24).keys()].join(',')}`);
  });

  const profileSpecs = fc.array(
    fc.record({
      bank: fc.constantFrom<HashAlg>('sha1', 'sha256', 'sha384'),
      pcrs: fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }),
    }),
    { minLength: 1, maxLength: 4 },
  );

  it('a quote over exactly the selection never fails pcr_not_quoted, whichever profile decides', () => {
    fc.assert(
      fc.property(profileSpecs, (specs) => {
        const profiles = specs.map((s, i) => ({ ...learned, name: `p${i}`, bank: s.bank, pcrs: s.pcrs }));
        const text = requiredPcrSelectionText(profiles);
        const selection = parseSelectionText(text);
        for (const p of profiles) expect(notQuoted(p, selection, text)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('leaving out any one selected PCR fails pcr_not_quoted for the profiles that appraise it, naming it and the selection', () => {
    fc.assert(
      fc.property(profileSpecs, fc.nat(), (specs, pick) => {
        const profiles = specs.map((s, i) => ({ ...learned, name: `p${i}`, bank: s.bank, pcrs: s.pcrs }));
        const text = requiredPcrSelectionText(profiles);
        const selection = parseSelectionText(text);
        const flat = selection.flatMap((s) => s.pcrs.map((pcr) => ({ hash: s.hash, pcr })));
        const drop = flat[pick % flat.length]!;
        const short = selection.map((s) => ({ hash: s.hash, pcrs: s.hash === drop.hash ? s.pcrs.filter((p) => p !== drop.pcr) : s.pcrs }));
        for (const p of profiles) {
          const found = notQuoted(p, short, text);
          if (p.bank === drop.hash && p.pcrs.includes(drop.pcr)) {
            expect(found.map((f) => [f.pcr, f.bank])).toEqual([[drop.pcr, drop.hash]]);
            expect(found[0]!.message).toContain(`(missing ${drop.hash} PCRs ${drop.pcr})`);
            expect(found[0]!.message).toContain(text);
            expect(found[0]!.expected).toBe(text);
          } else {
            expect(found).toEqual([]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
