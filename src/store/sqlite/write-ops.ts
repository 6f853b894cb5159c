/** Every write of the SQLite store, by name, over the three table groups; and the connection's pragmas. */
import type Database from 'better-sqlite3';
import { HostTables } from './hosts.ts';
import { AttestationTables } from './attestations.ts';
import { CatalogTables } from './catalog.ts';
import { WebhookTables } from './webhooks.ts';
import { FleetTables } from './fleet.ts';

export interface Tables {
  hosts: HostTables;
  attestations: AttestationTables;
  catalog: CatalogTables;
  fleet: FleetTables;
  webhooks: WebhookTables;
}

export function openTables(db: Database.Database): Tables {
  const fleet = new FleetTables(db);
  return { hosts: new HostTables(db), attestations: new AttestationTables(db, fleet), catalog: new CatalogTables(db), fleet, webhooks: new WebhookTables(db) };
}

export const WRITE_OPS = {
  createEnrollment: (t: Tables, e: Parameters<HostTables['createEnrollment']>[0]) => t.hosts.createEnrollment(e),
  activateEnrollment: (t: Tables, id: string, now: Date) => t.hosts.activate(id, now),
  setHostProfiles: (t: Tables, hostId: string, profiles: string[]) => t.hosts.setProfiles(hostId, profiles),
  deleteHost: (t: Tables, hostId: string) => t.hosts.delete(hostId),
  revokeHost: (t: Tables, hostId: string, at: Date) => t.hosts.revoke(hostId, at),
  pruneEnrollments: (t: Tables, before: Date) => t.hosts.pruneEnrollments(before),
  putNonce: (t: Tables, n: Parameters<AttestationTables['putNonce']>[0]) => t.attestations.putNonce(n),
  consumeNonce: (t: Tables, nonceHash: string, hostId: string, now: Date) => t.attestations.consume(nonceHash, hostId, now),
  pruneNonces: (t: Tables, before: Date) => t.attestations.pruneNonces(before),
  recordAppraisal: (t: Tables, a: Parameters<AttestationTables['record']>[0]) => t.attestations.record(a),
  revokeToken: (t: Tables, jti: string, hostId: string | null, at: Date, expiresAt: Date | null) =>
    t.attestations.revokeToken(jti, hostId, at, expiresAt),
  putSigningKey: (t: Tables, k: Parameters<CatalogTables['putKey']>[0]) => t.catalog.putKey(k),
  retireSigningKey: (t: Tables, kid: string, at: Date, after: Date) => t.catalog.retireKey(kid, at, after),
  resealSigningKey: (t: Tables, kid: string, expected: string, privateJwk: string) => t.catalog.resealKey(kid, expected, privateJwk),
  putProfile: (t: Tables, p: Parameters<CatalogTables['putProfile']>[0]) => t.catalog.putProfile(p),
  putSecret: (t: Tables, s: Parameters<CatalogTables['putSecret']>[0]) => t.catalog.putSecret(s),
  recordRelease: (t: Tables, r: Parameters<CatalogTables['recordRelease']>[0]) => t.catalog.recordRelease(r),
  appendTrustEvent: (t: Tables, e: Parameters<CatalogTables['appendEvent']>[0]) => {
    const stored = t.catalog.appendEvent(e);
    return { event: stored, deliveries: t.webhooks.enqueueFor(stored) };
  },
  putWebhook: (t: Tables, w: Parameters<WebhookTables['put']>[0]) => t.webhooks.put(w),
  deleteWebhook: (t: Tables, id: string) => t.webhooks.delete(id),
  claimWebhookDeliveries: (t: Tables, owner: string, now: Date, leaseUntil: Date, limit: number) => t.webhooks.claim(owner, now, leaseUntil, limit),
  finishWebhookDelivery: (t: Tables, id: number, owner: string, retryAt: Date | null) => t.webhooks.finish(id, owner, retryAt),
  putSettingIfAbsent: (t: Tables, name: string, value: string) => t.catalog.putSettingIfAbsent(name, value),
  acceptDrift: (t: Tables, p: Parameters<FleetTables['accept']>[1], a: Parameters<FleetTables['accept']>[2]) => t.fleet.accept(t.catalog, p, a),
  pruneEvidence: (t: Tables, policy: Parameters<FleetTables['pruneEvidence']>[0]) => t.fleet.pruneEvidence(policy),
  pruneHistory: (t: Tables, before: Date) => t.fleet.pruneHistory(before),
} as const;

export type WriteOpName = keyof typeof WRITE_OPS;
type Rest<F> = F extends (t: Tables, ...args: infer A) => unknown ? A : never;
export type WriteArgs<K extends WriteOpName> = Rest<(typeof WRITE_OPS)[K]>;
export type WriteResult<K extends WriteOpName> = ReturnType<(typeof WRITE_OPS)[K]>;

/**
 * Applies the pragmas every connection of the store uses; returns whether the database is in WAL
 * mode. In WAL mode, synchronous=NORMAL: COMMIT writes the WAL without fsync, and the group commit
 * fsyncs it off the event loop before answering anyone (group-commit.ts); checkpoints still fsync
 * inline. Where WAL is unavailable, COMMIT itself must be durable: synchronous=FULL.
 */
export function configureConnection(db: Database.Database, busyTimeoutMs: number): boolean {
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  const wal = db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return wal;
}
