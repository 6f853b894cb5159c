/**
 * Event data decoding by EventType. Decoding never fails a parse: a decoder that cannot read its
 * structure yields {kind:'raw'} and the reason, so the log still replays and appraisal can refuse.
 */
import { ParseError } from '../../util/errors.ts';
import { EV } from '../event-types.ts';
import type { DecodedEvent } from '../types.ts';
import { decodeEfiVariable } from './efi-variable.ts';
import { decodeImageLoad } from './image-load.ts';
import { decodeFirmwareBlob, decodeFirmwareBlob2 } from './firmware-blob.ts';
import { decodeGpt } from './gpt.ts';
import { decodeNoAction } from './no-action.ts';
import { decodeAnyText, decodeAscii, decodeCrtmVersion, decodeIpl } from './text.ts';
import { decodeSeparator } from './separator.ts';
import { decodeEventTag } from './event-tag.ts';
import { decodeHandoffTables } from './handoff-tables.ts';
import { asText } from './strings.ts';

type Decoder = (data: Uint8Array, baseOffset: number, pcr: number) => DecodedEvent;

const RAW: DecodedEvent = { kind: 'raw' };

/** EV_POST_CODE: a string ("POST CODE", "ACPI DATA", ...) or a UEFI_PLATFORM_FIRMWARE_BLOB. */
const decodePostCode: Decoder = (d, at) => {
  const t = asText(d);
  if (t !== null && d.length !== 16) return { kind: 'text', ...t };
  return d.length === 16 ? decodeFirmwareBlob(d, at) : decodeAnyText(d);
};

/** Optional strings: text when the bytes are text, raw otherwise (not an error). */
const textOrRaw: Decoder = (d) => {
  const t = asText(d);
  return t === null ? RAW : { kind: 'text', ...t };
};

const DECODERS = new Map<number, Decoder>([
  [EV.EV_NO_ACTION, (d, at) => decodeNoAction(d, at)],
  [EV.EV_SEPARATOR, (d) => decodeSeparator(d)],
  [EV.EV_S_CRTM_VERSION, (d) => decodeCrtmVersion(d)],
  [EV.EV_S_CRTM_CONTENTS, textOrRaw],
  [EV.EV_CPU_MICROCODE, textOrRaw],
  [EV.EV_PLATFORM_CONFIG_FLAGS, textOrRaw],
  [EV.EV_POST_CODE, decodePostCode],
  [EV.EV_ACTION, (d) => decodeAscii(d)],
  [EV.EV_EFI_ACTION, (d) => decodeAscii(d)],
  [EV.EV_OMIT_BOOT_DEVICE_EVENTS, (d) => decodeAscii(d)],
  [EV.EV_IPL, (d) => decodeIpl(d)],
  [EV.EV_COMPACT_HASH, textOrRaw],
  [EV.EV_TABLE_OF_DEVICES, () => RAW],
  [EV.EV_NONHOST_INFO, () => RAW],
  [EV.EV_EVENT_TAG, (d, at) => decodeEventTag(d, at)],
  [EV.EV_EFI_HCRTM_EVENT, (d) => ({ kind: 'hcrtm', text: decodeAscii(d).text })],
  [EV.EV_EFI_PLATFORM_FIRMWARE_BLOB, (d, at) => decodeFirmwareBlob(d, at)],
  [EV.EV_EFI_PLATFORM_FIRMWARE_BLOB2, (d, at) => decodeFirmwareBlob2(d, at)],
  [EV.EV_EFI_VARIABLE_DRIVER_CONFIG, (d, at) => decodeEfiVariable(d, at, false)],
  [EV.EV_EFI_VARIABLE_BOOT, (d, at) => decodeEfiVariable(d, at, false)],
  [EV.EV_EFI_VARIABLE_BOOT2, (d, at) => decodeEfiVariable(d, at, false)],
  [EV.EV_EFI_VARIABLE_AUTHORITY, (d, at) => decodeEfiVariable(d, at, true)],
  [EV.EV_EFI_BOOT_SERVICES_APPLICATION, (d, at) => decodeImageLoad(d, at)],
  [EV.EV_EFI_BOOT_SERVICES_DRIVER, (d, at) => decodeImageLoad(d, at)],
  [EV.EV_EFI_RUNTIME_SERVICES_DRIVER, (d, at) => decodeImageLoad(d, at)],
  [EV.EV_EFI_GPT_EVENT, (d, at) => decodeGpt(d, at)],
  [EV.EV_EFI_GPT_EVENT2, (d, at) => decodeGpt(d, at)],
  [EV.EV_EFI_HANDOFF_TABLES, (d, at) => decodeHandoffTables(d, at, false)],
  [EV.EV_EFI_HANDOFF_TABLES2, (d, at) => decodeHandoffTables(d, at, true)],
]);

export function decodeEvent(type: number, pcr: number, data: Uint8Array, dataOffset: number): { decoded: DecodedEvent; decodeError?: string } {
  const decoder = DECODERS.get(type);
  if (decoder === undefined) return { decoded: RAW };
  try {
    return { decoded: decoder(data, dataOffset, pcr) };
  } catch (err) {
    const why = err instanceof ParseError ? err.message : err instanceof Error ? err.message : String(err);
    return { decoded: { kind: 'raw' }, decodeError: why };
  }
}
