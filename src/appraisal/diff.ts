/**
 * What changed between two boots, event by event (contract §6 `changes`): per appraised PCR, a
 * shortest edit script (sequence-diff.ts) over the measured events, where two events are the same
 * when their type and their digest in the profile's bank are. Event data is never compared: only
 * the digest is quoted, so data shows an operator what an event is, and says when it is not
 * verified. A run of removals and additions between two unchanged events pairs up into
 * `modified` where the removed and added event are the same kind of thing (same component, type
 * and, for UEFI variables, variable name): a new bootloader is one change with both digests.
 */
import type { JsonValue } from '../eventlog/json.ts';
import { briefEventData } from '../eventlog/brief.ts';
import { checkDigestConsistencyDetailed, dataVerified, type ConsistencyReport } from '../eventlog/consistency.ts';
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
}

interface Side {
  log: EventLog;
  classes: Map<TcgEvent, EventClass | undefined>;
  byPcr: Map<number, TcgEvent[]>;
  consistency: ConsistencyReport;
}

function side(log: EventLog, pcrs: ReadonlySet<number>, bank: HashAlg, profile: GoldenProfile | undefined): Side {
  const byPcr = new Map<number, TcgEvent[]>();
  for (const ev of log.events) {
    if (!isMeasured(ev) || !pcrs.has(ev.pcr)) continue;
    let list = byPcr.get(ev.pcr);
    if (list === undefined) byPcr.set(ev.pcr, (list = []));
    list.push(ev);
  }
  const classes = classifyEvents(log, profile);
  return { log, classes: new Map(log.events.map((ev, i) => [ev, classes[i]])), byPcr, consistency: checkDigestConsistencyDetailed(log, { banks: [bank] }) };
}

const EMPTY_LOG: EventLog = { format: 'crypto-agile', banks: [], events: [] };

function digestOf(ev: TcgEvent, bank: HashAlg): string {
  const d = ev.digests[bank];
  return d === undefined ? '' : toHex(d);
}

export function diffBoots(before: EventLog | undefined, after: EventLog, opts: DiffOptions): BootChange[] {
  const pcrs = new Set(opts.pcrs);
  const a = side(before ?? EMPTY_LOG, pcrs, opts.bank, opts.profile);
  const b = side(after, pcrs, opts.bank, opts.profile);
  const keys = new Map<string, number>();
  const keyOf = (ev: TcgEvent): number => {
    // Without a digest in the bank, all its digests identify it (it fails appraisal anyway).
    const k = ev.digests[opts.bank] !== undefined ? `${ev.type}:${digestOf(ev, opts.bank)}` : `${ev.type}:-${Object.values(ev.digests).map((d) => toHex(d as Uint8Array)).join(',')}`;
    let id = keys.get(k);
    if (id === undefined) keys.set(k, (id = keys.size));
    return id;
  };
  const changes: BootChange[] = [];
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
      if (hunk.length > 0) changes.push(...hunkChanges(pcr, hunk, ea, eb, a, b, opts.bank));
      hunk = [];
    }
  }
  return changes;
}

function componentAt(s: Side, ev: TcgEvent): Component {
  const cls = s.classes.get(ev);
  return cls === undefined ? 'other' : componentOf(cls);
}

/** Removed and added events pair up only when they stand for the same thing. */
function pairKey(s: Side, ev: TcgEvent): string {
  return `${componentAt(s, ev)}|${ev.typeName}|${variableName(ev) ?? ''}`;
}

function changedEvent(s: Side, ev: TcgEvent, bank: HashAlg): ChangedEvent {
  const out: ChangedEvent = { eventIndex: ev.index, digest: digestOf(ev, bank) };
  const data = briefEventData(ev);
  if (data !== undefined) {
    out.data = data;
    // Only where the type's digest can verify its data and does not (eventlog/digest-conventions.ts);
    // an image's path or a firmware volume's description is never covered by any digest.
    if (dataVerified(s.consistency, ev, bank) === false) out.dataVerified = false;
  }
  return out;
}

function hunkChanges(pcr: number, hunk: EditOp[], ea: TcgEvent[], eb: TcgEvent[], a: Side, b: Side, bank: HashAlg): BootChange[] {
  const removed = hunk.flatMap((o) => (o.op === 'delete' ? [ea[o.a] as TcgEvent] : []));
  const added = hunk.flatMap((o) => (o.op === 'insert' ? [eb[o.b] as TcgEvent] : []));
  const addedKeys = added.map((ev) => pairKey(b, ev));
  const paired = new Set<number>();
  const out: BootChange[] = [];
  for (const r of removed) {
    const key = pairKey(a, r);
    const j = addedKeys.findIndex((k, i) => k === key && !paired.has(i));
    const base = { pcr, component: componentAt(a, r), eventType: r.typeName };
    if (j < 0) {
      out.push({ ...base, change: 'removed', before: changedEvent(a, r, bank) });
      continue;
    }
    paired.add(j);
    const n = added[j] as TcgEvent;
    out.push({ ...base, component: componentAt(b, n), change: 'modified', before: changedEvent(a, r, bank), after: changedEvent(b, n, bank) });
  }
  added.forEach((n, i) => {
    if (paired.has(i)) return;
    out.push({ pcr, component: componentAt(b, n), eventType: n.typeName, change: 'added', after: changedEvent(b, n, bank) });
  });
  return out;
}
