/**
 * UEFI_HANDOFF_TABLE_POINTERS (EV_EFI_HANDOFF_TABLES) and UEFI_HANDOFF_TABLE_POINTERS2 (…2, with a
 * description first): NumberOfTables then EFI_CONFIGURATION_TABLE {VendorGuid, VendorTable pointer}.
 * Checked for shape only; the shared DecodedEvent has no dedicated kind, so the result is 'raw'.
 */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';

const TABLE_SIZE = 24;

export function decodeHandoffTables(data: Uint8Array, baseOffset: number, withDescription: boolean): DecodedEvent {
  const r = new ByteReader(data, withDescription ? 'UEFI_HANDOFF_TABLE_POINTERS2' : 'UEFI_HANDOFF_TABLE_POINTERS', 'le', baseOffset);
  if (withDescription) r.skip(r.u8('TableDescriptionSize'), 'TableDescription');
  const n = r.u64('NumberOfTables');
  if (n * BigInt(TABLE_SIZE) !== BigInt(r.remaining)) r.fail('NumberOfTables', `${n} tables do not fill the ${r.remaining} bytes that remain`, r.offset - 8);
  return { kind: 'raw' };
}
