import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { FAILURE_CODES } from '../src/appraisal/codes.ts';
import { textMatches } from '../src/appraisal/match.ts';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { ProfileError } from '../src/golden/errors.ts';
import { profileJsonSchemaText } from '../src/golden/json-schema.ts';
import { learnProfile } from '../src/golden/learn.ts';
import { loadProfileDir, loadProfileFile, parseProfile } from '../src/golden/load.ts';
import { bumpVersion, mergeProfiles } from '../src/golden/merge.ts';
import { bootEvents, encodeEventLog, fakeImage, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const GM = path.join(repoRoot, 'golden-measurements');
const tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeProfile(name: string, content: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, content);
  return f;
}

function refusal(file: string): ProfileError {
  try {
    loadProfileFile(file);
  } catch (e) {
    if (e instanceof ProfileError) return e;
    throw e;
  }
  throw new Error(`${file} loaded`);
}

const minimal = { name: 'm', version: '1', pcrs: [0] };

describe('profile format', () => {
  it('golden-measurements/profile.schema.json is the current z.toJSONSchema output', () => {
    expect(readFileSync(path.join(GM, 'profile.schema.json'), 'utf8')).toBe(profileJsonSchemaText());
  });

  it('the shipped profiles and the every-rule example load', () => {
    expect(loadProfileFile(path.join(GM, 'tpm-sim-reference.json')).name).toBe('tpm-sim-reference');
    const ex = loadProfileFile(path.join(GM, 'examples', 'every-rule.json'));
    // Every rule kind appears in the example.
    for (const k of ['crtmVersions', 'firmware', 'bootConfig', 'drivers', 'secureBoot', 'bootChain', 'grubCommands', 'kernelCmdline', 'kernels', 'initrds', 'bootFiles', 'separators', 'events', 'allowUnknownEvents'] as const) {
      expect(ex[k], k).toBeDefined();
    }
  });

  it('defaults the bank to sha256', () => {
    expect(parseProfile(minimal, 'x').bank).toBe('sha256');
  });

  it.each([
    ['invalid JSON', '{"name": "x",', '$', /invalid JSON/],
    ['PCR out of range', JSON.stringify({ ...minimal, pcrs: [0, 24] }), '$.pcrs[1]', /23/],
    ['digest of the wrong length for the bank', JSON.stringify({ ...minimal, firmware: [{ digests: ['ab'.repeat(20)] }] }), '$.firmware[0].digests[0]', /sha256 digest is 64 hex digits/],
    ['upper-case hex', JSON.stringify({ ...minimal, bank: 'sha1', crtmVersions: [{ digests: ['AB'.repeat(20)] }] }), '$.crtmVersions[0].digests[0]', /lower-case hex/],
    ['empty digest set', JSON.stringify({ ...minimal, drivers: [{ digests: [] }] }), '$.drivers[0].digests', /at least one/],
    ['unknown key (typo)', JSON.stringify({ ...minimal, secureBot: { required: true } }), '$', /secureBot/],
    ['invalid regular expression', JSON.stringify({ ...minimal, kernelCmdline: [{ text: { pattern: '(' } }] }), '$.kernelCmdline[0].text.pattern', /invalid regular expression/],
    ['missing version', JSON.stringify({ name: 'm', pcrs: [] }), '$.version', /.+/],
    ['secure boot required without PCR 7', JSON.stringify({ ...minimal, secureBoot: { required: true } }), '$.secureBoot.required', /PCR 7/],
    ['entry without text or digests', JSON.stringify({ ...minimal, grubCommands: [{ comment: 'x' }] }), '$.grubCommands[0]', /text or digests/],
  ])('refuses a broken profile (%s) naming file, JSON path and problem', (_what, text, jsonPath, problem) => {
    const file = writeProfile(`broken-${Math.random().toString(16).slice(2)}.json`, text);
    const e = refusal(file);
    expect(e.source).toBe(file);
    expect(e.path).toBe(jsonPath);
    expect(e.problem).toMatch(problem);
    expect(e.message).toContain(file);
    expect(e.message).toContain(jsonPath);
  });

  it('loadProfileDir skips subfolders and schema files, and refuses two files with the same name@version', () => {
    const dir = path.join(tmp, 'dir');
    mkdirSync(path.join(dir, 'examples'), { recursive: true });
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ ...minimal, name: 'a' }));
    writeFileSync(path.join(dir, 'profile.schema.json'), '{"not": "a profile"}');
    writeFileSync(path.join(dir, 'examples', 'broken.json'), '{');
    expect(loadProfileDir(dir).map((p) => p.name)).toEqual(['a']);
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ ...minimal, name: 'a' }));
    expect(() => loadProfileDir(dir)).toThrow(/a@1 is also defined in/);
  });

  it('patterns are anchored at both ends', () => {
    expect(textMatches({ pattern: 'quiet' }, 'quiet')).toBe(true);
    expect(textMatches({ pattern: 'quiet' }, 'quiet init=/bin/sh')).toBe(false);
    expect(textMatches({ pattern: 'a|b' }, 'ab')).toBe(false);
    expect(textMatches('x', 'x ')).toBe(false);
  });

  it('the failure-code catalog documents every code, and the README table lists exactly them', () => {
    const readme = readFileSync(path.join(GM, 'README.md'), 'utf8').split('## Failure codes')[1] ?? '';
    const inTable = new Set([...readme.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
    expect(inTable).toEqual(new Set(Object.keys(FAILURE_CODES)));
  });
});

