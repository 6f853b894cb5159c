/**
 * The digest-convention table: every checkable event type names its genuine digests and their
 * sources, EDK2's variable-value form is genuine where EDK2 uses it (and only there), and the
 * Boot Guard S-CRTM version deviation is explained by its quirk without verifying the data.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkDigestConsistencyDetailed,
  checkableConvention,
  dataVerified,
  DIGEST_CONVENTIONS,
  EV,
  eventLogToJson,
  eventTypeName,
  parseEventLog,
  replayEventLog,
} from '../src/eventlog/index.ts';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { learnProfile } from '../src/golden/learn.ts';
import { bootEvents, encodeEventLog, LOG_BANKS, referencePlatform } from '../tpm-sim/index.ts';
import { haveSharedFixtures, readFixture } from './helpers/fixtures.ts';

const sha1 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(b).digest());
const utf16z = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\0`, 'utf16le'));
const asciiz = (s: string): Uint8Array => new Uint8Array(Buffer.from(`${s}\0`, 'latin1'));

/** A legacy (TCG_PCR_EVENT, SHA-1) log; each event is [pcr, type, digest, data]. */
function legacyLog(events: [number, number, Uint8Array, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [];
  for (const [pcr, type, digest, data] of events) {
    const head = Buffer.alloc(32);
    head.writeUInt32LE(pcr, 0);
    head.writeUInt32LE(type, 4);
    Buffer.from(digest).copy(head, 8);
    head.writeUInt32LE(data.length, 28);
    parts.push(head, Buffer.from(data));
  }
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * The shape of an Intel Boot Guard platform's PCR 0 (as in the Intel server and Google Distributed
 * Cloud logs the issue names, which the shared corpus does not carry): the ACM's S-CRTM contents
 * event, then an EV_S_CRTM_VERSION whose digest is not the hash of its version string.
 */
function bootGuardLog(marker = 'Boot Guard Measured S-CRTM'): Uint8Array {
  const sep = new Uint8Array(4);
  const version = utf16z('1.7.4');
  const events: [number, number, Uint8Array, Uint8Array][] = [
    [0, EV.EV_S_CRTM_CONTENTS, sha1(asciiz('IBB')), asciiz(marker)],
    [0, EV.EV_S_CRTM_VERSION, sha1(asciiz('Boot Guard policy, not the version string')), version],
    [0, EV.EV_POST_CODE, sha1(asciiz('ACPI tables')), new Uint8Array(Buffer.from('ACPI DATA'))],
  ];
  for (let pcr = 0; pcr <= 7; pcr++) events.push([pcr, EV.EV_SEPARATOR, sha1(sep), sep]);
  return legacyLog(events);
}

describe('DIGEST_CONVENTIONS', () => {
  it('covers every event type the firmware-fidelity review names, each form with its source', () => {
    const names = [
      'EV_EFI_VARIABLE_BOOT', 'EV_EFI_VARIABLE_BOOT2', 'EV_EFI_VARIABLE_DRIVER_CONFIG', 'EV_EFI_VARIABLE_AUTHORITY',
      'EV_S_CRTM_VERSION', 'EV_S_CRTM_CONTENTS', 'EV_EFI_ACTION', 'EV_SEPARATOR', 'EV_EFI_GPT_EVENT', 'EV_POST_CODE',
      'EV_POST_CODE2', 'EV_EFI_HANDOFF_TABLES', 'EV_EFI_HANDOFF_TABLES2', 'EV_EFI_PLATFORM_FIRMWARE_BLOB2',
      'EV_EFI_SPDM_FIRMWARE_BLOB', 'EV_EFI_SPDM_FIRMWARE_CONFIG', 'EV_EFI_SPDM_DEVICE_POLICY', 'EV_EFI_SPDM_DEVICE_AUTHORITY',
    ];
    const listed = new Set(DIGEST_CONVENTIONS.map((c) => eventTypeName(c.eventType)));
    for (const n of names) expect(listed, n).toContain(n);
    expect(new Set(DIGEST_CONVENTIONS.map((c) => c.eventType)).size).toBe(DIGEST_CONVENTIONS.length);
    for (const c of DIGEST_CONVENTIONS) {
      if (c.forms.length === 0) expect(c.measures?.length ?? 0, eventTypeName(c.eventType)).toBeGreaterThan(10);
      for (const f of c.forms) {
        expect(f.source, `${eventTypeName(c.eventType)} ${f.id}`).toMatch(/PFP|EDK2|grub|systemd|U-Boot/);
        expect(f.preimage.length).toBeGreaterThan(5);
      }
    }
  });

  it('the PFP form comes first; EDK2 variable-value digests are genuine only for the types EDK2 hashes that way', () => {
    const forms = (t: number): string[] => DIGEST_CONVENTIONS.find((c) => c.eventType === t)?.forms.map((f) => f.id) ?? [];
    expect(forms(EV.EV_EFI_VARIABLE_BOOT)).toEqual(['uefi-variable-data', 'edk2-variable-value']);
    expect(forms(EV.EV_EFI_VARIABLE_BOOT2)).toEqual(['uefi-variable-data', 'edk2-variable-value']);
    // Secure Boot state is read from these: the name and GUID must be inside the hash.
    expect(forms(EV.EV_EFI_VARIABLE_DRIVER_CONFIG)).toEqual(['uefi-variable-data']);
    expect(forms(EV.EV_EFI_VARIABLE_AUTHORITY)).toEqual(['uefi-variable-data']);
  });

  it('EV_IPL data is checkable only where grub and systemd-boot hash their text (PCR 8 and 12)', () => {
    const ipl = (pcr: number) => checkableConvention({ pcr, type: EV.EV_IPL } as Parameters<typeof checkableConvention>[0]);
    expect(ipl(8)).toBeDefined();
    expect(ipl(12)).toBeDefined();
    expect(ipl(9)).toBeUndefined();
    expect(ipl(14)).toBeUndefined();
  });
});

describe('variable events measured the EDK2 way', () => {
  const platform = referencePlatform();
  const events = bootEvents(platform);

  it('Boot#### measured into PCR 5 with the digest of VariableData alone is verified', () => {
    const moved = events.map((e) => (e.type === EV.EV_EFI_VARIABLE_BOOT ? { ...e, pcr: 5 } : e));
    const log = parseEventLog(encodeEventLog(LOG_BANKS, moved));
    const report = checkDigestConsistencyDetailed(log);
    const boot = log.events.filter((e) => e.type === EV.EV_EFI_VARIABLE_BOOT);
    expect(boot.length).toBeGreaterThan(1);
    expect(boot.every((e) => e.pcr === 5 && dataVerified(report, e, 'sha256') === true)).toBe(true);
    expect(report.mismatches).toEqual([]);
  });

  it('a SecureBoot variable whose digest is the hash of its value alone is not verified (its name is outside the hash)', () => {
    const forged = events.map((e) => {
      if (e.component !== 'secureboot') return e;
      const value = e.data.subarray(e.data.length - 1);
      return { ...e, digests: Object.fromEntries(LOG_BANKS.map((b) => [b, new Uint8Array(createHash(b).update(value).digest())])) };
    });
    const log = parseEventLog(encodeEventLog(LOG_BANKS, forged));
    const sb = log.events.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === 'SecureBoot')!;
    expect(dataVerified(checkDigestConsistencyDetailed(log), sb, 'sha256')).toBe(false);
  });
});

