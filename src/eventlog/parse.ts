/**
 * TCG PC Client event log parser: legacy SHA-1 logs (TCG_PCR_EVENT only) and crypto-agile logs
 * (a TCG_PCR_EVENT carrying TCG_EfiSpecIdEvent "Spec ID Event03", then TCG_PCR_EVENT2).
 *
 * Every length is checked against the bytes that remain, so hostile sizes end in a ParseError
 * without allocating: event data are views into the input.
 *
 * PCR indexes: 0–23 are accepted, and 0xFFFFFFFF (Windows: logged but never extended). Any other
 * index is a ParseError, because no PC Client TPM has such a PCR: a log claiming one is not a
 * record of a real boot.
 */
import { ByteReader } from '../util/bytes.ts';
import { concatBytes } from '../util/encoding.ts';
import type { HashAlg } from '../tpm/alg.ts';
import { EV, MAX_PCR_INDEX, PCR_INDEX_NOT_EXTENDED, eventTypeName } from './event-types.ts';
import { isSpecIdEvent03, parseSpecIdData } from './spec-id.ts';
import { decodeEvent } from './decode/index.ts';
import type { EventLog, SpecIdEvent, TcgEvent } from './types.ts';

const SHA1_SIZE = 20;

interface RawHeader {
  offset: number;
  pcr: number;
  type: number;
}

function readPcrIndex(r: ByteReader, structure: string): number {
  const pcr = r.u32('pcrIndex');
  if (pcr > MAX_PCR_INDEX && pcr !== PCR_INDEX_NOT_EXTENDED) {
    r.fail('pcrIndex', `${structure} PCR index ${pcr} is outside 0-${MAX_PCR_INDEX} (and not 0xFFFFFFFF)`, r.offset - 4);
  }
  return pcr;
}

function makeEvent(index: number, h: RawHeader, digests: Partial<Record<HashAlg, Uint8Array>>, data: Uint8Array, dataOffset: number): TcgEvent {
  const { decoded, decodeError } = decodeEvent(h.type, h.pcr, data, dataOffset);
  const ev: TcgEvent = {
    index,
    offset: h.offset,
    pcr: h.pcr,
    type: h.type,
    typeName: eventTypeName(h.type),
    digests,
    data,
    decoded,
  };
  if (decodeError !== undefined) ev.decodeError = decodeError;
  return ev;
}

/** TCG_PCR_EVENT: PCRIndex, EventType, SHA-1 digest, EventSize, Event. */
function readLegacyEvent(r: ByteReader, index: number): TcgEvent {
  r.structure = 'TCG_PCR_EVENT';
  const offset = r.offset;
  const pcr = readPcrIndex(r, 'TCG_PCR_EVENT');
  const type = r.u32('eventType');
  const sha1 = r.bytesView(SHA1_SIZE, 'digest');
  const size = r.u32('eventSize');
  const dataOffset = r.absoluteOffset;
  const data = r.bytesView(size, 'event');
  return makeEvent(index, { offset, pcr, type }, { sha1 }, data, dataOffset);
}

/** Field names of the i-th TPMT_HA, built once per log rather than once per digest read. */
interface DigestFields {
  hashAlg: string;
  digest: string;
}

/** TCG_PCR_EVENT2: PCRIndex, EventType, TPML_DIGEST_VALUES, EventSize, Event. */
function readEvent2(r: ByteReader, index: number, specId: Omit<SpecIdEvent, 'vendorInfo'>, fields: readonly DigestFields[]): TcgEvent {
  r.structure = 'TCG_PCR_EVENT2';
  const offset = r.offset;
  const pcr = readPcrIndex(r, 'TCG_PCR_EVENT2');
  const type = r.u32('eventType');
  const count = r.u32('digests.count');
  // Each TPMT_HA is at least a 2-byte algorithm ID; a count the bytes cannot hold is refused up front.
  if (count > specId.algorithms.length) {
    r.fail('digests.count', `${count} digests but the Spec ID header declares ${specId.algorithms.length} algorithms`, r.offset - 4);
  }
  const digests: Partial<Record<HashAlg, Uint8Array>> = {};
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    const f = fields[i] as DigestFields; // count <= algorithms.length == fields.length
    const algAt = r.offset;
    const algId = r.u16(f.hashAlg);
    const declared = specId.algorithms.find((a) => a.algorithmId === algId);
    if (declared === undefined) r.fail(f.hashAlg, `algorithm 0x${algId.toString(16)} is not declared in the Spec ID header`, algAt);
    if (seen.includes(algId)) r.fail(f.hashAlg, `algorithm 0x${algId.toString(16)} appears twice in one event`, algAt);
    seen.push(algId);
    const value = r.bytesView(declared.digestSize, f.digest);
    // Algorithms bootgate cannot hash are skipped by their declared size; they cannot be replayed.
    if (declared.hashAlg !== undefined) digests[declared.hashAlg] = value;
  }
  const size = r.u32('eventSize');
  const dataOffset = r.absoluteOffset;
  const data = r.bytesView(size, 'event');
  return makeEvent(index, { offset, pcr, type }, digests, data, dataOffset);
}

export function parseEventLog(bytes: Uint8Array): EventLog {
  const r = new ByteReader(bytes, 'TCG_PCR_EVENT', 'le');
  if (bytes.length === 0) r.fail('pcrIndex', 'the event log is empty');
  const first = readLegacyEvent(r, 0);
  if (first.type !== EV.EV_NO_ACTION || !isSpecIdEvent03(first.data)) {
    const events = [first];
    while (r.remaining > 0) events.push(readLegacyEvent(r, events.length));
    return { format: 'sha1', banks: ['sha1'], events };
  }

  const dataOffset = first.offset + 32;
  const parsed = parseSpecIdData(first.data, dataOffset);
  let vendorInfo = parsed.vendorInfoInside;
  if (parsed.vendorInfoMissing > 0) {
    // Quirk "specid-vendorinfo-outside-eventsize" (quirks.ts): EventSize omits vendorInfo, which follows the event.
    r.structure = 'TCG_EfiSpecIdEvent';
    vendorInfo = concatBytes(vendorInfo, r.bytesView(parsed.vendorInfoMissing, 'vendorInfo'));
  }
  const specId: SpecIdEvent = { ...parsed.specId, vendorInfo };
  first.decoded = { kind: 'spec_id', specId };
  delete first.decodeError;

  const banks: HashAlg[] = [];
  for (const a of specId.algorithms) if (a.hashAlg !== undefined) banks.push(a.hashAlg);
  const fields = specId.algorithms.map((_, i): DigestFields => ({ hashAlg: `digests[${i}].hashAlg`, digest: `digests[${i}].digest` }));
  const events: TcgEvent[] = [first];
  while (r.remaining > 0) events.push(readEvent2(r, events.length, specId, fields));
  return { format: 'crypto-agile', specId, banks, events };
}
