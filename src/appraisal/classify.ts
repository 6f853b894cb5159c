/**
 * Which golden rule decides an event: by PCR, event type and decoded content. Classification never
 * allows anything by itself; it only picks the rule (and so the failure code). Paths in the log are
 * not measured, so they steer classification but are never a reason to allow.
 */
import type { EventLog, TcgEvent } from '../eventlog/types.ts';
import type { BootRole, GoldenProfile } from '../golden/schema.ts';

/** TCG PC Client event types used for classification (TCG PC Client PFP, section 10.4.1). */
export const EVT = {
  EV_POST_CODE: 0x1,
  EV_NO_ACTION: 0x3,
  EV_SEPARATOR: 0x4,
  EV_S_CRTM_CONTENTS: 0x7,
  EV_S_CRTM_VERSION: 0x8,
  EV_IPL: 0xd,
  EV_POST_CODE2: 0x13,
  EV_EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EV_EFI_VARIABLE_BOOT: 0x80000002,
  EV_EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EV_EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EV_EFI_RUNTIME_SERVICES_DRIVER: 0x80000005,
  EV_EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EV_EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
  EV_EFI_VARIABLE_BOOT2: 0x8000000c,
  EV_EFI_HCRTM_EVENT: 0x80000010,
  EV_EFI_VARIABLE_AUTHORITY: 0x800000e0,
  EV_EFI_SPDM_FIRMWARE_BLOB: 0x800000e1,
} as const;

export type FileRole = 'kernel' | 'initrd' | 'file';
export type SignatureDbName = 'pk' | 'kek' | 'db';

export type EventClass =
  | { kind: 'crtmVersion' }
  | { kind: 'firmware' }
  | { kind: 'bootConfig'; variable?: string }
  | { kind: 'driver' }
  | { kind: 'bootApp'; role: BootRole }
  | { kind: 'secureBootVar' }
  | { kind: 'signatureDb'; db: SignatureDbName }
  | { kind: 'dbx' }
  | { kind: 'authority'; variable?: string }
  | { kind: 'grubCommand' }
  | { kind: 'kernelCmdline' }
  | { kind: 'bootFile'; role: FileRole }
  | { kind: 'separator' }
  | { kind: 'other'; variable?: string };

/** Events that extend a PCR. EV_NO_ACTION and Windows' PCR 0xFFFFFFFF events never do. */
export function isMeasured(ev: TcgEvent): boolean {
  return ev.type !== EVT.EV_NO_ACTION && ev.pcr <= 23;
}

export function variableName(ev: TcgEvent): string | undefined {
  return ev.decoded.kind === 'efi_variable' ? ev.decoded.name : undefined;
}

export function eventText(ev: TcgEvent): string | undefined {
  return ev.decoded.kind === 'text' ? ev.decoded.text : undefined;
}

export function imagePath(ev: TcgEvent): string | undefined {
  return ev.decoded.kind === 'image_load' ? ev.decoded.path : undefined;
}

/** grub measures `kernel_cmdline: ...` (2.06+), `grub_kernel_cmdline ...` (older distro patches) and the `linux` command. */
const CMDLINE_RE = /^(?:kernel_cmdline:? |grub_kernel_cmdline |grub_cmd:? (?:linux|linuxefi|linux16) )/;

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return (parts[parts.length - 1] ?? p).toLowerCase();
}