describe('EV_S_CRTM_VERSION on Intel Boot Guard platforms (quirk s-crtm-version-boot-guard)', () => {
  it('leaves the version string unverified, explained by the quirk, and a learned profile passes by digest', () => {
    const bytes = bootGuardLog();
    const log = parseEventLog(bytes);
    expect(log.format).toBe('sha1');
    const report = checkDigestConsistencyDetailed(log);
    expect(report.mismatches).toMatchObject([{ eventIndex: 1, pcr: 0, typeName: 'EV_S_CRTM_VERSION', knownDeviation: 's-crtm-version-boot-guard' }]);
    const json = eventLogToJson(log, replayEventLog(log), report);
    expect(json.events[1]).toMatchObject({ type: 'EV_S_CRTM_VERSION', dataVerified: false, knownDeviation: 's-crtm-version-boot-guard' });
    expect(json.events[3]).toMatchObject({ type: 'EV_SEPARATOR', dataVerified: true });
    expect(json.events[0]?.dataVerified).toBeUndefined(); // S-CRTM contents: the digest measures the S-CRTM itself

    const profile = learnProfile(log, replayEventLog(log), { name: 'boot-guard' });
    expect(profile.crtmVersions?.[0]?.digests).toEqual([Buffer.from(log.events[1]!.digests.sha1!).toString('hex')]);
    const pass = appraiseEvidence({ eventLog: bytes, profiles: [profile] });
    expect(pass.failures).toEqual([]);
    expect(pass.unverifiedData).toEqual([{ pcr: 0, eventIndex: 1, eventType: 'EV_S_CRTM_VERSION', bank: 'sha1', knownDeviation: 's-crtm-version-boot-guard' }]);
  });

  it('a different S-CRTM version digest still fails crtm_version_not_allowed, and the finding says its data is unverified', () => {
    const bytes = bootGuardLog();
    const log = parseEventLog(bytes);
    const profile = learnProfile(log, replayEventLog(log), { name: 'boot-guard' });
    const other = bytes.slice();
    const at = log.events[1]!.offset + 8; // first byte of the SHA-1 digest
    other[at] = (other[at] ?? 0) ^ 0xff;
    const outcome = appraiseEvidence({ eventLog: other, profiles: [profile] });
    expect(outcome.failures.map((f) => [f.code, f.pcr, f.eventIndex, f.dataVerified])).toEqual([['crtm_version_not_allowed', 0, 1, false]]);
    expect(outcome.failures[0]?.message).toContain('s-crtm-version-boot-guard');
  });

  it('without the Boot Guard S-CRTM marker the mismatch is unexplained (no quirk applies), and still unverified', () => {
    const report = checkDigestConsistencyDetailed(parseEventLog(bootGuardLog('Some Other S-CRTM')));
    expect(report.mismatches).toHaveLength(1);
    expect(report.mismatches[0]?.knownDeviation).toBeUndefined();
  });
});

describe.skipIf(!haveSharedFixtures())('real firmware that measures boot variables into PCR 5', () => {
  for (const name of [
    'python3-uefi-eventlog/testing/good_logs/thinkpad/p511.bin',
    'u-root/pkg/tpm/tests/binary_bios_measurements_tpm20_efi_non_agile',
  ]) {
    it(`${name}: every PCR 5 boot variable is verified by the EDK2 form`, () => {
      const log = parseEventLog(readFixture(name));
      const report = checkDigestConsistencyDetailed(log);
      const boot = log.events.filter((e) => e.pcr === 5 && e.type === EV.EV_EFI_VARIABLE_BOOT);
      expect(boot.length).toBeGreaterThanOrEqual(5);
      expect(report.mismatches).toEqual([]);
      for (const e of boot) for (const bank of log.banks) expect(dataVerified(report, e, bank), `${e.index} ${bank}`).toBe(true);
    });
  }
});
