/**
 * Fleet drift (contract §6): failing hosts grouped by their drift identity, and accepting a group,
 * which writes the next version of its profile that also allows the group's new values. The plan
 * is proven on every host's latest log before anything is written (src/appraisal/acceptance.ts),
 * and the version and its audit record are written together, once, however many accepts race.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { planAcceptance, notAcceptableReason, type AcceptanceHost } from '../appraisal/acceptance.ts';
import type { BootChange } from '../appraisal/diff.ts';
import type { ProfileCatalog } from '../attestation/profiles.ts';
import { bumpVersion } from '../golden/merge.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import type { DriftAcceptanceRecord, DriftGroupRecord, Store } from '../store/types.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { ApiError } from '../util/errors.ts';
import type { EvidenceLogs } from './evidence.ts';

export interface DriftGroupView {
  groupId: string;
  profile: string | null;
  hosts: string[];
  count: number;
  changes: unknown[];
  /** Failure codes no accepted change can cure: accepting the group is refused while there are any. */
  blockers: string[];
  firstSeen: string;
  lastSeen: string;
}

export interface AcceptOutcome {
  /** 201 when this request wrote the version, 200 when an identical accept already had. */
  status: 200 | 201;
  body: { profile: string; accepted: unknown[]; groupId: string; hosts: string[]; acceptanceId: string };
}

const MAX_RACE_RETRIES = 5;

function view(g: DriftGroupRecord): DriftGroupView {
  return {
    groupId: g.groupId,
    profile: g.profile,
    hosts: g.hostIds,
    count: g.hostIds.length,
    changes: g.changes,
    blockers: g.blockers,
    firstSeen: g.firstSeen,
    lastSeen: g.lastSeen,
  };
}

export class DriftService {
  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileCatalog,
    private readonly logs: EvidenceLogs,
    private readonly log: Logger,
  ) {}

  async list(): Promise<DriftGroupView[]> {
    return (await this.store.listDriftGroups()).map(view);
  }

  async accept(groupId: string, note: string, keyId: string, now: Date): Promise<AcceptOutcome> {
    for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
      const out = await this.tryAccept(groupId, note, keyId, now);
      if (out !== 'conflict') return out;
    }
    throw new ApiError(409, 'profile_changed', 'the profile kept changing while the group was accepted; try again');
  }

  /** One attempt; 'conflict' when another writer stored the version this attempt meant to write. */
  private async tryAccept(groupId: string, note: string, keyId: string, now: Date): Promise<AcceptOutcome | 'conflict'> {
    const group = await this.store.getDriftGroup(groupId);
    if (group === undefined) throw new ApiError(404, 'unknown_drift_group', `no failing host is in drift group ${groupId} (it was accepted and its hosts passed, or it never existed)`);
    if (group.blockers.length > 0) {
      throw new ApiError(409, 'change_not_acceptable', `drift group ${groupId} cannot be accepted: ${group.blockers.map((c) => `${c}: ${notAcceptableReason(c)}`).join('; ')}`);
    }
    const name = group.profile === null ? undefined : group.profile.slice(0, group.profile.lastIndexOf('@'));
    const latest = name === undefined ? undefined : await this.profiles.get(name);
    if (name === undefined || latest === undefined) {
      throw new ApiError(409, 'no_profile', `the hosts of drift group ${groupId} have no golden profile to extend; assign one with PUT /v1/hosts/{hostId}`);
    }
    const profile = (await this.profiles.byId(`${name}@${latest.version}`))?.parsed as GoldenProfile | undefined;
    if (profile === undefined) throw new ApiError(409, 'profile_unusable', `${name}@${latest.version} no longer loads; store a corrected version first`);

    const hosts = await this.evidence(group.members);
    let version = bumpVersion(latest.version);
    while ((await this.store.getProfile(name, version)) !== undefined) version = bumpVersion(version);
    const plan = planAcceptance(profile, version, hosts);
    if (!plan.ok) {
      if (plan.reason === 'nothing_to_accept') {
        // Accepted before (its hosts have not attested since): the same answer, nothing written.
        const prior = (await this.store.listDriftAcceptances(groupId)).at(-1);
        if (prior !== undefined) return { status: 200, body: this.answer(prior) };
        throw new ApiError(409, 'nothing_to_accept', `drift group ${groupId}: ${plan.problems.join('; ')}; the hosts fail for another reason (see their failures)`);
      }
      const code = plan.reason === 'not_acceptable' ? 'change_not_acceptable' : 'accept_incomplete';
      throw new ApiError(409, code, `drift group ${groupId} cannot be accepted: ${plan.problems.slice(0, 20).join('; ')}`.slice(0, 4000));
    }
    const acceptance: DriftAcceptanceRecord = {
      acceptanceId: randomUUID(),
      groupId,
      profileName: name,
      fromVersion: latest.version,
      toVersion: version,
      keyId,
      note,
      changes: plan.accepted,
      hostIds: group.hostIds,
      at: now.toISOString(),
    };
    const document = canonicalJson(plan.profile);
    const stored = await this.store.acceptDrift({ name, version, document, source: 'api', storedAt: now.toISOString() }, acceptance);
    if (stored === 'conflict') return 'conflict';
    if (stored === 'exists') {
      const prior = (await this.store.listDriftAcceptances()).filter((a) => a.profileName === name && a.toVersion === version).at(-1);
      return { status: 200, body: this.answer(prior ?? acceptance) };
    }
    this.log.info({ groupId, profile: `${name}@${version}`, from: latest.version, keyId, hosts: group.hostIds.length, changes: plan.accepted.length, note }, 'drift group accepted');
    return { status: 201, body: this.answer(acceptance) };
  }

  private answer(a: DriftAcceptanceRecord): AcceptOutcome['body'] {
    return { profile: `${a.profileName}@${a.toVersion}`, accepted: a.changes as BootChange[], groupId: a.groupId, hosts: a.hostIds, acceptanceId: a.acceptanceId };
  }

  /** Each distinct (last passing log, latest log) pair among the group's hosts, parsed. */
  private async evidence(members: Array<{ hostId: string; appraisalId: string }>): Promise<AcceptanceHost[]> {
    const pairs = new Map<string, AcceptanceHost>();
    for (const m of members) {
      const latest = await this.store.getAppraisal(m.appraisalId);
      const baseline = await this.store.lastPassingAppraisal(m.hostId);
      const latestLog = latest?.eventLogRetained === true ? await this.logs.get(latest.evidence.eventLog) : undefined;
      const baselineLog = baseline?.eventLogRetained === true ? await this.logs.get(baseline.evidence.eventLog) : undefined;
      if (latest === undefined || latestLog === undefined || (baseline !== undefined && baselineLog === undefined)) {
        throw new ApiError(409, 'evidence_unavailable', `the event logs of host ${m.hostId} are no longer kept, so its change cannot be proven; let it attest again`);
      }
      const key = `${baseline?.evidence.eventLog ?? '-'}|${latest.evidence.eventLog}`;
      if (!pairs.has(key)) pairs.set(key, { hostId: m.hostId, baseline: baselineLog, latest: latestLog });
    }
    return [...pairs.values()];
  }
}