function sameImagePath(a: string, b: string): boolean {
  // UEFI paths are case-insensitive and use backslashes; grub paths use slashes.
  return a.replace(/\//g, '\\').toLowerCase() === b.replace(/\//g, '\\').toLowerCase();
}

/** Role of a PCR 4 EFI application: a profile entry with the same path, then the file name, then position. */
export function bootAppRole(ev: TcgEvent, position: number, count: number, profile?: GoldenProfile): BootRole {
  const p = imagePath(ev);
  if (p !== undefined && p !== '') {
    const chain = profile?.bootChain;
    for (const role of ['shim', 'bootloader', 'kernel'] as const) {
      if (chain?.[role]?.some((e) => e.path !== undefined && sameImagePath(e.path, p))) return role;
    }
    const b = basename(p);
    if (/^shim/.test(b)) return 'shim';
    if (/^(?:grub|systemd-boot|sd-boot|bootmgfw|bootmgr)/.test(b)) return 'bootloader';
    if (/(?:vmlinu|bzimage|kernel)/.test(b) || /\\efi\\linux\\/i.test(p.replace(/\//g, '\\'))) return 'kernel';
  }
  // The last image of a chain of two or more is what the bootloader started: the kernel.
  return count >= 2 && position === count - 1 ? 'kernel' : 'bootloader';
}

/** Role of a PCR 9 file read by the bootloader (grub logs its path, or "grub_linuxefi Kernel"). */
export function bootFileRole(ev: TcgEvent, profile?: GoldenProfile): FileRole {
  const t = eventText(ev);
  if (t === undefined) return 'file';
  for (const [role, list] of [
    ['kernel', profile?.kernels],
    ['initrd', profile?.initrds],
    ['file', profile?.bootFiles],
  ] as const) {
    if (list?.some((e) => e.path !== undefined && e.path === t)) return role;
  }
  const b = basename(t);
  if (/(?:initrd|initramfs)/.test(b)) return 'initrd';
  if (/(?:vmlinu|bzimage|kernel)/.test(b)) return 'kernel';
  return 'file';
}

/** Classify every event of the log (undefined for events that are not measured). */
export function classifyEvents(log: EventLog, profile?: GoldenProfile): (EventClass | undefined)[] {
  const apps = log.events.filter((e) => isMeasured(e) && e.pcr === 4 && e.type === EVT.EV_EFI_BOOT_SERVICES_APPLICATION);
  // Positions by map, not indexOf: a hostile log of 60,000 applications would cost 60,000² steps.
  const position = new Map(apps.map((e, i) => [e, i]));
  return log.events.map((ev) => {
    if (!isMeasured(ev)) return undefined;
    return classifyEvent(ev, position.get(ev) ?? -1, apps.length, profile);
  });
}

function classifyEvent(ev: TcgEvent, appPosition: number, appCount: number, profile?: GoldenProfile): EventClass {
  const t = ev.type;
  if (t === EVT.EV_SEPARATOR) return { kind: 'separator' };
  const variable = variableName(ev);
  switch (ev.pcr) {
    case 0:
      if (t === EVT.EV_S_CRTM_VERSION) return { kind: 'crtmVersion' };
      return { kind: 'firmware' };
    case 1:
      return variable !== undefined ? { kind: 'bootConfig', variable } : { kind: 'bootConfig' };
    case 2:
      return { kind: 'driver' };
    case 4:
      if (t === EVT.EV_EFI_BOOT_SERVICES_APPLICATION) return { kind: 'bootApp', role: bootAppRole(ev, appPosition, appCount, profile) };
      break;
    case 7:
      if (t === EVT.EV_EFI_VARIABLE_DRIVER_CONFIG && variable !== undefined) {
        if (variable === 'SecureBoot') return { kind: 'secureBootVar' };
        if (variable === 'PK') return { kind: 'signatureDb', db: 'pk' };
        if (variable === 'KEK') return { kind: 'signatureDb', db: 'kek' };
        if (variable === 'db') return { kind: 'signatureDb', db: 'db' };
        if (variable === 'dbx') return { kind: 'dbx' };
      }
      if (t === EVT.EV_EFI_VARIABLE_AUTHORITY) return variable !== undefined ? { kind: 'authority', variable } : { kind: 'authority' };
      break;
    case 8:
      if (t === EVT.EV_IPL) {
        const text = eventText(ev);
        if (text !== undefined) return CMDLINE_RE.test(text) ? { kind: 'kernelCmdline' } : { kind: 'grubCommand' };
      }
      break;
    case 9:
      if (t === EVT.EV_IPL && eventText(ev) !== undefined) return { kind: 'bootFile', role: bootFileRole(ev, profile) };
      break;
    case 12:
      // systemd-boot / systemd-stub measure the kernel command line (UTF-16) into PCR 12.
      if (t === EVT.EV_IPL && eventText(ev) !== undefined) return { kind: 'kernelCmdline' };
      break;
    default:
      break;
  }
  return variable !== undefined ? { kind: 'other', variable } : { kind: 'other' };
}
