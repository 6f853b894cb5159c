/**
 * Planning the acceptance of a drift group: the next profile version that also allows what the
 * group's hosts changed to, proven before it is written. For each host, its latest log is
 * appraised against the profile; every event that fails because its value is not allowed must be
 * one that changed since the host's last passing boot, and is then learned into the new version.
 * The new version is appraised against every latest log again: the plan stands only if each host
 * would then pass on its log. Anything an allow-list cannot cure (Secure Boot off, a dbx rollback,
 * a log that is not the measured boot) refuses the plan with the reason.
 */
import type { EventLog, TcgEvent } from '../eventlog/types.ts';
import { allowEvents, draftOf, finishDraft } from '../golden/accept.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import { appraiseLog } from './appraise.ts';
import { ACCEPTABLE_CODES, canonicalChangeSet } from './change-set.ts';
import { FAILURE_CODES, isFailureCode } from './codes.ts';
import { diffBoots, type BootChange } from './diff.ts';
import { prepareLog } from './prepared-log.ts';
import type { Finding } from './types.ts';

export interface AcceptanceHost {
  hostId: string;
  /** The log of the host's last passing appraisal, if it ever passed. */
  baseline: EventLog | undefined;
  /** The log of its latest appraisal. */
  latest: EventLog;
}

export type AcceptancePlan =
  | { ok: true; profile: GoldenProfile; accepted: BootChange[] }
  | { ok: false; reason: 'nothing_to_accept' | 'not_acceptable' | 'incomplete'; problems: string[] };

const WHY_NOT: Partial<Record<string, string>> = {
  secure_boot_disabled: 'Secure Boot is off or not measured: a profile that accepted it would stop requiring Secure Boot for every host, which an operator does by editing the profile by hand',
  dbx_entry_missing: 'dbx lost revocations the profile requires (a dbx rollback): accepting it would stop requiring them for every host',
  separator_missing: 'a PCR lost its EV_SEPARATOR: a profile that stopped requiring it would accept truncated logs',
  event_data_mismatch: 'an event digest is not the hash of its data, so its contents cannot be trusted and no rule may allow them',
  pcr_replay_mismatch: 'the event log does not reproduce the quoted PCRs: it is not the boot that was measured',
  pcr_unexplained: 'a PCR holds measurements the log does not explain',
  findings_truncated: 'the boot has more findings than an appraisal lists',
};

/** Why a failure code cannot be cured by allowing new values. */
export function notAcceptableReason(code: string): string {
  return WHY_NOT[code] ?? `${isFailureCode(code) ? FAILURE_CODES[code] : code} This is not a value a profile can allow`;
}

function failures(profile: GoldenProfile, log: EventLog): Finding[] {
  const { replay, consistency } = prepareLog(log, [profile.bank], [profile.bank]);
  return appraiseLog({ log, replay, consistency, profile }).findings;
}

function describe(hostId: string, f: Finding): string {
  return `${hostId}: ${f.code}: ${f.message}`;
}

export function planAcceptance(profile: GoldenProfile, version: string, hosts: readonly AcceptanceHost[]): AcceptancePlan {
  const draft = draftOf(profile, version);
  const blocked: string[] = [];
  const unexplained: string[] = [];
  const accepted = new Map<string, BootChange>();
  let learned = 0;
  for (const h of hosts) {
    const found = failures(profile, h.latest);
    for (const f of found.filter((x) => !ACCEPTABLE_CODES.has(x.code))) blocked.push(`${describe(h.hostId, f)} (${notAcceptableReason(f.code)})`);
    const changes = diffBoots(h.baseline, h.latest, { bank: profile.bank, pcrs: profile.pcrs, profile });
    const changedTo = new Map(changes.flatMap((c) => (c.after ? [[c.after.eventIndex, c] as const] : [])));
    const toLearn: TcgEvent[] = [];
    for (const f of found) {
      if (!ACCEPTABLE_CODES.has(f.code) || f.eventIndex === undefined) continue;
      const change = changedTo.get(f.eventIndex);
      const ev = h.latest.events[f.eventIndex];
      if (change === undefined || ev === undefined) {
        unexplained.push(`${describe(h.hostId, f)} (this event did not change since the host last passed: was the profile edited since?)`);
        continue;
      }
      toLearn.push(ev);
      accepted.set(canonicalChangeSet(null, null, [change], []), change);
    }
    allowEvents(draft, profile, h.latest, toLearn);
    learned += toLearn.length;
  }
  if (blocked.length > 0) return { ok: false, reason: 'not_acceptable', problems: blocked };
  if (unexplained.length > 0) return { ok: false, reason: 'incomplete', problems: unexplained };
  if (learned === 0) return { ok: false, reason: 'nothing_to_accept', problems: ['every host of the group already passes this profile on its latest boot'] };
  const next = finishDraft(draft);
  const still = hosts.flatMap((h) => failures(next, h.latest).map((f) => describe(h.hostId, f)));
  if (still.length > 0) return { ok: false, reason: 'incomplete', problems: still };
  return { ok: true, profile: next, accepted: [...accepted.values()] };
}
