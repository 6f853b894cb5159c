/**
 * A new profile version that also allows some events of a log (accepting a rollout): each event
 * is learned into the rule that appraises it, as `golden learn` would, so digest sets grow and the
 * old values stay. Nothing here loosens or tightens a requirement: the SecureBoot state is never
 * learned (a profile that stops requiring Secure Boot is an operator's hand edit) and dbx is
 * never learned (requiring a new revocation would fail every host not yet updated).
 */
import { classifyEvents, type EventClass } from '../appraisal/classify.ts';
import { checkDigestConsistencyDetailed } from '../eventlog/consistency.ts';
import type { EventLog, TcgEvent } from '../eventlog/types.ts';
import { learnEvent, type Draft } from './learn.ts';
import { parseProfile } from './load.ts';
import type { GoldenProfile } from './schema.ts';

const NEVER_LEARNED: ReadonlySet<EventClass['kind']> = new Set(['secureBootVar', 'dbx']);

/** Makes `draft` (of `profile`) also allow `events`, which belong to `log`. */
export function allowEvents(draft: Draft, profile: GoldenProfile, log: EventLog, events: readonly TcgEvent[]): void {
  const classes = classifyEvents(log, profile);
  const classOf = new Map(log.events.map((ev, i) => [ev, classes[i]]));
  // Text is learned as a rule only where its digest verifies it (learnEvent); otherwise the digest is pinned.
  const consistency = checkDigestConsistencyDetailed(log, { banks: [profile.bank] });
  for (const ev of events) {
    const cls = classOf.get(ev);
    if (cls === undefined || NEVER_LEARNED.has(cls.kind)) continue;
    // learnEvent creates a missing secureBoot section as "not required"; absent means required.
    if (draft.secureBoot === undefined && (cls.kind === 'signatureDb' || cls.kind === 'authority')) draft.secureBoot = { required: true };
    learnEvent(draft, profile.bank, ev, cls, consistency);
  }
}

/** A mutable copy of `profile` as version `version`. */
export function draftOf(profile: GoldenProfile, version: string): Draft {
  return { ...structuredClone(profile), version };
}

export function finishDraft(draft: Draft): GoldenProfile {
  return parseProfile(draft, `accepted:${draft.name}@${draft.version}`);
}
