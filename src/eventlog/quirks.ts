/**
 * Known ways in which real firmware, shim and boot loaders depart from the digest forms of
 * digest-conventions.ts (the PFP's and EDK2's), each naming the firmware, PCR and reason. This is
 * the ONE place such knowledge lives: the digest check asks this table and never special-cases
 * firmware itself.
 *
 * A 'digest' quirk accepts one more preimage derived from the same event data, so the data stays
 * verified. An 'opaque' quirk names a deviation whose digest is not derived from the data at all:
 * the data stays unverified, and the quirk only explains why. Neither can hide a measurement, since
 * replay always uses the logged digest.
 */
import { EV } from './event-types.ts';
import { concatBytes } from '../util/encoding.ts';
import type { EventLog, TcgEvent } from './types.ts';

export interface FirmwareQuirk {
  /** Stable identifier, reported when a quirk explains an event. */
  id: string;
  /** Firmware / software that produces it and where it was documented. */
  source: string;
  /** Real logs in /work/shared/fixtures/real-eventlogs that show it. */
  seenIn: readonly string[];
  pcrs: readonly number[];
  eventTypes: readonly number[];
  description: string;
  /** The alternative data form that is accepted. */
  accepted: string;
  /**
   * 'digest': `alternatives` returns extra preimages for the digest check.
   * 'opaque': the digest is known not to be derived from the data (`appliesTo` says when).
   * 'parse': handled by the parser when reading the structure (documented here).
   */
  kind: 'digest' | 'opaque' | 'parse';
  alternatives?: (event: TcgEvent) => Uint8Array[];
  /**
   * For 'digest': when it yields a preimage, try it before the genuine forms. A grub prefix in the
   * data says the prefix-less text is what was hashed; preimages differ, so at most one form
   * matches and the order changes only how many hashes are spent.
   */
  tryFirst?: boolean;
  /** For 'opaque': whether this log shows the firmware the quirk names. */
  appliesTo?: (event: TcgEvent, log: EventLog) => boolean;
}

/** The measured part of a grub EV_IPL string after its log-only prefix, or null when the prefix is absent. */
function afterPrefix(data: Uint8Array, prefixes: readonly string[]): Uint8Array | null {
  for (const p of prefixes) {
    if (data.length < p.length) continue;
    let ok = true;
    for (let i = 0; i < p.length; i++) if (data[i] !== p.charCodeAt(i)) ok = false;
    if (ok) return data.subarray(p.length);
  }
  return null;
}

function withoutTrailingNul(b: Uint8Array): Uint8Array {
  return b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;
}

