/**
 * What changed between two boots, event by event (contract §6 `changes`): per appraised PCR, a
 * shortest edit script (sequence-diff.ts) over the measured events, where two events are the same
 * when their type and their digest in the profile's bank are. Event data is never compared: only
 * the digest is quoted, so data shows an operator what an event is, and says when it is not
 * verified. A run of removals and additions between two unchanged events pairs up into
 * `modified` where the removed and added event are the same kind of thing (same component, type
 * and, for UEFI variables, variable name): a new bootloader is one change with both digests.
 *
 * Cost is bounded for hostile logs: the edit script is (see sequence-diff.ts), and decoded data and
 * its verification are computed for the first `maxDetailed` changes only.
 */
import type { JsonValue } from '../eventlog/json.ts';
import { briefEventData } from '../eventlog/brief.ts';
import { checkDigestConsistencyDetailed, dataVerified } from '../eventlog/consistency.ts';
import type { EventLog, TcgEvent } from '../eventlog/types.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import type { HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';
import { classifyEvents, isMeasured, variableName, type EventClass } from './classify.ts';
import { componentOf, type Component } from './component.ts';
import { diffSequences, type EditOp } from './sequence-diff.ts';

export type ChangeKind = 'added' | 'removed' | 'modified';

export interface ChangedEvent {
  eventIndex: number;
  /** Digest in the compared bank; empty when the event carries none in that bank. */
  digest: string;
  data?: { [k: string]: JsonValue };
  /** Present (false) when the digest could verify the data and does not: the data is then only the log's claim. */
  dataVerified?: false;
}

export interface BootChange {
  pcr: number;
  component: Component;
  eventType: string;
  change: ChangeKind;
  before?: ChangedEvent;
  after?: ChangedEvent;
}

export interface DiffOptions {
  bank: HashAlg;
  /** The PCRs compared (the profile's); events in other PCRs are ignored. */
  pcrs: readonly number[];
  /** Classifies events as the appraisal does (its paths name boot roles). */
  profile?: GoldenProfile;
  maxEdits?: number;
  /** Keep only changes whose new event has one of these indexes (e.g. the events an appraisal refused). */
  onlyAfter?: ReadonlySet<number>;
  /** Decoded data for at most this many changes (default 1000); the rest carry index and digest. */
  maxDetailed?: number;
}

export const DEFAULT_MAX_DETAILED = 1000;

interface Side {
  log: EventLog;
  classes: Map<TcgEvent, EventClass | undefined>;
  byPcr: Map<number, TcgEvent[]>;
}

/** A change before its events' data is looked at. */
interface RawChange {
  pcr: number;
  component: Component;
  eventType: string;
  change: ChangeKind;
  before?: TcgEvent;
  after?: TcgEvent;
}

function side(log: EventLog, pcrs: ReadonlySet<number>, profile: GoldenProfile | undefined): Side {
  const byPcr = new Map<number, TcgEvent[]>();
  for (const ev of log.events) {
    if (!isMeasured(ev) || !pcrs.has(ev.pcr)) continue;
    let list = byPcr.get(ev.pcr);
    if (list === undefined) byPcr.set(ev.pcr, (list = []));
    list.push(ev);
  }
  const classes = classifyEvents(log, profile);
  return { log, classes: new Map(log.events.map((ev, i) => [ev, classes[i]])), byPcr };
}

const EMPTY_LOG: EventLog = { format: 'crypto-agile', banks: [], events: [] };

function digestOf(ev: TcgEvent, bank: HashAlg): string {
  const d = ev.digests[bank];
  return d === undefined ? '' : toHex(d);
}

