/**
 * Byte-level edits of real event logs for the golden tests: flip a digest, rewrite an event's
 * data (recomputing its digests so the log stays self-consistent, or not). Offsets come from the parser.
 */
import { createHash } from 'node:crypto';
import type { EventLog, TcgEvent } from '../../src/eventlog/types.ts';
import { hashAlgFromId, type HashAlg } from '../../src/tpm/alg.ts';

interface EventLayout {
  /** Where each digest of the event sits (absolute offsets), by bank. */
  digests: { alg: HashAlg | undefined; offset: number; size: number }[];
  sizeOffset: number;
  dataOffset: number;
  dataSize: number;
}

function u32le(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

export function eventLayout(bytes: Uint8Array, log: EventLog, ev: TcgEvent): EventLayout {
  if (log.format === 'sha1' || ev.index === 0) {
    // TCG_PCR_EVENT: pcr, type, SHA-1 digest[20], eventSize, event.
    return { digests: [{ alg: 'sha1', offset: ev.offset + 8, size: 20 }], sizeOffset: ev.offset + 28, dataOffset: ev.offset + 32, dataSize: u32le(bytes, ev.offset + 28) };
  }
  const algs = log.specId?.algorithms ?? [];
  let at = ev.offset + 8;
  const count = u32le(bytes, at);
  at += 4;
  const digests: EventLayout['digests'] = [];
  for (let i = 0; i < count; i++) {
    const id = bytes[at]! | (bytes[at + 1]! << 8);
    const size = algs.find((a) => a.algorithmId === id)?.digestSize;
    if (size === undefined) throw new Error(`unknown alg ${id}`);
    digests.push({ alg: hashAlgFromId(id), offset: at + 2, size });
    at += 2 + size;
  }
  return { digests, sizeOffset: at, dataOffset: at + 4, dataSize: u32le(bytes, at) };
}

/** A copy of the log with one byte of the event's `bank` digest flipped. */
export function flipDigest(bytes: Uint8Array, log: EventLog, ev: TcgEvent, bank: HashAlg): Uint8Array {
  const l = eventLayout(bytes, log, ev);
  const d = l.digests.find((x) => x.alg === bank);
  if (d === undefined) throw new Error(`event ${ev.index} has no ${bank} digest`);
  const out = bytes.slice();
  const at = d.offset + d.size - 1;
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}

/** A copy of the log with the event's data replaced; digests recomputed as hash(data) when `rehash`. */
export function replaceEventData(bytes: Uint8Array, log: EventLog, ev: TcgEvent, data: Uint8Array, rehash: boolean): Uint8Array {
  const l = eventLayout(bytes, log, ev);
  const head = bytes.slice(0, l.dataOffset);
  if (rehash) {
    for (const d of l.digests) {
      if (d.alg === undefined) continue;
      head.set(createHash(d.alg).update(data).digest(), d.offset);
    }
  }
  new DataView(head.buffer).setUint32(l.sizeOffset, data.length, true);
  const tail = bytes.slice(l.dataOffset + l.dataSize);
  const out = new Uint8Array(head.length + data.length + tail.length);
  out.set(head, 0);
  out.set(data, head.length);
  out.set(tail, head.length + data.length);
  return out;
}

/**
 * UEFI_VARIABLE_DATA with the last EFI_SIGNATURE_DATA of its first EFI_SIGNATURE_LIST removed
 * (SignatureListSize and VariableDataLength adjusted). Returns the removed entry's data too.
 */
export function dropLastSignature(varData: Uint8Array): { data: Uint8Array; removed: Uint8Array } {
  const dv = new DataView(varData.buffer, varData.byteOffset, varData.byteLength);
  const nameLen = Number(dv.getBigUint64(16, true));
  const valueLen = Number(dv.getBigUint64(24, true));
  const listAt = 32 + nameLen * 2;
  const listSize = dv.getUint32(listAt + 16, true);
  const headerSize = dv.getUint32(listAt + 20, true);
  const sigSize = dv.getUint32(listAt + 24, true);
  const lastAt = listAt + listSize - sigSize;
  const removed = varData.slice(lastAt + 16, lastAt + sigSize); // skip SignatureOwner
  const out = new Uint8Array(varData.length - sigSize);
  out.set(varData.subarray(0, lastAt), 0);
  out.set(varData.subarray(lastAt + sigSize), lastAt);
  const odv = new DataView(out.buffer);
  odv.setBigUint64(24, BigInt(valueLen - sigSize), true);
  odv.setUint32(listAt + 16, listSize - sigSize, true);
  void headerSize;
  return { data: out, removed };
}
