/**
 * UEFI structures as firmware measures them (little-endian, UEFI 2.x and TCG PC Client PFP):
 * EFI_GUID, UEFI_VARIABLE_DATA, EFI_SIGNATURE_LIST, EFI_DEVICE_PATH_PROTOCOL, EFI_LOAD_OPTION,
 * UEFI_IMAGE_LOAD_EVENT, UEFI_PLATFORM_FIRMWARE_BLOB and UEFI_GPT_DATA.
 */
import { crc32 } from 'node:zlib';
import { ByteWriter } from '../../src/util/bytes.ts';
import { concatBytes } from '../../src/util/encoding.ts';

export const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
export const SHIM_LOCK_GUID = '605dab50-e046-4300-abb6-3dd810dd8b23';
export const EFI_CERT_X509_GUID = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
export const EFI_CERT_SHA256_GUID = 'c1c41626-504c-4092-aca9-41f936934328';
/** SignatureOwner of the simulated platform vendor's entries. */
export const SIM_OWNER_GUID = '5349d0c1-0b0e-4a1e-9f0d-7061746f6f74';

/** EFI_GUID in memory order: Data1-3 little-endian, Data4 as bytes. */
export function guidBytes(guid: string): Uint8Array {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`bad GUID ${guid}`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8);
  return new Uint8Array(out);
}

export function utf16le(s: string, nulTerminated: boolean): Uint8Array {
  return new Uint8Array(Buffer.from(nulTerminated ? `${s}\0` : s, 'utf16le'));
}

export function ascii(s: string, nulTerminated: boolean): Uint8Array {
  return new Uint8Array(Buffer.from(nulTerminated ? `${s}\0` : s, 'latin1'));
}

/** UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength and VariableDataLength (UINT64), name without NUL, data. */
export function uefiVariableData(vendorGuid: string, name: string, data: Uint8Array): Uint8Array {
  return new ByteWriter('le')
    .bytes(guidBytes(vendorGuid))
    .u64(BigInt(name.length))
    .u64(BigInt(data.length))
    .bytes(utf16le(name, false))
    .bytes(data)
    .finish();
}

/** EFI_SIGNATURE_DATA: SignatureOwner GUID then the signature (a DER certificate or a hash). */
export function signatureData(owner: string, data: Uint8Array): Uint8Array {
  return concatBytes(guidBytes(owner), data);
}

/** One EFI_SIGNATURE_LIST of same-size entries (X.509 lists hold one certificate each, as firmware writes them). */
export function signatureList(type: string, owner: string, entries: Uint8Array[]): Uint8Array {
  const first = entries[0];
  if (!first) throw new RangeError('an EFI_SIGNATURE_LIST needs at least one entry');
  const sigSize = 16 + first.length;
  if (entries.some((e) => 16 + e.length !== sigSize)) throw new RangeError('EFI_SIGNATURE_LIST entries must have one size');
  const w = new ByteWriter('le').bytes(guidBytes(type)).u32(28 + sigSize * entries.length).u32(0).u32(sigSize);
  for (const e of entries) w.bytes(signatureData(owner, e));
  return w.finish();
}

/** A signature database (PK/KEK/db/dbx contents): one list per certificate, one list for all SHA-256 hashes. */
export function signatureDatabase(certs: Uint8Array[], sha256Hashes: Uint8Array[], owner = SIM_OWNER_GUID): Uint8Array {
  const lists = certs.map((c) => signatureList(EFI_CERT_X509_GUID, owner, [c]));
  if (sha256Hashes.length > 0) lists.push(signatureList(EFI_CERT_SHA256_GUID, owner, sha256Hashes));
  return concatBytes(...lists);
}

// ---- Device paths -----------------------------------------------------------------------------

export type DevicePathNode =
  | { kind: 'acpi'; hid: number; uid: number }
  | { kind: 'pci'; device: number; fn: number }
  | { kind: 'sata'; port: number }
  | { kind: 'hd'; partition: number; start: bigint; size: bigint; signature: string }
  | { kind: 'file'; path: string }
  | { kind: 'offset'; start: bigint; end: bigint };

