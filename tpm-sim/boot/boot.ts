/**
 * Boots a Platform: the measurements a UEFI firmware + shim + grub + Linux boot makes, in the order
 * real machines make them (modelled on OVMF/GCE and Ubuntu/RHEL logs), as a pure list of events.
 * Event data hashes to the digest wherever the PC Client PFP says it must (separators, EFI actions,
 * variables, GPT); images and files are measured by content; grub's PCR 8 strings are measured
 * without their "grub_cmd: " / "kernel_cmdline: " prefix and NUL, exactly as grub does.
 */
import { createHash } from 'node:crypto';
import type { HashAlg } from '../../src/tpm/alg.ts';
import { concatBytes } from '../../src/util/encoding.ts';
import { SIM_BANKS, type EventDigests } from '../tpm/pcr-state.ts';
import type { SimTpm } from '../tpm/sim-tpm.ts';
import {
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  SHIM_LOCK_GUID,
  SIM_OWNER_GUID,
  ascii,
  devicePath,
  firmwareBlob,
  gptData,
  imageLoadEvent,
  loadOption,
  signatureData,
  signatureDatabase,
  uefiVariableData,
  utf16le,
} from './efi.ts';
import { EV, encodeEventLog, type SimEvent } from './event-log.ts';
import type { Platform } from './platform.ts';

export const LOG_BANKS: readonly HashAlg[] = SIM_BANKS;

export function digestsOf(bytes: Uint8Array): EventDigests {
  const out: EventDigests = {};
  for (const b of SIM_BANKS) out[b] = new Uint8Array(createHash(b).update(bytes).digest());
  return out;
}

function u16le(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
}

