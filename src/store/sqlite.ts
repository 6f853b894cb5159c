/**
 * SQLite backend of the Store (better-sqlite3).
 *
 * WAL, with every commit fsynced before the method resolves, so anything the service
 * acknowledged survives kill -9 and power loss. Writes are group-committed (see
 * sqlite/group-commit.ts): those issued in one event-loop turn share one IMMEDIATE transaction,
 * each in its own savepoint, and the fsync runs off the event loop (sqlite/wal-sync.ts) and
 * covers every batch committed before it. Reads run at once against committed data.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  ActivateOutcome,
  AppraisalRecord,
  AppraisalTrust,
  HostTrustPage,
  HostTrustState,
  AppraisalSummary,
  AppraisalVerdict,
  DriftAcceptanceRecord,
  DriftGroupRecord,
  EnrollmentRecord,
  EvidenceRetention,
  HostRecord,
  NonceOutcome,
  NonceRecord,
  ProfileRecord,
  ReleaseRecord,
  SecretRecord,
  SigningKeyRecord,
  Store,
  StoreChange,
  TrustEventRecord,
  WebhookDelivery,
  WebhookRecord,
} from './types.ts';
import { ChangeFeed } from './change-feed.ts';
import { migrate, schemaVersion } from './sqlite/migrations.ts';
import { GroupCommit } from './sqlite/group-commit.ts';
import { WalSync } from './sqlite/wal-sync.ts';
import { configureConnection, openTables, WRITE_OPS, type Tables, type WriteArgs, type WriteOpName, type WriteResult } from './sqlite/write-ops.ts';
import { StoreError } from './errors.ts';

export interface SqliteStoreOptions {
  /** Milliseconds a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** Called after each committed write batch with the number of writes it carried. */
  onCommit?: (writes: number) => void;
  /** Called after each fsync of the WAL with the batches it made durable and its seconds. */
  onSync?: (batches: number, seconds: number) => void;
  /** Replaces the fsync of the WAL (tests inject a failing disk). */
  sync?: () => Promise<void>;
}