export function diffBoots(before: EventLog | undefined, after: EventLog, opts: DiffOptions): BootChange[] {
  const pcrs = new Set(opts.pcrs);
  const a = side(before ?? EMPTY_LOG, pcrs, opts.profile);
  const b = side(after, pcrs, opts.profile);
  const keys = new Map<string, number>();
  const keyOf = (ev: TcgEvent): number => {
    // Without a digest in the bank, all its digests identify it (it fails appraisal anyway).
    const k = ev.digests[opts.bank] !== undefined ? `${ev.type}:${digestOf(ev, opts.bank)}` : `${ev.type}:-${Object.values(ev.digests).map((d) => toHex(d as Uint8Array)).join(',')}`;
    let id = keys.get(k);
    if (id === undefined) keys.set(k, (id = keys.size));
    return id;
  };
  let raw: RawChange[] = [];
  for (const pcr of [...pcrs].sort((x, y) => x - y)) {
    const ea = a.byPcr.get(pcr) ?? [];
    const eb = b.byPcr.get(pcr) ?? [];
    if (ea.length === 0 && eb.length === 0) continue;
    const ops = diffSequences(ea.map(keyOf), eb.map(keyOf), opts.maxEdits);
    let hunk: EditOp[] = [];
    for (const op of [...ops, { op: 'equal' } as EditOp]) {
      if (op.op !== 'equal') {
        hunk.push(op);
        continue;
      }
      if (hunk.length > 0) raw.push(...hunkChanges(pcr, hunk, ea, eb, a, b));
      hunk = [];
    }
  }
  const only = opts.onlyAfter;
  if (only !== undefined) raw = raw.filter((c) => c.after !== undefined && only.has(c.after.index));
  return detailed(raw, a, b, opts.bank, opts.maxDetailed ?? DEFAULT_MAX_DETAILED);
}

function componentAt(s: Side, ev: TcgEvent): Component {
  const cls = s.classes.get(ev);
  return cls === undefined ? 'other' : componentOf(cls);
}

/** Removed and added events pair up only when they stand for the same thing. */
function pairKey(s: Side, ev: TcgEvent): string {
  return `${componentAt(s, ev)}|${ev.typeName}|${variableName(ev) ?? ''}`;
}

function hunkChanges(pcr: number, hunk: EditOp[], ea: TcgEvent[], eb: TcgEvent[], a: Side, b: Side): RawChange[] {
  const removed = hunk.flatMap((o) => (o.op === 'delete' ? [ea[o.a] as TcgEvent] : []));
  const added = hunk.flatMap((o) => (o.op === 'insert' ? [eb[o.b] as TcgEvent] : []));
  // Candidates by pairing key, in order: pairing is linear however long the hunk.
  const unpaired = new Map<string, number[]>();
  added.forEach((ev, i) => {
    const k = pairKey(b, ev);
    const list = unpaired.get(k);
    if (list === undefined) unpaired.set(k, [i]);
    else list.push(i);
  });
  const paired = new Set<number>();
  const out: RawChange[] = [];
  for (const r of removed) {
    const j = unpaired.get(pairKey(a, r))?.shift();
    if (j === undefined) {
      out.push({ pcr, component: componentAt(a, r), eventType: r.typeName, change: 'removed', before: r });
      continue;
    }
    paired.add(j);
    const n = added[j] as TcgEvent;
    out.push({ pcr, component: componentAt(b, n), eventType: r.typeName, change: 'modified', before: r, after: n });
  }
  added.forEach((n, i) => {
    if (!paired.has(i)) out.push({ pcr, component: componentAt(b, n), eventType: n.typeName, change: 'added', after: n });
  });
  return out;
}

/** The answer's form of each change; data and its verification for the first `max` changes only. */
function detailed(raw: RawChange[], a: Side, b: Side, bank: HashAlg, max: number): BootChange[] {
  const shown = raw.slice(0, max);
  // Verification of the shown events only: hashing every event of a hostile log is what the cap avoids.
  const reportOf = (s: Side, pick: (c: RawChange) => TcgEvent | undefined) =>
    checkDigestConsistencyDetailed({ ...s.log, events: shown.flatMap((c) => pick(c) ?? []) }, { banks: [bank] });
  const verifiedA = reportOf(a, (c) => c.before);
  const verifiedB = reportOf(b, (c) => c.after);
  const event = (ev: TcgEvent, withData: boolean, report: ReturnType<typeof reportOf>): ChangedEvent => {
    const out: ChangedEvent = { eventIndex: ev.index, digest: digestOf(ev, bank) };
    const data = withData ? briefEventData(ev) : undefined;
    if (data !== undefined) {
      out.data = data;
      // Only where the type's digest can verify its data and does not (eventlog/digest-conventions.ts);
      // an image's path or a firmware volume's description is never covered by any digest.
      if (dataVerified(report, ev, bank) === false) out.dataVerified = false;
    }
    return out;
  };
  return raw.map((c, i) => {
    const { before, after, ...rest } = c;
    return {
      ...rest,
      ...(before !== undefined ? { before: event(before, i < max, verifiedA) } : {}),
      ...(after !== undefined ? { after: event(after, i < max, verifiedB) } : {}),
    };
  });
}
