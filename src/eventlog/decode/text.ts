/** Text-carrying events: EV_EFI_ACTION, EV_IPL, EV_S_CRTM_VERSION, EV_POST_CODE, EV_OMIT_BOOT_DEVICE_EVENTS... */
import type { DecodedEvent } from '../types.ts';
import { asAsciiText, asText, asUtf16Text } from './strings.ts';
import { guidToString } from './guid.ts';

type Text = Extract<DecodedEvent, { kind: 'text' }>;

/** ASCII only (EV_EFI_ACTION, EV_ACTION, EV_OMIT_BOOT_DEVICE_EVENTS are defined as ASCII strings). */
export function decodeAscii(data: Uint8Array): Text {
  const t = asAsciiText(data);
  if (t === null) throw new Error('not an ASCII string');
  return { kind: 'text', ...t };
}

/**
 * EV_IPL: grub writes ASCII ("grub_cmd: ...", "kernel_cmdline: ...", older "grub_cmd ..."),
 * systemd-boot writes UTF-16LE (the kernel command line in PCR 12); other EV_IPL data
 * (shim's MokList names, grub's file paths) are ASCII too. Binary EV_IPL stays raw.
 */
export function decodeAnyText(data: Uint8Array): Text {
  const t = asText(data);
  if (t === null) throw new Error('not an ASCII or UTF-16LE string');
  return { kind: 'text', ...t };
}

/** EV_S_CRTM_VERSION: a UTF-16 (or ASCII) version string, or a 16-byte GUID on some platforms. */
export function decodeCrtmVersion(data: Uint8Array): DecodedEvent {
  const t = asText(data);
  if (t !== null) return { kind: 'text', ...t };
  if (data.length === 16) return { kind: 'text', text: guidToString(data), encoding: 'ascii', nulTerminated: false };
  throw new Error('neither a string nor a GUID');
}

/**
 * EV_IPL: text when it is text. Older systemd-boot logs its UTF-16LE command line with only the
 * first byte of the NUL terminator (quirks.ts "systemd-boot-cmdline-short-eventsize"), so an odd
 * length is read without its last byte. Binary EV_IPL data stays raw.
 */
export function decodeIpl(data: Uint8Array): DecodedEvent {
  const t = asText(data) ?? (data.length % 2 === 1 ? asUtf16Text(data.subarray(0, data.length - 1)) : null);
  return t === null ? { kind: 'raw' } : { kind: 'text', ...t };
}
