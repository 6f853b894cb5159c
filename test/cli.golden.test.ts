import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { applyScenario, bootEvents, encodeEventLog, fakeImage, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { haveSharedFixtures, repoRoot, SHARED_FIXTURES_MISSING, sharedFixturesDir } from './helpers/fixtures.ts';
import { runBootgateSync as bootgate } from './helpers/cli.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'bootgate-cli-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('bootgate golden', () => {
  const logA = path.join(tmp, 'a.bin');
  const logB = path.join(tmp, 'b.bin');
  writeFileSync(logA, encodeEventLog(LOG_BANKS, bootEvents(referencePlatform())));
  const pb = referencePlatform();
  pb.initrd.contents = fakeImage('initrd rebuilt', pb.initrd.contents.length);
  writeFileSync(logB, encodeEventLog(LOG_BANKS, bootEvents(pb)));

  it('learn writes a profile that passes its log (API and CLI), and --merge adds a second host', () => {
    const out = path.join(tmp, 'fleet.json');
    const r = bootgate(['golden', 'learn', '--eventlog', logA, '--name', 'fleet', '--version', '3', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const p = loadProfileFile(out);
    expect(p.name).toBe('fleet');
    expect(p.version).toBe('3');
    expect(appraiseEvidence({ eventLog: new Uint8Array(readFileSync(logA)), profiles: [p] }).verdict).toBe('pass');
    const b = bootgate(['appraise', '--golden', out, '--eventlog', logB, '--json']);
    expect(b.code).toBe(1);
    expect((JSON.parse(b.stdout) as { failures: { code: string }[] }).failures.map((f) => f.code)).toEqual(['initrd_not_allowed']);

    const merged = path.join(tmp, 'fleet-merged.json');
    // --merge keeps the merged profile's name: a different --name is refused, not silently ignored.
    const renamed = bootgate(['golden', 'learn', '--eventlog', logB, '--name', 'other', '--merge', out, '--out', merged, '--json']);
    expect(renamed.code).toBe(2);
    expect(JSON.parse(renamed.stdout)).toEqual({ error: { code: 'name_mismatch', message: expect.stringContaining('holds profile "fleet", but --name is "other"') } });
    expect(existsSync(merged)).toBe(false);
    const m = bootgate(['golden', 'learn', '--eventlog', logB, '--merge', out, '--out', merged, '--json']);
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toEqual({ wrote: merged, profile: 'fleet@4', bank: 'sha256', pcrs: expect.arrayContaining([0, 4, 9]) });
    const mp = loadProfileFile(merged);
    expect(mp.name).toBe('fleet');
    expect(mp.version).toBe('4');
    expect(bootgate(['appraise', '--golden', merged, '--eventlog', logB]).code).toBe(0);
    expect(appraiseEvidence({ eventLog: new Uint8Array(readFileSync(logA)), profiles: [mp] }).verdict).toBe('pass');
  });

  it('learn refuses (exit 1, nothing written) a profile that fails its own log, naming the event and reason, with and without --merge', () => {
    // A db whose logged certificates are not the ones its digest measured: the db rule learned from
    // that data reads unverified data, so the profile cannot pass its own log.
    const attacked = bootEvents(applyScenario(referencePlatform(), 'db-key-added'));
    const forged = bootEvents(referencePlatform()).map((e) => (e.component === 'db' ? { ...e, data: attacked.find((a) => a.component === 'db')!.data } : e));
    const log = path.join(tmp, 'forged-db.bin');
    writeFileSync(log, encodeEventLog(LOG_BANKS, forged));
    const out = path.join(tmp, 'never-written.json');
    const r = bootgate(['golden', 'learn', '--eventlog', log, '--name', 'forged', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refusing to write forged@1: it fails the log it was learned from');
    expect(r.stderr).toMatch(/event_data_mismatch: PCR 7 event \d+ \(EV_EFI_VARIABLE_DRIVER_CONFIG\)/);
    expect(() => readFileSync(out)).toThrow();
    const base = path.join(tmp, 'base.json');
    expect(bootgate(['golden', 'learn', '--eventlog', logA, '--name', 'base', '--out', base]).code).toBe(0);
    const m = bootgate(['golden', 'learn', '--eventlog', log, '--name', 'base', '--merge', base, '--out', out]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('event_data_mismatch');
    expect(() => readFileSync(out)).toThrow();
    // Under --json the refusal is the contract's error object on stdout, still exit 1.
    const j = bootgate(['golden', 'learn', '--eventlog', log, '--name', 'forged', '--out', out, '--json']);
    expect(j.code).toBe(1);
    const { error } = JSON.parse(j.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('profile_fails_own_log');
    expect(error.message).toMatch(/refusing to write forged@1: .*\n {2}event_data_mismatch: PCR 7 event \d+/s);
    expect(() => readFileSync(out)).toThrow();
  });

  it('learn prints to stdout without --out; unusable input exits 2', () => {
    const r = bootgate(['golden', 'learn', '--eventlog', logA, '--name', 'x']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }).name).toBe('x');
    const junk = path.join(tmp, 'junk.bin');
    writeFileSync(junk, 'not an event log');
    expect(bootgate(['golden', 'learn', '--eventlog', junk, '--name', 'x']).code).toBe(2);
  });

  it('check validates files and names the broken one', () => {
    const bad = path.join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'b', version: '1', pcrs: [0], firmware: [{ digests: ['zz'] }] }));
    const good = path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json');
    const r = bootgate(['golden', 'check', good, bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${good}: ok (tpm-sim-reference@1)`);
    expect(r.stderr).toContain(`${bad}: $.firmware[0].digests[0]`);
    // Deny by default: a profile that appraises no PCR would pass any signed quote.
    const empty = path.join(tmp, 'empty.json');
    writeFileSync(empty, JSON.stringify({ name: 'e', version: '1', pcrs: [] }));
    const e = bootgate(['golden', 'check', empty]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain(`${empty}: $.pcrs: a profile must appraise at least one PCR`);
  });

  it.skipIf(!haveSharedFixtures())(`learn then appraise a real legacy SHA-1 log through the CLI (${haveSharedFixtures() ? 'fixtures present' : SHARED_FIXTURES_MISSING})`, () => {
    const log = path.join(sharedFixturesDir(), 'go-tpm-tools/internal/test/eventlogs/debian-10.bin');
    const out = path.join(tmp, 'debian.json');
    expect(bootgate(['golden', 'learn', '--eventlog', log, '--name', 'debian', '--out', out]).code).toBe(0);
    expect(loadProfileFile(out).bank).toBe('sha1');
    const r = bootgate(['appraise', '--golden', out, '--eventlog', log, '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { verdict: string }).verdict).toBe('pass');
  });
});
