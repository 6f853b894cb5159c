/** UEFI_IMAGE_LOAD_EVENT (EV_EFI_BOOT_SERVICES_APPLICATION/_DRIVER, EV_EFI_RUNTIME_SERVICES_DRIVER). */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';
import { devicePathFilePath, parseDevicePath } from './device-path.ts';

type ImageLoad = Extract<DecodedEvent, { kind: 'image_load' }>;

export function decodeImageLoad(data: Uint8Array, baseOffset: number): ImageLoad {
  const r = new ByteReader(data, 'UEFI_IMAGE_LOAD_EVENT', 'le', baseOffset);
  const imageLocationInMemory = r.u64('ImageLocationInMemory');
  const imageLengthInMemory = r.u64('ImageLengthInMemory');
  const imageLinkTimeAddress = r.u64('ImageLinkTimeAddress');
  const dpLen = r.u64('LengthOfDevicePath');
  if (dpLen > BigInt(r.remaining)) r.fail('LengthOfDevicePath', `${dpLen} exceeds the ${r.remaining} bytes that remain`, r.offset - 8);
  const dpAt = r.absoluteOffset;
  const devicePath = parseDevicePath(r.bytesView(Number(dpLen), 'DevicePath'), dpAt);
  const out: ImageLoad = { kind: 'image_load', imageLocationInMemory, imageLengthInMemory, imageLinkTimeAddress, devicePath };
  const path = devicePathFilePath(devicePath);
  if (path !== undefined) out.path = path;
  return out;
}