function bootVar(n: number): string {
  return `Boot${n.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The measured-boot events of one boot of `p`, in order (the Spec ID header is added on encoding). */
export function bootEvents(p: Platform): SimEvent[] {
  const ev: SimEvent[] = [];
  const measure = (pcr: number, type: number, data: Uint8Array, measured: Uint8Array = data, component?: string): void => {
    ev.push({ pcr, type, data, digests: digestsOf(measured), ...(component ? { component } : {}) });
  };
  const noAction = (pcr: number, data: Uint8Array): void => {
    ev.push({ pcr, type: EV.EV_NO_ACTION, data, digests: {} });
  };
  let loadAddress = 0x7e000000n;
  const image = (pcr: number, type: number, contents: Uint8Array, path: Uint8Array, component: string): void => {
    loadAddress -= 0x100000n;
    measure(pcr, type, imageLoadEvent(loadAddress, BigInt(contents.length), path), contents, component);
  };

  // SEC/PEI: the S-CRTM and the firmware volumes (PCR 0).
  noAction(0, concatBytes(ascii('StartupLocality', true), Uint8Array.of(p.startupLocality)));
  measure(0, EV.EV_S_CRTM_VERSION, utf16le(p.firmware.crtmVersion, true), undefined, 'crtm');
  for (const blob of p.firmware.blobs) {
    measure(0, EV.EV_EFI_PLATFORM_FIRMWARE_BLOB, firmwareBlob(blob.base, BigInt(blob.contents.length)), blob.contents, 'firmware');
  }

  // DXE: Secure Boot configuration (PCR 7), option ROMs (PCR 2).
  const sb = p.secureBoot;
  const variable = (pcr: number, type: number, guid: string, name: string, data: Uint8Array, component?: string): void => {
    const full = uefiVariableData(guid, name, data);
    // EV_EFI_VARIABLE_BOOT measures only VariableData (what EDK2 and every real log do); the others the whole structure.
    measure(pcr, type, full, type === EV.EV_EFI_VARIABLE_BOOT ? data : full, component);
  };
  variable(7, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, EFI_GLOBAL_VARIABLE, 'SecureBoot', Uint8Array.of(sb.enabled ? 1 : 0), 'secureboot');
  variable(7, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, EFI_GLOBAL_VARIABLE, 'PK', signatureDatabase(sb.pk, []), 'pk');
  variable(7, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, EFI_GLOBAL_VARIABLE, 'KEK', signatureDatabase(sb.kek, []), 'kek');
  variable(7, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, EFI_IMAGE_SECURITY_DATABASE, 'db', signatureDatabase(sb.db.certs, sb.db.sha256), 'db');
  variable(7, EV.EV_EFI_VARIABLE_DRIVER_CONFIG, EFI_IMAGE_SECURITY_DATABASE, 'dbx', signatureDatabase(sb.dbx.certs, sb.dbx.sha256), 'dbx');
  measure(7, EV.EV_SEPARATOR, new Uint8Array(4));
  for (const d of p.drivers) image(2, EV.EV_EFI_BOOT_SERVICES_DRIVER, d.image, devicePath(d.devicePath), 'driver');

  // BDS: boot variables (PCR 1), then the boot attempt.
  const order = concatBytes(...p.boot.order.map(u16le));
  variable(1, EV.EV_EFI_VARIABLE_BOOT, EFI_GLOBAL_VARIABLE, 'BootOrder', order, 'bootorder');
  for (const n of p.boot.order) {
    const opt = p.boot.options.find((o) => o.number === n);
    if (!opt) continue;
    variable(1, EV.EV_EFI_VARIABLE_BOOT, EFI_GLOBAL_VARIABLE, bootVar(n), loadOption(opt.description, devicePath(opt.devicePath)), 'bootoption');
  }
  measure(4, EV.EV_EFI_ACTION, ascii('Calling EFI Application from Boot Option', false));
  for (const pcr of [0, 1, 2, 3, 4, 5, 6]) measure(pcr, EV.EV_SEPARATOR, new Uint8Array(4));

  // shim, verified by a db certificate.
  if (sb.enabled) {
    variable(7, EV.EV_EFI_VARIABLE_AUTHORITY, EFI_IMAGE_SECURITY_DATABASE, 'db', signatureData(SIM_OWNER_GUID, sb.shimAuthority), 'authority');
  }
  measure(5, EV.EV_EFI_GPT_EVENT, gptData(p.disk.guid, p.disk.lastLba, p.disk.partitions));
  image(4, EV.EV_EFI_BOOT_SERVICES_APPLICATION, p.shim.contents, devicePath([...p.disk.espDevicePath, { kind: 'file', path: p.shim.path }]), 'shim');
  measure(14, EV.EV_IPL, ascii('MokList', true), p.mokList, 'moklist');
  measure(14, EV.EV_IPL, ascii('MokListX', true), p.mokListX, 'moklistx');
  if (sb.enabled) {
    variable(7, EV.EV_EFI_VARIABLE_AUTHORITY, SHIM_LOCK_GUID, 'SbatLevel', ascii(sb.sbatLevel, false), 'sbatlevel');
  }

  // grub, verified by shim's vendor certificate.
  image(4, EV.EV_EFI_BOOT_SERVICES_APPLICATION, p.grub.contents, devicePath([{ kind: 'file', path: p.grub.path }]), 'bootloader');
  if (sb.enabled) variable(7, EV.EV_EFI_VARIABLE_AUTHORITY, SHIM_LOCK_GUID, 'Shim', sb.vendorCert, 'authority');
  const grubFile = (f: { path: string; contents: Uint8Array }, component: string): void =>
    measure(9, EV.EV_IPL, ascii(f.path, true), f.contents, component);
  const grubString = (prefix: string, s: string, component: string): void =>
    measure(8, EV.EV_IPL, ascii(`${prefix}${s}`, true), ascii(s, false), component);
  grubFile(p.grubConfig, 'grubcfg');
  for (const c of p.grubCommands) grubString('grub_cmd: ', c, 'grubcmd');

  // linux / initrd: grub reads (PCR 9) and measures the command line (PCR 8), then starts the kernel image (PCR 4).
  grubFile(p.kernel, 'kernel');
  grubString('kernel_cmdline: ', p.kernelCmdline, 'cmdline');
  grubFile(p.initrd, 'initrd');
  image(4, EV.EV_EFI_BOOT_SERVICES_APPLICATION, p.kernel.contents, devicePath([{ kind: 'file', path: p.kernel.path.replace(/\//g, '\\') }]), 'kernel');

  // The kernel's EFI stub leaves boot services.
  measure(5, EV.EV_EFI_ACTION, ascii('Exit Boot Services Invocation', false));
  measure(5, EV.EV_EFI_ACTION, ascii('Exit Boot Services Returned with Success', false));
  return ev;
}

/** Replays events into the TPM (what firmware, shim and grub do with TPM2_PCR_Extend as they log). */
export function extendTpm(tpm: SimTpm, events: SimEvent[]): void {
  for (const e of events) if (e.type !== EV.EV_NO_ACTION) tpm.extend(e.pcr, e.digests);
}

export interface BootResult {
  events: SimEvent[];
  eventLog: Uint8Array;
}

/** Power on `tpm`'s machine with platform `p`: TPM startup at the platform's locality, measure, log. */
export function bootPlatform(tpm: SimTpm, p: Platform, opts: { reboot: boolean }): BootResult {
  if (opts.reboot) tpm.reboot(p.startupLocality);
  const events = bootEvents(p);
  extendTpm(tpm, events);
  return { events, eventLog: encodeEventLog(LOG_BANKS, events) };
}
