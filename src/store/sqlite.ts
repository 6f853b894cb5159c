/**
 * SQLite backend of the Store (better-sqlite3).
 *
 * WAL with synchronous=FULL: a commit is fsynced before the method resolves, so anything the
 * service acknowledged survives kill -9 and power loss. Atomic methods are IMMEDIATE
 * transactions, so two processes sharing the file serialise on them too.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  ActivateOutcome,
  AppraisalRecord,
  EnrollmentRecord,
  HostRecord,
  NonceOutcome,
  NonceRecord,
  ProfileRecord,
  ReleaseRecord,
  SecretRecord,
  SigningKeyRecord,
  Store,
  TrustEventRecord,
} from './types.ts';
import { migrate, schemaVersion } from './sqlite/migrations.ts';
import { HostTables } from './sqlite/hosts.ts';
import { AttestationTables } from './sqlite/attestations.ts';
import { CatalogTables } from './sqlite/catalog.ts';
import { StoreError } from './errors.ts';

export interface SqliteStoreOptions {
  /** Milliseconds a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

function isForeignKeyError(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private readonly hosts: HostTables;
  private readonly attestations: AttestationTables;
  private readonly catalog: CatalogTables;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    try {
      this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
      this.hosts = new HostTables(this.db);
      this.attestations = new AttestationTables(this.db);
      this.catalog = new CatalogTables(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  async createEnrollment(e: EnrollmentRecord): Promise<void> {
    this.hosts.createEnrollment(e);
  }
  async getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined> {
    return this.hosts.getEnrollment(enrollmentId);
  }
  async activateEnrollment(enrollmentId: string, now: Date): Promise<ActivateOutcome> {
    return this.hosts.activate(enrollmentId, now);
  }
  async getHost(hostId: string): Promise<HostRecord | undefined> {
    return this.hosts.getHost(hostId);
  }
  async listHosts(): Promise<HostRecord[]> {
    return this.hosts.listHosts();
  }
  async setHostProfiles(hostId: string, profiles: string[]): Promise<boolean> {
    return this.hosts.setProfiles(hostId, profiles);
  }
  async deleteHost(hostId: string): Promise<boolean> {
    return this.hosts.delete(hostId);
  }
  async revokeHost(hostId: string, at: Date): Promise<boolean> {
    return this.hosts.revoke(hostId, at);
  }
  /** Not part of Store: housekeeping for enrollments that were never activated. */
  async pruneEnrollments(before: Date): Promise<number> {
    return this.hosts.pruneEnrollments(before);
  }

  async putNonce(n: NonceRecord): Promise<void> {
    try {
      this.attestations.putNonce(n);
    } catch (err) {
      if (isForeignKeyError(err)) throw new StoreError('host_not_found', `host ${n.hostId} is not enrolled`);
      throw err;
    }
  }
  async consumeNonce(nonceHash: string, hostId: string, now: Date): Promise<NonceOutcome> {
    return this.attestations.consume(nonceHash, hostId, now);
  }
  /** Not part of Store: housekeeping for expired nonces. */
  async pruneNonces(before: Date): Promise<number> {
    return this.attestations.pruneNonces(before);
  }

  async recordAppraisal(a: AppraisalRecord): Promise<void> {
    try {
      this.attestations.record(a);
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
  async lastPassingAppraisal(hostId: string): Promise<AppraisalRecord | undefined> {
    return this.attestations.lastPassing(hostId);
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.catalog.listKeys();
  }
  async putSigningKey(k: SigningKeyRecord): Promise<void> {
    this.catalog.putKey(k);
  }
  async retireSigningKey(kid: string, retiredAt: Date, retireAfter: Date): Promise<void> {
    this.catalog.retireKey(kid, retiredAt, retireAfter);
  }

  async revokeToken(jti: string, hostId: string | null, at: Date, expiresAt: Date | null): Promise<void> {
    this.attestations.revokeToken(jti, hostId, at, expiresAt);
  }
  async isTokenRevoked(jti: string): Promise<boolean> {
    return this.attestations.isRevoked(jti);
  }

  async putProfile(p: ProfileRecord): Promise<void> {
    this.catalog.putProfile(p);
  }
  async getProfile(name: string, version?: string): Promise<ProfileRecord | undefined> {
    return this.catalog.getProfile(name, version);
  }
  async listProfiles(): Promise<ProfileRecord[]> {
    return this.catalog.listProfiles();
  }

  async putSecret(s: SecretRecord): Promise<void> {
    this.catalog.putSecret(s);
  }
  async getSecret(name: string): Promise<SecretRecord | undefined> {
    return this.catalog.getSecret(name);
  }
  async recordRelease(r: ReleaseRecord): Promise<void> {
    this.catalog.recordRelease(r);
  }
  async listReleases(secretName?: string): Promise<ReleaseRecord[]> {
    return this.catalog.listReleases(secretName);
  }

  async appendTrustEvent(e: Omit<TrustEventRecord, 'seq'>): Promise<TrustEventRecord> {
    return this.catalog.appendEvent(e);
  }
  async trustEventsAfter(seq: number, limit: number): Promise<TrustEventRecord[]> {
    return this.catalog.eventsAfter(seq, limit);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating and migrating if needed) the store at `file`. */
export function openSqliteStore(file: string, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(file, options);
}