function node(type: number, subType: number, body: Uint8Array): Uint8Array {
  return new ByteWriter('le').u8(type).u8(subType).u16(4 + body.length).bytes(body).finish();
}

/** EFI_DEVICE_PATH_PROTOCOL chain ending in End Entire Device Path. */
export function devicePath(nodes: DevicePathNode[]): Uint8Array {
  const parts = nodes.map((n) => {
    switch (n.kind) {
      case 'acpi':
        return node(0x02, 0x01, new ByteWriter('le').u32(n.hid).u32(n.uid).finish());
      case 'pci':
        return node(0x01, 0x01, Uint8Array.of(n.fn, n.device));
      case 'sata':
        return node(0x03, 0x12, new ByteWriter('le').u16(n.port).u16(0xffff).u16(0).finish());
      case 'hd':
        return node(
          0x04,
          0x01,
          new ByteWriter('le').u32(n.partition).u64(n.start).u64(n.size).bytes(guidBytes(n.signature)).u8(0x02).u8(0x02).finish(),
        );
      case 'file':
        return node(0x04, 0x04, utf16le(n.path, true));
      case 'offset':
        return node(0x04, 0x08, new ByteWriter('le').u32(0).u64(n.start).u64(n.end).finish());
    }
  });
  return concatBytes(...parts, Uint8Array.of(0x7f, 0xff, 0x04, 0x00));
}

/** EISA ID of PNP0A03 (PCI root bridge) as ACPI device paths encode it. */
export const PNP0A03 = 0x0a0341d0;

/** EFI_LOAD_OPTION (a Boot#### variable). */
export function loadOption(description: string, path: Uint8Array, active = true): Uint8Array {
  return new ByteWriter('le').u32(active ? 1 : 0).u16(path.length).bytes(utf16le(description, true)).bytes(path).finish();
}

/** UEFI_IMAGE_LOAD_EVENT (UINTN = 64 bits). */
export function imageLoadEvent(location: bigint, length: bigint, path: Uint8Array): Uint8Array {
  return new ByteWriter('le').u64(location).u64(length).u64(0n).u64(BigInt(path.length)).bytes(path).finish();
}

/** UEFI_PLATFORM_FIRMWARE_BLOB. */
export function firmwareBlob(base: bigint, length: bigint): Uint8Array {
  return new ByteWriter('le').u64(base).u64(length).finish();
}

export interface GptPartition {
  typeGuid: string;
  uniqueGuid: string;
  startingLba: bigint;
  endingLba: bigint;
  name: string;
}

/** UEFI_GPT_DATA: the GPT header then every used partition entry (128-byte entries), CRCs filled in. */
export function gptData(diskGuid: string, lastLba: bigint, partitions: GptPartition[]): Uint8Array {
  const entries = partitions.map((p) => {
    const name = new Uint8Array(72);
    name.set(utf16le(p.name, false).subarray(0, 72));
    return new ByteWriter('le')
      .bytes(guidBytes(p.typeGuid))
      .bytes(guidBytes(p.uniqueGuid))
      .u64(p.startingLba)
      .u64(p.endingLba)
      .u64(0n)
      .bytes(name)
      .finish();
  });
  // The on-disk array has 128 entries; its CRC covers the unused (zero) ones too.
  const fullArray = new Uint8Array(128 * 128);
  entries.forEach((e, i) => fullArray.set(e, i * 128));
  const header = (crc: number): Uint8Array =>
    new ByteWriter('le')
      .bytes(ascii('EFI PART', false))
      .u32(0x00010000)
      .u32(92)
      .u32(crc)
      .u32(0)
      .u64(1n)
      .u64(lastLba)
      .u64(34n)
      .u64(lastLba - 33n)
      .bytes(guidBytes(diskGuid))
      .u64(2n)
      .u32(128)
      .u32(128)
      .u32(crc32(fullArray))
      .finish();
  const hdr = header(crc32(header(0)));
  return concatBytes(hdr, new ByteWriter('le').u64(BigInt(entries.length)).finish(), ...entries);
}