function isForeignKeyError(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly hosts: Tables['hosts'];
  private readonly attestations: Tables['attestations'];
  private readonly catalog: Tables['catalog'];
  private readonly fleet: Tables['fleet'];
  private readonly tables: Tables;
  private readonly writes: GroupCommit;
  private readonly walSync: WalSync | undefined;
  /** One process owns the file: its own committed writes are every change there is. */
  private readonly changes = new ChangeFeed();

  constructor(file: string, options: SqliteStoreOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    try {
      const walMode = configureConnection(this.db, options.busyTimeoutMs ?? 5000);
      migrate(this.db);
      this.tables = openTables(this.db);
      this.hosts = this.tables.hosts;
      this.attestations = this.tables.attestations;
      this.catalog = this.tables.catalog;
      this.fleet = this.tables.fleet;
      // An in-memory database has no WAL (and nothing to make durable).
      this.walSync = walMode && !options.sync ? new WalSync(`${this.db.name}-wal`) : undefined;
      const sync = options.sync ?? this.walSync?.sync;
      this.writes = new GroupCommit(this.db, {
        ...(options.onCommit ? { onCommit: options.onCommit } : {}),
        ...(options.onSync ? { onSync: options.onSync } : {}),
        ...(sync ? { sync } : {}),
      });
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /** Queues a write for this turn's group commit; resolves once it is committed. */
  private write<K extends WriteOpName>(op: K, ...args: WriteArgs<K>): Promise<WriteResult<K>> {
    const apply = WRITE_OPS[op] as unknown as (t: Tables, ...a: WriteArgs<K>) => WriteResult<K>;
    return this.writes.run(() => apply(this.tables, ...args));
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  async createEnrollment(e: EnrollmentRecord): Promise<void> {
    await this.write('createEnrollment', e);
  }
  async getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined> {
    return this.hosts.getEnrollment(enrollmentId);
  }
  async activateEnrollment(enrollmentId: string, now: Date): Promise<ActivateOutcome> {
    return this.write('activateEnrollment', enrollmentId, now);
  }
  async getHost(hostId: string): Promise<HostRecord | undefined> {
    return this.hosts.getHost(hostId);
  }
  async listHosts(): Promise<HostRecord[]> {
    return this.hosts.listHosts();
  }
  async listHostTrust(page?: HostTrustPage): Promise<Array<{ host: HostRecord; last?: AppraisalTrust }>> {
    return this.hosts.listHostTrust(page);
  }
  async countHostTrust(now: Date): Promise<Record<HostTrustState, number>> {
    return this.hosts.countHostTrust(now);
  }
  async setHostProfiles(hostId: string, profiles: string[]): Promise<boolean> {
    return this.write('setHostProfiles', hostId, profiles);
  }
  async deleteHost(hostId: string): Promise<boolean> {
    return this.write('deleteHost', hostId);
  }
  async revokeHost(hostId: string, at: Date): Promise<boolean> {
    return this.write('revokeHost', hostId, at);
  }
  async pruneEnrollments(before: Date): Promise<number> {
    return this.write('pruneEnrollments', before);
  }

  async putNonce(n: NonceRecord): Promise<{ outcome: 'issued' | 'host_revoked'; host: HostRecord }> {
    try {
      return await this.write('putNonce', n);
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError('host_not_found', `host ${n.hostId} is not enrolled`);
      throw err;
    }
  }
  async consumeNonce(nonceHash: string, hostId: string, now: Date): Promise<{ outcome: NonceOutcome; host?: HostRecord }> {
    return this.write('consumeNonce', nonceHash, hostId, now);
  }
  async pruneNonces(before: Date): Promise<number> {
    return this.write('pruneNonces', before);
  }

  async recordAppraisal(a: AppraisalRecord): Promise<{ previous?: AppraisalVerdict }> {
    try {
      return await this.write('recordAppraisal', a);
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError('host_not_found', `host ${a.hostId} was deleted`);
      throw err;
    }
  }
  async getAppraisal(appraisalId: string): Promise<AppraisalRecord | undefined> {
    return this.attestations.get(appraisalId);
  }
  async lastAppraisal(hostId: string): Promise<AppraisalRecord | undefined> {
    return this.attestations.last(hostId);
  }
  async lastAppraisalVerdict(hostId: string): Promise<AppraisalVerdict | undefined> {
    return this.attestations.lastVerdict(hostId);
  }
  async lastPassingAppraisal(hostId: string): Promise<AppraisalRecord | undefined> {
    return this.attestations.lastPassing(hostId);
  }
  async listAppraisals(hostId: string, limit: number, beforeSeq?: number): Promise<AppraisalSummary[]> {
    return this.fleet.history(hostId, limit, beforeSeq);
  }
  async lastPassingByProfile(name: string): ReturnType<Store['lastPassingByProfile']> {
    return this.fleet.lastPassingByProfile(name);
  }

  async getEventLog(digest: string): Promise<Uint8Array | undefined> {
    return this.fleet.getLog(digest);
  }
  async pruneEvidence(policy: EvidenceRetention): Promise<{ appraisals: number; logs: number }> {
    return this.write('pruneEvidence', policy);
  }
  async pruneHistory(before: Date): Promise<number> {
    return this.write('pruneHistory', before);
  }
  async getHostDrift(hostId: string): Promise<{ groupId: string; appraisalId: string } | undefined> {
    return this.fleet.hostDrift(hostId);
  }
  async listDriftGroups(): Promise<DriftGroupRecord[]> {
    return this.fleet.groups();
  }
  async getDriftGroup(groupId: string): ReturnType<Store['getDriftGroup']> {
    return this.fleet.group(groupId);
  }
  async acceptDrift(profile: ProfileRecord, acceptance: DriftAcceptanceRecord): Promise<'created' | 'exists' | 'conflict'> {
    const outcome = await this.write('acceptDrift', profile, acceptance);
    if (outcome === 'created') this.changes.emit({ kind: 'profiles' });
    return outcome;
  }
  async listDriftAcceptances(groupId?: string): Promise<DriftAcceptanceRecord[]> {
    return this.fleet.acceptances(groupId);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.catalog.listKeys();
  }
  async putSigningKey(k: SigningKeyRecord): Promise<void> {
    await this.write('putSigningKey', k);
    this.changes.emit({ kind: 'signing_keys' });
  }
  async retireSigningKey(kid: string, retiredAt: Date, retireAfter: Date): Promise<void> {
    await this.write('retireSigningKey', kid, retiredAt, retireAfter);
    this.changes.emit({ kind: 'signing_keys' });
  }
  async resealSigningKey(kid: string, expected: string, privateJwk: string): Promise<boolean> {
    return this.write('resealSigningKey', kid, expected, privateJwk);
  }

  async revokeToken(jti: string, hostId: string | null, at: Date, expiresAt: Date | null): Promise<void> {
    await this.write('revokeToken', jti, hostId, at, expiresAt);
  }
  async isTokenRevoked(jti: string): Promise<boolean> {
    return this.attestations.isRevoked(jti);
  }

  async putProfile(p: ProfileRecord): Promise<void> {
    await this.write('putProfile', p);
    this.changes.emit({ kind: 'profiles' });
  }
  async getProfile(name: string, version?: string): Promise<ProfileRecord | undefined> {
    return this.catalog.getProfile(name, version);
  }
  async latestProfileVersion(name: string): Promise<string | undefined> {
    return this.catalog.latestProfileVersion(name);
  }
  async listProfiles(): Promise<ProfileRecord[]> {
    return this.catalog.listProfiles();
  }

  async putSecret(s: SecretRecord): Promise<void> {
    await this.write('putSecret', s);
  }
  async getSecret(name: string): Promise<SecretRecord | undefined> {
    return this.catalog.getSecret(name);
  }
  async recordRelease(r: ReleaseRecord): Promise<void> {
    await this.write('recordRelease', r);
  }
  async listReleases(secretName?: string): Promise<ReleaseRecord[]> {
    return this.catalog.listReleases(secretName);
  }

  async appendTrustEvent(e: Omit<TrustEventRecord, 'seq'>): Promise<TrustEventRecord> {
    const { event, deliveries } = await this.write('appendTrustEvent', e);
    this.changes.emit({ kind: 'trust_event', seq: event.seq });
    if (deliveries > 0) this.changes.emit({ kind: 'webhook_delivery' });
    return event;
  }
  async trustEventsAfter(seq: number, limit: number): Promise<TrustEventRecord[]> {
    return this.catalog.eventsAfter(seq, limit);
  }

  async putWebhook(w: WebhookRecord): Promise<'created' | 'updated'> {
    return this.write('putWebhook', w);
  }
  async deleteWebhook(id: string): Promise<boolean> {
    return this.write('deleteWebhook', id);
  }
  async listWebhooks(): Promise<WebhookRecord[]> {
    return this.tables.webhooks.list();
  }
  async claimWebhookDeliveries(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<WebhookDelivery[]> {
    if (!this.tables.webhooks.anyDue(now)) return [];
    return this.write('claimWebhookDeliveries', owner, now, leaseUntil, limit);
  }
  async finishWebhookDelivery(deliveryId: number, owner: string, retryAt: Date | null): Promise<boolean> {
    return this.write('finishWebhookDelivery', deliveryId, owner, retryAt);
  }
  async pendingWebhookDeliveries(): Promise<number> {
    return this.tables.webhooks.pending();
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.catalog.getSetting(name);
  }
  async putSettingIfAbsent(name: string, value: string): Promise<string> {
    return this.write('putSettingIfAbsent', name, value);
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.changes.subscribe(listener);
  }

  async health(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (!this.db.open) return { ok: false, reason: 'the database is closed' };
    const failure = this.writes.failure;
    return failure ? { ok: false, reason: failure.message } : { ok: true };
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    // Writes already queued were promised an answer: commit them and make them durable first.
    this.writes.flush();
    await this.writes.drain();
    await this.walSync?.close();
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating and migrating if needed) the store at `file`. */
export function openSqliteStore(file: string, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(file, options);
}

