/** Host views for schedulers and host administration (contract §3.3). */
import type { HostRecord, Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import type { ProfileCatalog } from './profiles.ts';
import { trustOf, trustStatusOf, type TrustStatus, type TrustView } from './trust.ts';

export interface HostView {
  hostId: string;
  enrolledAt: string;
  akName: string;
  profiles: string[];
  revokedAt?: string;
  trust: TrustView;
}

function view(host: HostRecord, trust: TrustView): HostView {
  return {
    hostId: host.hostId,
    enrolledAt: host.enrolledAt,
    akName: host.akName,
    profiles: host.profiles,
    ...(host.revokedAt ? { revokedAt: host.revokedAt } : {}),
    trust,
  };
}

export class HostService {
  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileCatalog,
  ) {}

  private async viewOf(host: HostRecord, now: Date): Promise<HostView> {
    return view(host, trustOf(host, await this.store.lastAppraisal(host.hostId), now));
  }

  async get(hostId: string, now: Date): Promise<HostView> {
    const host = await this.store.getHost(hostId);
    if (!host) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    return this.viewOf(host, now);
  }

  async list(now: Date, status?: TrustStatus): Promise<HostView[]> {
    const rows = await this.store.listHostTrust(status === undefined ? undefined : { trust: { state: status, now } });
    return rows.map(({ host, last }) => view(host, trustOf(host, last, now)));
  }

  /**
   * One page of hosts in hostId order (contract §3.3), optionally in one trust state, which the
   * store filters: the page reads the hosts it returns and one more. The cursor is the last hostId
   * of the page, so a host that stays in its state is listed exactly once however the fleet
   * changes while a client pages.
   */
  async page(now: Date, status: TrustStatus | undefined, limit: number, after?: string): Promise<{ hosts: HostView[]; next: string | null }> {
    const from = after === undefined ? undefined : decodeCursor(after, 'h', /^[A-Za-z0-9._:-]{1,128}$/);
    const rows = await this.store.listHostTrust({
      ...(from !== undefined ? { after: from } : {}),
      limit: limit + 1,
      ...(status !== undefined ? { trust: { state: status, now } } : {}),
    });
    // A host beyond the page: there is a next page, and it starts after the page's last host.
    const more = rows.length > limit;
    const hosts = (more ? rows.slice(0, limit) : rows).map(({ host, last }) => view(host, trustOf(host, last, now)));
    return { hosts, next: more ? encodeCursor('h', (hosts.at(-1) as HostView).hostId) : null };
  }

  /** For relying parties inside bootgate (key release): the host's status and the appraisal behind it. */
  async trustStatus(hostId: string, now: Date): Promise<{ status: TrustStatus; appraisalId?: string }> {
    const host = await this.store.getHost(hostId);
    if (!host) return { status: 'unknown' };
    const last = await this.store.lastAppraisalVerdict(hostId);
    return { status: trustStatusOf(host, last, now), ...(last ? { appraisalId: last.appraisalId } : {}) };
  }

  async setProfiles(hostId: string, names: string[], now: Date): Promise<HostView> {
    for (const name of names) {
      if (!(await this.profiles.exists(name))) throw new ApiError(400, 'unknown_profile', `no golden profile named "${name}"`);
    }
    if (!(await this.store.setHostProfiles(hostId, [...new Set(names)]))) {
      throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    }
    return this.get(hostId, now);
  }

  async delete(hostId: string, now: Date): Promise<void> {
    const last = await this.store.lastPassingAppraisal(hostId);
    if (!(await this.store.deleteHost(hostId))) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    if (last?.tokenId && last.tokenExpiresAt && Date.parse(last.tokenExpiresAt) > now.getTime()) {
      await this.store.revokeToken(last.tokenId, hostId, now, new Date(last.tokenExpiresAt));
    }
    await this.store.appendTrustEvent({ hostId, kind: 'deleted', at: now.toISOString() });
  }
}