export const FIRMWARE_QUIRKS: readonly FirmwareQuirk[] = [
  {
    id: 'shim-authority-extra-byte',
    source: 'shim before 15.3 (go-attestation issue #157 / PR #158): its measured size for the vendor/db certificate is one byte shorter than the event it logs',
    seenIn: ['go-attestation sb_cert_eventlog (events 12, 14)', 'go-tpm-tools debian-10.bin (event 23)', 'gce-cos-85 event_log.bin (events 24, 41)'],
    pcrs: [7],
    eventTypes: [EV.EV_EFI_VARIABLE_AUTHORITY],
    description: 'UEFI_VARIABLE_DATA whose VariableData is a bare DER certificate, followed by bytes past VariableDataLength; the digest covers all but the last byte of the event data.',
    accepted: 'H(event data without its last byte)',
    kind: 'digest',
    alternatives: (e) => (e.data.length > 0 ? [e.data.subarray(0, e.data.length - 1)] : []),
  },
  {
    id: 'grub-ipl-prefix-no-nul',
    source: 'upstream grub 2.04+ (Ubuntu, COS): prefixes "grub_cmd: ", "kernel_cmdline: ", "module_cmdline: "; Red Hat grub 2.02 (RHEL 8) for its "grub_kernel_cmdline " event. The prefix is written to the log only',
    seenIn: ['go-tpm-tools ubuntu-2104-no-secure-boot.bin, eventlogwithsp800155.bin, rhel8-uefi.bin (event 78)', 'gce-cos-85 event_log.bin'],
    pcrs: [8],
    eventTypes: [EV.EV_IPL],
    description: 'The logged string is prefix + text + NUL; the digest covers text without the prefix and without the NUL.',
    accepted: 'H(text after the prefix, trailing NUL removed)',
    kind: 'digest',
    tryFirst: true,
    alternatives: (e) => {
      const t = afterPrefix(e.data, ['grub_cmd: ', 'kernel_cmdline: ', 'module_cmdline: ', 'grub_kernel_cmdline ']);
      return t === null ? [] : [withoutTrailingNul(t)];
    },
  },
  {
    id: 'grub-ipl-prefix-with-nul',
    source: 'Red Hat / Fedora grub 2.02 TPM patches (RHEL 8): commands logged with the prefix "grub_cmd " (no colon)',
    seenIn: ['go-tpm-tools rhel8-uefi.bin'],
    pcrs: [8],
    eventTypes: [EV.EV_IPL],
    description: 'The logged string is prefix + text + NUL; the digest covers text without the prefix but including the NUL.',
    accepted: 'H(text after the prefix, trailing NUL kept)',
    kind: 'digest',
    tryFirst: true,
    alternatives: (e) => {
      const t = afterPrefix(e.data, ['grub_cmd ']);
      return t === null ? [] : [t];
    },
  },
  {
    id: 'systemd-boot-cmdline-short-eventsize',
    source: 'older systemd-boot (before v250) measuring the kernel command line into PCR 8',
    seenIn: ['go-tpm-tools arch-linux-workstation.bin (event 24)'],
    pcrs: [8, 12],
    eventTypes: [EV.EV_IPL],
    description: 'EventSize is one byte short: the log holds the UTF-16LE command line and only the first byte of its NUL terminator, while the digest covers the whole NUL-terminated string.',
    accepted: 'H(event data ‖ 0x00) when the data length is odd and ends in 0x00',
    kind: 'digest',
    alternatives: (e) => (e.data.length % 2 === 1 && e.data[e.data.length - 1] === 0 ? [concatBytes(e.data, Uint8Array.of(0))] : []),
  },
  {
    id: 's-crtm-version-boot-guard',
    source: 'Intel Boot Guard platforms (an Intel server and a Google Distributed Cloud host): the Boot Guard ACM measures the S-CRTM and logs "Boot Guard Measured S-CRTM"; the EV_S_CRTM_VERSION that follows carries the BIOS version string, but its digest is not the hash of that string. go-attestation never checks this digest; tpm2-tools only warns (lib/tpm2_eventlog.c verify_digests)',
    seenIn: ['trustauthority-client-for-go binary_bios_measurements12 (event 2, legacy SHA-1 format)', 'go-tpm-tools gdc-host.bin (event 3)'],
    pcrs: [0],
    eventTypes: [EV.EV_S_CRTM_VERSION],
    description: 'The digest of EV_S_CRTM_VERSION is not derived from its data, so the version string is unverified; a golden profile pins the digest itself (crtmVersions).',
    accepted: 'any digest, with the version string marked unverified',
    kind: 'opaque',
    appliesTo: (_e, log) => log.events.some((x) => x.pcr === 0 && x.type === EV.EV_S_CRTM_CONTENTS && isBootGuardCrtm(x.data)),
  },
  {
    id: 'specid-vendorinfo-outside-eventsize',
    source: 'firmware writing a TCG_EfiSpecIdEvent whose EventSize stops before vendorInfo (tpm2-tools fixture specid-vendordata.bin)',
    seenIn: ['tpm2-tools specid-vendordata.bin'],
    pcrs: [0],
    eventTypes: [EV.EV_NO_ACTION],
    description: 'vendorInfoSize counts bytes that follow the Spec ID event instead of lying inside EventSize.',
    accepted: 'the parser reads the missing vendorInfo bytes from after the event, then continues with the first TCG_PCR_EVENT2',
    kind: 'parse',
  },
];

const BOOT_GUARD_CRTM = 'Boot Guard Measured S-CRTM';

function isBootGuardCrtm(data: Uint8Array): boolean {
  if (data.length < BOOT_GUARD_CRTM.length) return false;
  for (let i = 0; i < BOOT_GUARD_CRTM.length; i++) if (data[i] !== BOOT_GUARD_CRTM.charCodeAt(i)) return false;
  return true;
}

/** Digest quirks that apply to this event's PCR and type. */
export function quirksFor(event: TcgEvent): FirmwareQuirk[] {
  const byType = DIGEST_QUIRKS_BY_TYPE.get(event.type);
  return byType === undefined ? [] : byType.filter((q) => q.pcrs.includes(event.pcr));
}

/** Digest quirks by event type, built once: the consistency check asks for every checkable event. */
const DIGEST_QUIRKS_BY_TYPE = new Map<number, FirmwareQuirk[]>();
for (const q of FIRMWARE_QUIRKS) {
  if (q.kind !== 'digest') continue;
  for (const t of q.eventTypes) DIGEST_QUIRKS_BY_TYPE.set(t, [...(DIGEST_QUIRKS_BY_TYPE.get(t) ?? []), q]);
}

/** The 'opaque' quirk that explains this event's unverifiable digest, if one applies. */
export function opaqueQuirkFor(event: TcgEvent, log: EventLog): FirmwareQuirk | undefined {
  return FIRMWARE_QUIRKS.find((q) => q.kind === 'opaque' && q.pcrs.includes(event.pcr) && q.eventTypes.includes(event.type) && q.appliesTo?.(event, log) === true);
}
