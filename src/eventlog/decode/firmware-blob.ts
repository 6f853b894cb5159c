/** UEFI_PLATFORM_FIRMWARE_BLOB (base, length) and UEFI_PLATFORM_FIRMWARE_BLOB2 (description first). */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';

type FirmwareBlob = Extract<DecodedEvent, { kind: 'firmware_blob' }>;

export function decodeFirmwareBlob(data: Uint8Array, baseOffset: number): FirmwareBlob {
  const r = new ByteReader(data, 'UEFI_PLATFORM_FIRMWARE_BLOB', 'le', baseOffset);
  const base = r.u64('BlobBase');
  const length = r.u64('BlobLength');
  r.expectEnd();
  return { kind: 'firmware_blob', base, length };
}

export function decodeFirmwareBlob2(data: Uint8Array, baseOffset: number): FirmwareBlob {
  const r = new ByteReader(data, 'UEFI_PLATFORM_FIRMWARE_BLOB2', 'le', baseOffset);
  const descSize = r.u8('BlobDescriptionSize');
  const desc = r.bytesView(descSize, 'BlobDescription');
  const base = r.u64('BlobBase');
  const length = r.u64('BlobLength');
  r.expectEnd();
  const description = Buffer.from(desc.buffer, desc.byteOffset, desc.byteLength).toString('latin1').replace(/\0+$/, '');
  return { kind: 'firmware_blob', base, length, description };
}
