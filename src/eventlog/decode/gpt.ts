/** UEFI_GPT_DATA (EV_EFI_GPT_EVENT): the GPT header, NumberOfPartitions, then the used partition entries. */
import { ByteReader } from '../../util/bytes.ts';
import type { DecodedEvent } from '../types.ts';
import { guidToString } from './guid.ts';
import { ucs2ToString } from './strings.ts';

type Gpt = Extract<DecodedEvent, { kind: 'gpt' }>;

const HEADER_SIZE = 92; // EFI_PARTITION_TABLE_HEADER
const MIN_ENTRY_SIZE = 128;

export function decodeGpt(data: Uint8Array, baseOffset: number): Gpt {
  const r = new ByteReader(data, 'UEFI_GPT_DATA', 'le', baseOffset);
  const header = r.bytesView(HEADER_SIZE, 'UEFIPartitionHeader');
  if (Buffer.from(header.subarray(0, 8)).toString('latin1') !== 'EFI PART') r.fail('UEFIPartitionHeader.Signature', 'not "EFI PART"', 0);
  const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const diskGuid = guidToString(header, 56);
  const entrySize = hv.getUint32(84, true);
  if (entrySize < MIN_ENTRY_SIZE) r.fail('UEFIPartitionHeader.SizeOfPartitionEntry', `${entrySize} is below ${MIN_ENTRY_SIZE}`, 84);
  const count = r.u64('NumberOfPartitions');
  if (count * BigInt(entrySize) > BigInt(r.remaining)) r.fail('NumberOfPartitions', `${count} entries of ${entrySize} bytes exceed the ${r.remaining} bytes that remain`, r.offset - 8);
  const partitions: Gpt['partitions'] = [];
  for (let i = 0; i < Number(count); i++) {
    const e = r.bytesView(entrySize, `Partitions[${i}]`);
    const ev = new DataView(e.buffer, e.byteOffset, e.byteLength);
    partitions.push({
      typeGuid: guidToString(e, 0),
      uniqueGuid: guidToString(e, 16),
      startingLba: ev.getBigUint64(32, true),
      endingLba: ev.getBigUint64(40, true),
      name: ucs2ToString(e.subarray(56, 128)),
    });
  }
  return { kind: 'gpt', diskGuid, partitions };
}
