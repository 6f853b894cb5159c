/** The census core: every value a profile allows, and which of them one boot used (pure, no server). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedValues, usedValues } from '../src/appraisal/census.ts';
import { parseEventLog } from '../src/eventlog/index.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { bootEvents, encodeEventLog, fakeImage, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));
const clean = parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(referencePlatform())));
const allowed = allowedValues(reference);
const component = (name: string) => allowed.find((c) => c.component === name);

describe('census', () => {
  it('lists each component of the profile with the values it allows', () => {
    expect(component('bootloader')?.pcr).toBe(4);
    expect(component('bootloader')?.values.map((v) => v.digest)).toEqual(reference.bootChain?.bootloader?.flatMap((e) => e.digests));
    expect(component('cmdline')?.values).toEqual([expect.objectContaining({ text: reference.kernelCmdline?.[0]?.text })]);
    expect(component('secure_boot_db')?.values.map((v) => v.digest)).toEqual(reference.secureBoot?.db?.certificates?.map((c) => c.sha256));
  });

  it('a clean boot uses exactly one value of each single-image component, its command line and its db certificate', () => {
    const used = usedValues(reference, clean, allowed);
    for (const name of ['shim', 'bootloader', 'cmdline', 'secure_boot_db', 'secure_boot_kek', 'secure_boot_pk']) {
      const c = component(name);
      expect(c?.values.filter((v) => used.has(v.key)).length, name).toBe(1);
    }
  });

  it('a new bootloader uses none of the allowed bootloaders; a command line whose digest does not verify its text is not counted', () => {
    const p = referencePlatform();
    p.grub.contents = fakeImage('grub 2.14', p.grub.contents.length);
    const rolled = usedValues(reference, parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(p))), allowed);
    expect(component('bootloader')?.values.some((v) => rolled.has(v.key))).toBe(false);
    const forged = parseEventLog(encodeEventLog(LOG_BANKS, bootEvents(referencePlatform()).map((e) => (e.component === 'cmdline' ? { ...e, digests: { ...e.digests, sha256: new Uint8Array(32).fill(9) } } : e))));
    expect(component('cmdline')?.values.some((v) => usedValues(reference, forged, allowed).has(v.key))).toBe(false);
  });
});
