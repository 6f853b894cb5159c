/**
 * UEFI_VARIABLE_DATA (EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2, _AUTHORITY):
 * VariableName GUID, UnicodeNameLength (in CHAR16), VariableDataLength, UnicodeName, VariableData.
 */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';
import { readGuid } from './guid.ts';
import { parseSignatureData, parseSignatureLists } from './signature-list.ts';
import { parseDevicePath } from './device-path.ts';
import { readUcs2z } from './strings.ts';

type EfiVariable = Extract<DecodedEvent, { kind: 'efi_variable' }>;

export interface UefiVariableData {
  variableGuid: string;
  name: string;
  variableData: Uint8Array;
  /** Offset of VariableData in the log. */
  variableDataOffset: number;
  /** Bytes after VariableData inside EventSize (see quirks.ts "shim-authority-extra-byte"). */
  trailing: Uint8Array;
}

function u64Length(r: ByteReader, field: string): number {
  const v = r.u64(field);
  if (v > BigInt(r.remaining)) r.fail(field, `${v} exceeds the ${r.remaining} bytes that remain`, r.offset - 8);
  return Number(v);
}

export function readUefiVariableData(data: Uint8Array, baseOffset: number): UefiVariableData {
  const r = new ByteReader(data, 'UEFI_VARIABLE_DATA', 'le', baseOffset);
  const variableGuid = readGuid(r, 'VariableName');
  const nameChars = u64Length(r, 'UnicodeNameLength');
  const dataLen = u64Length(r, 'VariableDataLength');
  const nameBytes = r.bytesView(nameChars * 2, 'UnicodeName');
  const variableDataOffset = r.absoluteOffset;
  const variableData = r.bytesView(dataLen, 'VariableData');
  const trailing = r.bytesView(r.remaining, 'trailing');
  const name = Buffer.from(nameBytes.buffer, nameBytes.byteOffset, nameBytes.byteLength).toString('utf16le').replace(/\0+$/, '');
  return { variableGuid, name, variableData, variableDataOffset, trailing };
}

const SIGNATURE_DB_NAMES = new Set(['PK', 'KEK', 'db', 'dbx', 'dbt', 'dbr', 'PKDefault', 'KEKDefault', 'dbDefault', 'dbxDefault']);
const BOOLEAN_NAMES = new Set(['SecureBoot', 'SetupMode', 'AuditMode', 'DeployedMode', 'MokSBState']);
const BOOT_OPTION = /^(Boot|Driver|SysPrep)[0-9A-Fa-f]{4}$/;

export function decodeEfiVariable(data: Uint8Array, baseOffset: number, isAuthority: boolean): EfiVariable {
  const v = readUefiVariableData(data, baseOffset);
  const out: EfiVariable = { kind: 'efi_variable', variableGuid: v.variableGuid, name: v.name, variableData: v.variableData };
  const vd = v.variableData;
  if (isAuthority) {
    const sd = parseSignatureData(vd);
    if (sd !== null) out.signatureData = sd;
  } else if (SIGNATURE_DB_NAMES.has(v.name)) {
    out.signatureLists = parseSignatureLists(vd, v.variableDataOffset);
  } else if (BOOLEAN_NAMES.has(v.name)) {
    // A 0-length SecureBoot variable (seen on firmware with Secure Boot unsupported) is neither on nor off.
    out.enabled = vd.length === 0 ? null : vd.some((b) => b !== 0);
  } else if (v.name === 'BootOrder' || v.name === 'DriverOrder') {
    if (vd.length % 2 !== 0) throw new Error(`${v.name} has odd length ${vd.length}`);
    const order: number[] = [];
    for (let i = 0; i < vd.length; i += 2) order.push((vd[i] ?? 0) | ((vd[i + 1] ?? 0) << 8));
    out.bootOrder = order;
  } else if (BOOT_OPTION.test(v.name)) {
    out.loadOption = parseLoadOption(vd, v.variableDataOffset);
  }
  return out;
}

/** EFI_LOAD_OPTION: Attributes, FilePathListLength, Description (CHAR16, NUL-terminated), FilePathList, OptionalData. */
function parseLoadOption(vd: Uint8Array, baseOffset: number): NonNullable<EfiVariable['loadOption']> {
  const r = new ByteReader(vd, 'EFI_LOAD_OPTION', 'le', baseOffset);
  const attributes = r.u32('Attributes');
  const fpLen = r.u16('FilePathListLength');
  const desc = readUcs2z(vd, r.offset);
  if (desc === null) return r.fail('Description', 'no NUL-terminated CHAR16 description');
  r.skip(desc.next - r.offset, 'Description');
  const fpAt = r.absoluteOffset;
  const fp = r.bytesView(fpLen, 'FilePathList');
  return { attributes, description: desc.text, devicePath: parseDevicePath(fp, fpAt) };
}
