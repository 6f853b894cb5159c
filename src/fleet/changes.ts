/**
 * What changed in a host's boot since its last passing appraisal (contract §6 GET
 * /v1/hosts/{id}/changes), and the drift entry recorded with each counted failure: the same
 * diff, from the two kept event logs, with the components and bank of the profile that appraised
 * the latest boot.
 */
import type { Logger } from 'pino';
import { blockingCodes, changeSetId } from '../appraisal/change-set.ts';
import { diffBoots, type BootChange } from '../appraisal/diff.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import type { ProfileCatalog } from '../attestation/profiles.ts';
import type { AppraisalRecord, DriftEntry, Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import { BoundedLru } from '../util/lru.ts';
import type { EvidenceLogs } from './evidence.ts';

export interface HostChanges {
  hostId: string;
  from: string | null;
  to: string;
  /** The profile whose bank, PCRs and vocabulary the diff uses ("name@version"). */
  profile: string | null;
  bank: string;
  /** The host's drift group while it fails. */
  groupId?: string;
  changes: BootChange[];
  /** Why the changes could not be computed, when they could not. */
  note?: string;
}

/** As many as an appraisal lists findings (MAX_FINDINGS): a signed but absurd log cannot bloat a group or an answer. */
const MAX_KEPT_CHANGES = 1000;

/** Without a profile: every PCR, in SHA-256. */
const ALL_PCRS = [...Array(24).keys()];

interface Basis {
  profile: GoldenProfile | undefined;
  bank: string;
}

export class ChangeTracker {
  /** Drift entries by (baseline log, latest log, profile, blockers): a failing host re-attests with the same boot. */
  private readonly entries = new BoundedLru<string, DriftEntry>(4096, 4096);

  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileCatalog,
    private readonly logs: EvidenceLogs,
    private readonly log: Logger,
  ) {}

  private async basis(profileId: string | null): Promise<Basis> {
    const loaded = profileId === null ? undefined : await this.profiles.byId(profileId);
    const profile = loaded?.parsed as GoldenProfile | undefined;
    return { profile, bank: profile?.bank ?? 'sha256' };
  }

  /**
   * The diff of two boots. A host that never passed is compared with an empty boot, and then only
   * the events its appraisal refused are listed: the rest of a first boot is not news, and hosts
   * of one model that fail on the same values form one group whatever else differs between them.
   */
  private diff(basis: Basis, before: EventLog | undefined, after: EventLog, failures: readonly unknown[]): BootChange[] {
    const p = basis.profile;
    const refused = new Set(failures.flatMap((f) => (typeof (f as { eventIndex?: unknown }).eventIndex === 'number' ? [(f as { eventIndex: number }).eventIndex] : [])));
    return diffBoots(before, after, {
      bank: p?.bank ?? 'sha256',
      pcrs: p?.pcrs ?? ALL_PCRS,
      ...(p ? { profile: p } : {}),
      ...(before === undefined ? { onlyAfter: refused } : {}),
      maxDetailed: MAX_KEPT_CHANGES,
    });
  }

  /**
   * The drift entry of a counted failure about to be recorded: `record.eventLog` holds its log when
   * the log was appraised; `baseline` is the host's last passing appraisal. Undefined (and logged)
   * when it cannot be computed: the verdict is recorded all the same, and the host is left out of
   * /v1/drift until it attests again.
   */
  async driftEntry(record: AppraisalRecord, baseline: AppraisalRecord | undefined): Promise<DriftEntry | undefined> {
    try {
      return await this.computeEntry(record, baseline);
    } catch (err) {
      this.log.error({ err, hostId: record.hostId, appraisalId: record.appraisalId }, 'drift entry failed');
      return undefined;
    }
  }

  private async computeEntry(record: AppraisalRecord, baseline: AppraisalRecord | undefined): Promise<DriftEntry> {
    const blockers = blockingCodes(record.failures as Array<{ code: string }>);
    const profileName = record.profile === null ? null : record.profile.slice(0, record.profile.lastIndexOf('@'));
    const latestDigest = record.eventLog !== undefined ? record.evidence.eventLog : undefined;
    const baselineDigest = baseline?.eventLogRetained === true ? baseline.evidence.eventLog : undefined;
    const key = `${baselineDigest ?? '-'}|${latestDigest ?? '-'}|${record.profile ?? '-'}|${blockers.join(',')}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const basis = await this.basis(record.profile);
    let changes: BootChange[] = [];
    // A boot with more findings than an appraisal lists is grouped by its failure codes alone: such
    // a log (tens of thousands of events) can never be accepted, and diffing it would cost a second.
    const absurd = blockers.includes('findings_truncated');
    const latest = !absurd && latestDigest !== undefined && record.eventLog !== undefined ? this.logs.parse(latestDigest, record.eventLog) : undefined;
    if (latest !== undefined && (baseline === undefined || baselineDigest !== undefined)) {
      const before = baselineDigest === undefined ? undefined : await this.logs.get(baselineDigest);
      if (baselineDigest === undefined || before !== undefined) changes = this.diff(basis, before, latest, record.failures);
    }
    // The id covers every change; a group keeps at most MAX_KEPT_CHANGES of them to show.
    const entry: DriftEntry = { groupId: changeSetId(profileName, basis.bank, changes, blockers), changes: changes.slice(0, MAX_KEPT_CHANGES), blockers, bank: basis.bank };
    this.entries.set(key, entry);
    return entry;
  }

  async hostChanges(hostId: string): Promise<HostChanges> {
    if ((await this.store.getHost(hostId)) === undefined) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    const latest = await this.store.lastAppraisal(hostId);
    if (latest === undefined) throw new ApiError(404, 'no_appraisal', `host ${hostId} has not been appraised yet`);
    const baseline = latest.verdict === 'pass' ? latest : await this.store.lastPassingAppraisal(hostId);
    const basis = await this.basis(latest.profile);
    const out: HostChanges = { hostId, from: baseline?.appraisalId ?? null, to: latest.appraisalId, profile: latest.profile, bank: basis.bank, changes: [] };
    const drift = await this.store.getHostDrift(hostId);
    if (drift !== undefined && drift.appraisalId === latest.appraisalId) out.groupId = drift.groupId;
    if (baseline === latest) return out;
    const after = latest.eventLogRetained === true ? await this.logs.get(latest.evidence.eventLog) : undefined;
    if (after === undefined) {
      out.note = 'the latest appraisal judged no event log (its quote or nonce failed first), so there is no boot to compare';
      return out;
    }
    const before = baseline?.eventLogRetained === true ? await this.logs.get(baseline.evidence.eventLog) : undefined;
    if (baseline !== undefined && before === undefined) {
      out.note = 'the event log of the last passing appraisal is no longer kept';
      return out;
    }
    const changes = this.diff(basis, before, after, latest.failures);
    out.changes = changes.slice(0, MAX_KEPT_CHANGES);
    if (changes.length > MAX_KEPT_CHANGES) out.note = `${changes.length} changes; the first ${MAX_KEPT_CHANGES} are listed`;
    return out;
  }
}
