/**
 * The `bootgate eventlog --json` document (contract §5):
 * {"format", "events": [{"index", "pcr", "type", "digests": {bank: hex}, "data"?: decoded}], "pcrs": {bank: {pcr: hex}}}.
 * Decoded data becomes JSON-friendly: bytes as lower-case hex, 64-bit integers as decimal strings.
 * Raw events carry their bytes as `bytes` (hex) and, when decoding failed, `decodeError`.
 * Addition: `dataVerified` on events whose digest can be checked against their data (false when
 * some bank's digest is none of the type's genuine digests), with `knownDeviation` naming the
 * FIRMWARE_QUIRKS entry that explains it. Events whose digest measures content outside the log
 * (images, firmware volumes) carry no `dataVerified`: their data can never be verified.
 */
import { toHex } from '../util/encoding.ts';
import { checkableConvention } from './digest-conventions.ts';
import type { ConsistencyReport } from './consistency.ts';
import type { EventLog, LogFormat, ReplayResult, TcgEvent } from './types.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface EventLogJson {
  format: LogFormat;
  events: {
    index: number;
    pcr: number;
    type: string;
    digests: Record<string, string>;
    data?: { [k: string]: JsonValue };
    dataVerified?: boolean;
    knownDeviation?: string;
  }[];
  pcrs: Record<string, Record<string, string>>;
}

/** Converts decoded structures to JSON values (Uint8Array -> hex, bigint -> decimal string). */
export function toJsonValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (typeof v === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x);
    return out;
  }
  return String(v);
}

function eventData(e: TcgEvent): { [k: string]: JsonValue } {
  const data = toJsonValue(e.decoded) as { [k: string]: JsonValue };
  if (e.decoded.kind === 'raw') data.bytes = toHex(e.data);
  if (e.decodeError !== undefined) data.decodeError = e.decodeError;
  return data;
}

export function eventLogToJson(log: EventLog, replay: ReplayResult, consistency?: ConsistencyReport): EventLogJson {
  const unverified = new Map<number, string | undefined>();
  for (const m of consistency?.mismatches ?? []) unverified.set(m.eventIndex, m.knownDeviation ?? unverified.get(m.eventIndex));
  const events = log.events.map((e) => {
    const digests: Record<string, string> = {};
    for (const [bank, d] of Object.entries(e.digests)) if (d !== undefined) digests[bank] = toHex(d);
    const out: EventLogJson['events'][number] = { index: e.index, pcr: e.pcr, type: e.typeName, digests, data: eventData(e) };
    if (consistency !== undefined && checkableConvention(e) !== undefined && Object.keys(digests).length > 0) {
      out.dataVerified = !unverified.has(e.index);
      const known = unverified.get(e.index);
      if (known !== undefined) out.knownDeviation = known;
    }
    return out;
  });
  const pcrs: Record<string, Record<string, string>> = {};
  for (const [bank, values] of Object.entries(replay.pcrs)) {
    if (values === undefined) continue;
    const byPcr: Record<string, string> = {};
    for (const pcr of [...values.keys()].sort((a, b) => a - b)) byPcr[String(pcr)] = toHex(values.get(pcr) ?? new Uint8Array());
    pcrs[bank] = byPcr;
  }
  return { format: log.format, events, pcrs };
}
