/**
 * Rules for components identified by digest or text: firmware (PCR 0), boot configuration (PCR 1),
 * drivers (PCR 2), the boot chain (PCR 4), grub commands and command line (PCR 8/12), files read
 * by the bootloader (PCR 9), separators, and every other event (deny by default).
 */
import type { TcgEvent } from '../eventlog/types.ts';
import type { DigestEntry, GoldenProfile, ImageEntry, TextEntry } from '../golden/schema.ts';
import { digest, type HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';
import type { FailureCode } from './codes.ts';
import { eventText, imagePath, type EventClass } from './classify.ts';
import { eventFinding, unverifiedDataFinding } from './finding.ts';
import { describeEvent, describeTextMatch, textEntryMatches, textMatches } from './match.ts';
import { digestEntryAllows, imageEntryAllows, textEntryCandidates } from './profile-index.ts';
import type { Finding } from './types.ts';

export interface EventCheck {
  readonly profile: GoldenProfile;
  readonly bank: HashAlg;
  readonly ev: TcgEvent;
  /** The event's digest in the appraised bank, hex. */
  readonly digest: string;
  /**
   * true: the digest is a genuine digest of the event's data, so a rule may read the data; false:
   * it is not, so the data is unverified; undefined: the digest measures content the log does not hold.
   */
  readonly dataVerified: boolean | undefined;
  /** For unverified data: the FIRMWARE_QUIRKS entry that explains it, if any. */
  readonly knownDeviation?: string;
}

/** The event's data may be read by a rule: its digest verifies it. */
export function dataReadable(c: EventCheck): boolean {
  return c.dataVerified === true;
}

/** A rule that would read this event's unverified data fails it as event_data_mismatch. */
export function unverifiedData(c: EventCheck, rule: string, component: string): Finding {
  return unverifiedDataFinding(c.ev, c.bank, rule, component, c.digest, c.knownDeviation);
}

function digestsOf(entries: readonly { digests?: string[] | undefined }[] | undefined): string[] {
  const out = new Set<string>();
  for (const e of entries ?? []) for (const d of e.digests ?? []) out.add(d);
  return [...out];
}

function notInSet(code: FailureCode, c: EventCheck, rule: string, component: string, entries: readonly { digests?: string[] | undefined }[] | undefined): Finding {
  return eventFinding(code, c.ev, c.bank, rule, component, digestsOf(entries), c.digest, `${c.bank} digest ${c.digest} is not in ${rule}`);
}

function digestEntryMatches(entries: readonly DigestEntry[] | undefined, c: EventCheck): boolean {
  return digestEntryAllows(entries, c.ev.typeName, c.digest);
}

function imageEntryMatches(entries: readonly ImageEntry[] | undefined, c: EventCheck): boolean {
  return imageEntryAllows(entries, c.digest);
}

function textRule(code: FailureCode, rule: string, entries: readonly TextEntry[] | undefined, c: EventCheck, label: string): Finding[] {
  const text = eventText(c.ev);
  const readable = dataReadable(c);
  if (textEntryCandidates(entries, c.digest).some((e) => textEntryMatches(e, text, c.digest, readable))) return [];
  const component = `${label} ${describeEvent(c.ev)}`;
  // A text entry would have to read the text, and the text is not what was measured.
  if (c.dataVerified === false && text !== undefined && (entries ?? []).some((e) => e.digests === undefined)) return [unverifiedData(c, rule, component)];
  const expected = (entries ?? []).map((e) => (e.text !== undefined ? describeTextMatch(e.text) : { digests: e.digests }));
  const why = readable || text === undefined ? 'is not in ' + rule : `is not in ${rule} (its digest measures content outside the log, so only a digest entry can allow it)`;
  return [eventFinding(code, c.ev, c.bank, rule, component, expected, text ?? c.digest, why)];
}

export function checkComponent(cls: EventClass, c: EventCheck): Finding[] {
  const p = c.profile;
  switch (cls.kind) {
    case 'crtmVersion':
      return digestEntryMatches(p.crtmVersions, c) ? [] : [notInSet('crtm_version_not_allowed', c, 'crtmVersions', `S-CRTM version ${describeEvent(c.ev)}`, p.crtmVersions)];
    case 'firmware':
      return digestEntryMatches(p.firmware, c) ? [] : [notInSet('firmware_not_allowed', c, 'firmware', describeEvent(c.ev), p.firmware)];
    case 'driver':
      return digestEntryMatches(p.drivers, c) ? [] : [notInSet('driver_not_allowed', c, 'drivers', `driver ${describeEvent(c.ev)}`, p.drivers)];
    case 'bootConfig':
      return checkBootConfig(cls.variable, c);
    case 'bootApp': {
      // shim and bootloader are both pre-kernel stages with one failure code: either list allows either.
      const pre = cls.role === 'kernel' ? undefined : [p.bootChain?.shim, p.bootChain?.bootloader];
      if (pre === undefined ? imageEntryMatches(p.bootChain?.kernel, c) : pre.some((list) => imageEntryMatches(list, c))) return [];
      const entries = pre === undefined ? p.bootChain?.kernel : [...(p.bootChain?.shim ?? []), ...(p.bootChain?.bootloader ?? [])];
      const code = cls.role === 'kernel' ? 'kernel_not_allowed' : 'bootloader_not_allowed';
      return [notInSet(code, c, `bootChain.${cls.role}`, `${cls.role} EFI application ${imagePath(c.ev) ?? '(no path)'}`, entries)];
    }
    case 'grubCommand':
      return textRule('grub_command_not_allowed', 'grubCommands', p.grubCommands, c, 'grub command');
    case 'kernelCmdline':
      return textRule('cmdline_not_allowed', 'kernelCmdline', p.kernelCmdline, c, 'kernel command line');
    case 'bootFile': {
      const [code, rule, entries]: [FailureCode, string, ImageEntry[] | undefined] =
        cls.role === 'kernel'
          ? ['kernel_not_allowed', 'kernels', p.kernels]
          : cls.role === 'initrd'
            ? ['initrd_not_allowed', 'initrds', p.initrds]
            : ['event_not_allowed', 'bootFiles', p.bootFiles];
      return imageEntryMatches(entries, c) ? [] : [notInSet(code, c, rule, `${cls.role} ${describeEvent(c.ev)}`, entries)];
    }
    case 'separator': {
      const allowed = p.separators?.digests ?? [toHex(digest(c.bank, new Uint8Array(4)))];
      return allowed.includes(c.digest) ? [] : [notInSet('event_not_allowed', c, 'separators.digests', describeEvent(c.ev), [{ digests: allowed }])];
    }
    case 'other':
      return checkOther(cls.variable, c);
    default:
      return [];
  }
}

function checkBootConfig(variable: string | undefined, c: EventCheck): Finding[] {
  const bc = c.profile.bootConfig;
  const component = `boot configuration ${describeEvent(c.ev)}`;
  if (variable !== undefined) {
    if ((bc?.variables ?? []).some((v) => v.name === variable && v.digests.includes(c.digest))) return [];
    const lo = c.ev.decoded.kind === 'efi_variable' ? c.ev.decoded.loadOption : undefined;
    if (lo !== undefined && (bc?.bootOptions ?? []).length > 0 && c.dataVerified === false) return [unverifiedData(c, 'bootConfig.bootOptions', component)];
    if (lo !== undefined && dataReadable(c)) {
      const path = lo.devicePath.map((n) => n.text).join('/');
      const ok = (bc?.bootOptions ?? []).some(
        (o) => (o.description === undefined || textMatches(o.description, lo.description)) && (o.path === undefined || textMatches(o.path, path)),
      );
      if (ok) return [];
    }
    const expected = (bc?.variables ?? []).filter((v) => v.name === variable).flatMap((v) => v.digests);
    return [eventFinding('boot_config_not_allowed', c.ev, c.bank, 'bootConfig.variables', component, expected, c.digest, `${c.bank} digest ${c.digest} is not allowed for ${variable}`)];
  }
  if (digestEntryMatches(bc?.events, c)) return [];
  return [notInSet('boot_config_not_allowed', c, 'bootConfig.events', component, bc?.events)];
}

function checkOther(variable: string | undefined, c: EventCheck): Finding[] {
  const text = eventText(c.ev);
  const candidates = (c.profile.events ?? []).filter(
    (e) => e.pcr === c.ev.pcr && e.type === c.ev.typeName && (e.variable === undefined || e.variable === variable),
  );
  if (candidates.some((e) => textEntryMatches(e, text, c.digest, dataReadable(c)))) return [];
  if (c.dataVerified === false && text !== undefined && candidates.some((e) => e.text !== undefined && e.digests === undefined)) {
    return [unverifiedData(c, 'events', describeEvent(c.ev))];
  }
  const expected = candidates.map((e) => (e.text !== undefined ? describeTextMatch(e.text) : { digests: e.digests }));
  return [eventFinding('event_not_allowed', c.ev, c.bank, 'events', describeEvent(c.ev), expected, text ?? c.digest, 'is not described by the profile (deny by default)')];
}
