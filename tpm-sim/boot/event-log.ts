/**
 * Writes a crypto-agile TCG PC Client event log: a TCG_PCR_EVENT carrying the Spec ID Event03
 * header, then TCG_PCR_EVENT2 records with one digest per declared bank (all little-endian).
 */
import { DIGEST_SIZE, hashAlgId, type HashAlg } from '../../src/tpm/alg.ts';
import { ByteWriter } from '../../src/util/bytes.ts';
import { ascii } from './efi.ts';
import type { EventDigests } from '../tpm/pcr-state.ts';

export const EV = {
  EV_POST_CODE: 0x1,
  EV_NO_ACTION: 0x3,
  EV_SEPARATOR: 0x4,
  EV_S_CRTM_VERSION: 0x8,
  EV_IPL: 0xd,
  EV_EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EV_EFI_VARIABLE_BOOT: 0x80000002,
  EV_EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EV_EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EV_EFI_GPT_EVENT: 0x80000006,
  EV_EFI_ACTION: 0x80000007,
  EV_EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EV_EFI_VARIABLE_AUTHORITY: 0x800000e0,
} as const;

/** One measured (or EV_NO_ACTION) event as the simulator records it. */
export interface SimEvent {
  pcr: number;
  type: number;
  digests: EventDigests;
  data: Uint8Array;
  /** What this event measures, for scenarios that edit the log (e.g. 'kernel'). */
  component?: string;
}

/** TCG_EfiSpecIdEvent ("Spec ID Event03"): PC Client, spec 2.0 errata 0, UINTN 64-bit. */
export function specIdEvent(banks: readonly HashAlg[]): Uint8Array {
  const w = new ByteWriter('le').bytes(ascii('Spec ID Event03', true)).u32(0).u8(0).u8(2).u8(0).u8(2).u32(banks.length);
  for (const b of banks) w.u16(hashAlgId(b)).u16(DIGEST_SIZE[b]);
  return w.u8(0).finish();
}

export function encodeEventLog(banks: readonly HashAlg[], events: SimEvent[]): Uint8Array {
  const spec = specIdEvent(banks);
  const w = new ByteWriter('le').u32(0).u32(EV.EV_NO_ACTION).bytes(new Uint8Array(20)).u32(spec.length).bytes(spec);
  for (const e of events) {
    w.u32(e.pcr).u32(e.type).u32(banks.length);
    for (const b of banks) {
      const d = e.digests[b] ?? (e.type === EV.EV_NO_ACTION ? new Uint8Array(DIGEST_SIZE[b]) : undefined);
      if (!d) throw new RangeError(`event type 0x${e.type.toString(16)} on PCR ${e.pcr} lacks a ${b} digest`);
      w.u16(hashAlgId(b)).bytes(d);
    }
    w.u32(e.data.length).bytes(e.data);
  }
  return w.finish();
}
