/**
 * The census of a profile (contract §6 GET /v1/golden/{name}/census): for each value its latest
 * version allows, the hosts whose last passing boot used it, read from the kept logs of those
 * boots. A value no host uses any more is one an operator can retire in the next version.
 */
import { allowedValues, usedValues } from '../appraisal/census.ts';
import type { ProfileCatalog } from '../attestation/profiles.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import type { Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import { BoundedLru } from '../util/lru.ts';
import type { EvidenceLogs } from './evidence.ts';

export interface CensusView {
  profile: string;
  components: Array<{ pcr: number | null; component: string; values: Array<{ digest?: string; text?: string; hosts: number; hostIds: string[] }> }>;
  /** Hosts whose last passing boot was against this profile, and those of them whose log is no longer kept. */
  hosts: number;
  unknown: string[];
}

export class CensusService {
  /** Values used by one log under one profile version. */
  private readonly used = new BoundedLru<string, Set<string>>(16384, 16384);

  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileCatalog,
    private readonly logs: EvidenceLogs,
  ) {}

  async census(name: string): Promise<CensusView> {
    const latest = await this.profiles.get(name);
    if (latest === undefined) throw new ApiError(404, 'unknown_profile', `no golden profile ${name}`);
    const id = `${name}@${latest.version}`;
    const profile = (await this.profiles.byId(id))?.parsed as GoldenProfile | undefined;
    if (profile === undefined) throw new ApiError(409, 'profile_unusable', `${id} no longer loads; store a corrected version`);
    const allowed = allowedValues(profile);
    const hostsByValue = new Map<string, string[]>();
    const unknown: string[] = [];
    const passing = await this.store.lastPassingByProfile(name);
    for (const h of passing) {
      const key = `${h.eventLogDigest}|${id}`;
      let used = this.used.get(key);
      if (used === undefined) {
        const log = h.eventLogRetained ? await this.logs.get(h.eventLogDigest) : undefined;
        if (log === undefined) {
          unknown.push(h.hostId);
          continue;
        }
        used = usedValues(profile, log, allowed);
        this.used.set(key, used);
      }
      for (const v of used) {
        let list = hostsByValue.get(v);
        if (list === undefined) hostsByValue.set(v, (list = []));
        list.push(h.hostId);
      }
    }
    return {
      profile: id,
      components: allowed.map((c) => ({
        pcr: c.pcr,
        component: c.component,
        values: c.values.map((v) => {
          const hostIds = hostsByValue.get(v.key) ?? [];
          return { ...(v.digest !== undefined ? { digest: v.digest } : {}), ...(v.text !== undefined ? { text: v.text } : {}), hosts: hostIds.length, hostIds };
        }),
      })),
      hosts: passing.length,
      unknown,
    };
  }
}