describe('learn and merge', () => {
  const logA = encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()));
  const platformB = referencePlatform();
  platformB.kernel.contents = fakeImage('linux 6.9.0-sim', platformB.kernel.contents.length);
  platformB.kernelCmdline = `${platformB.kernelCmdline} mitigations=auto`;
  const logB = encodeEventLog(LOG_BANKS, bootEvents(platformB));
  const learn = (bytes: Uint8Array, version?: string) => {
    const log = parseEventLog(bytes);
    return learnProfile(log, replayEventLog(log), { name: 'fleet', ...(version !== undefined ? { version } : {}) });
  };

  it('merging two hosts gives one profile (same name, bumped version) that passes both and still refuses a third', () => {
    const a = learn(logA, '7');
    const b = learn(logB);
    expect(appraiseEvidence({ eventLog: logB, profiles: [a] }).verdict).toBe('fail');
    const m = mergeProfiles(a, b);
    expect(m.name).toBe('fleet');
    expect(m.version).toBe('8');
    for (const log of [logA, logB]) expect(appraiseEvidence({ eventLog: log, profiles: [m] }).failures).toEqual([]);
    expect(m.bootChain?.kernel?.[0]?.digests.length).toBe(2);
    const platformC = referencePlatform();
    platformC.kernel.contents = fakeImage('linux 7.0-unknown', platformC.kernel.contents.length);
    const c = appraiseEvidence({ eventLog: encodeEventLog(LOG_BANKS, bootEvents(platformC)), profiles: [m] });
    expect(new Set(c.failures.map((f) => f.code))).toEqual(new Set(['kernel_not_allowed']));
  });

  it('bumps versions', () => {
    expect(bumpVersion('1')).toBe('2');
    expect(bumpVersion('2024.06.9')).toBe('2024.06.10');
    expect(bumpVersion('beta')).toBe('beta.1');
  });

  it('allowUnknownEvents lets an otherwise undescribed event through, and only that', () => {
    const a = learn(logA);
    const withoutGrub = { ...a, grubCommands: [] };
    const failing = appraiseEvidence({ eventLog: logA, profiles: [withoutGrub] });
    expect(new Set(failing.failures.map((f) => f.code))).toEqual(new Set(['grub_command_not_allowed']));
    const allowed = { ...withoutGrub, allowUnknownEvents: [{ pcr: 8, type: 'EV_IPL' }] };
    expect(appraiseEvidence({ eventLog: logA, profiles: [allowed] }).failures).toEqual([]);
  });

  it('a profile that omits a component refuses it (deny by default)', () => {
    const a = learn(logA);
    const { crtmVersions: _c, ...noCrtm } = a;
    const r = appraiseEvidence({ eventLog: logA, profiles: [parseProfile(noCrtm, 'x')] });
    expect(r.failures.map((f) => [f.code, f.pcr])).toEqual([['crtm_version_not_allowed', 0]]);
  });
});
