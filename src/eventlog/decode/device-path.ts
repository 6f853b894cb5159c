/** EFI_DEVICE_PATH_PROTOCOL node chains (UEFI spec §10), with a best-effort text form of common nodes. */
import { ByteReader } from '../../util/bytes.ts';
import type { DevicePathNode } from '../types.ts';
import { guidToString } from './guid.ts';
import { ucs2ToString } from './strings.ts';

const END_TYPE = 0x7f;
const END_ENTIRE = 0xff;
const MAX_NODES = 512;

const hex = (n: number | bigint): string => `0x${n.toString(16).toUpperCase()}`;

/** Parses nodes until the End-Entire node or the end of the bytes. */
export function parseDevicePath(bytes: Uint8Array, baseOffset: number): DevicePathNode[] {
  const r = new ByteReader(bytes, 'EFI_DEVICE_PATH_PROTOCOL', 'le', baseOffset);
  const nodes: DevicePathNode[] = [];
  while (r.remaining > 0) {
    if (nodes.length >= MAX_NODES) r.fail('Length', `more than ${MAX_NODES} nodes`);
    const at = r.offset;
    const type = r.u8('Type');
    const subType = r.u8('SubType');
    const length = r.u16('Length');
    if (length < 4) r.fail('Length', `node length ${length} is below the 4-byte header`, at + 2);
    const data = r.bytesView(length - 4, 'Data');
    nodes.push({ type, subType, data, text: nodeText(type, subType, data) });
    if (type === END_TYPE && subType === END_ENTIRE) break;
  }
  return nodes;
}

/** The file path carried by Media/FilePath nodes (several nodes concatenate), if any. */
export function devicePathFilePath(nodes: readonly DevicePathNode[]): string | undefined {
  const parts = nodes.filter((n) => n.type === 4 && n.subType === 4).map((n) => ucs2ToString(n.data));
  if (parts.length === 0) return undefined;
  return parts.join('').replace(/\\\\+/g, '\\');
}

export function devicePathText(nodes: readonly DevicePathNode[]): string {
  return nodes.filter((n) => n.type !== END_TYPE).map((n) => n.text).join('/');
}

function generic(type: number, subType: number, d: Uint8Array): string {
  return `Path(${type},${subType},${Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex')})`;
}

// Little-endian field readers over node data; callers check the node length first.
function rd(d: Uint8Array, o: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (d[o + i] ?? 0);
  return v;
}

// Module-level (not closures per node): nodeText runs for every device-path node of every event.
const u8 = (d: Uint8Array, o: number): number => rd(d, o, 1);
const u16 = (d: Uint8Array, o: number): number => rd(d, o, 2);
const u32 = (d: Uint8Array, o: number): number => rd(d, o, 4);
const u64 = (d: Uint8Array, o: number): bigint => (BigInt(rd(d, o + 4, 4)) << 32n) | BigInt(rd(d, o, 4));
const guid = (d: Uint8Array, o: number): string => guidToString(d, o);

function nodeText(type: number, subType: number, d: Uint8Array): string {
  switch (type) {
    case 0x01: // Hardware
      if (subType === 0x01 && d.length >= 2) return `Pci(${hex(u8(d, 1))},${hex(u8(d, 0))})`;
      if (subType === 0x03 && d.length >= 20) return `MemoryMapped(${hex(u32(d, 0))},${hex(u64(d, 4))},${hex(u64(d, 12))})`;
      if (subType === 0x04 && d.length >= 16) return `VenHw(${guid(d, 0)})`;
      if (subType === 0x05 && d.length >= 4) return `Ctrl(${hex(u32(d, 0))})`;
      return generic(type, subType, d);
    case 0x02: // ACPI
      if (subType === 0x01 && d.length >= 8) {
        const hid = u32(d, 0);
        if (hid === 0x0a0341d0) return `PciRoot(${hex(u32(d, 4))})`;
        if (hid === 0x0a0841d0) return `PcieRoot(${hex(u32(d, 4))})`;
        return `Acpi(${hex(hid)},${hex(u32(d, 4))})`;
      }
      return generic(type, subType, d);
    case 0x03: // Messaging
      if (subType === 0x02 && d.length >= 4) return `Scsi(${hex(u16(d, 0))},${hex(u16(d, 2))})`;
      if (subType === 0x05 && d.length >= 2) return `USB(${hex(u8(d, 0))},${hex(u8(d, 1))})`;
      if (subType === 0x0a && d.length >= 16) return `VenMsg(${guid(d, 0)})`;
      if (subType === 0x12 && d.length >= 6) return `Sata(${hex(u16(d, 0))},${hex(u16(d, 2))},${hex(u16(d, 4))})`;
      if (subType === 0x17 && d.length >= 4) return `NVMe(${hex(u32(d, 0))})`;
      if (subType === 0x18) return `Uri(${Buffer.from(d).toString('latin1')})`;
      return generic(type, subType, d);
    case 0x04: // Media
      if (subType === 0x01 && d.length >= 38) {
        const format = u8(d, 36) === 2 ? 'GPT' : u8(d, 36) === 1 ? 'MBR' : hex(u8(d, 36));
        const sig = u8(d, 37) === 2 ? guid(d, 20) : hex(u32(d, 20));
        return `HD(${u32(d, 0)},${format},${sig},${hex(u64(d, 4))},${hex(u64(d, 12))})`;
      }
      if (subType === 0x02 && d.length >= 20) return `CDROM(${hex(u32(d, 0))},${hex(u64(d, 4))},${hex(u64(d, 12))})`;
      if (subType === 0x03 && d.length >= 16) return `VenMedia(${guid(d, 0)})`;
      if (subType === 0x04) return ucs2ToString(d);
      if (subType === 0x05 && d.length >= 16) return `Media(${guid(d, 0)})`;
      if (subType === 0x06 && d.length >= 16) return `FvFile(${guid(d, 0)})`;
      if (subType === 0x07 && d.length >= 16) return `Fv(${guid(d, 0)})`;
      if (subType === 0x08 && d.length >= 20) return `Offset(${hex(u64(d, 4))},${hex(u64(d, 12))})`;
      return generic(type, subType, d);
    case 0x05:
      return `BBS(${hex(u16(d, 0))})`;
    case END_TYPE:
      return subType === END_ENTIRE ? 'End' : 'EndInstance';
    default:
      return generic(type, subType, d);
  }
}
