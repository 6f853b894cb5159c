/**
 * PostgreSQL backend of the Store (node-postgres, one pool per process), shared by any number of
 * verifier replicas. Each atomic Store method is one statement or one transaction (postgres/*.ts);
 * PostgreSQL makes each durable at COMMIT (synchronous_commit) before the method resolves. LISTEN
 * (postgres/listener.ts) tells every replica of changes any replica committed.
 *
 * A database that cannot be reached fails the call with StoreError 'unavailable' (answered 503);
 * the pool opens fresh connections once it is back, so the service recovers without a restart.
 */
import type pg from 'pg';
import { deflateRawSync } from 'node:zlib';
import type {
  ActivateOutcome,
  AppraisalRecord,
  AppraisalSummary,
  AppraisalTrust,
  HostTrustPage,
  HostTrustState,
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
import { StoreError } from './errors.ts';
import { ChangeFeed } from './change-feed.ts';
import { createClient, createPool, describeCause, guarded, isForeignKeyViolation, isUnavailable, type PoolSettings } from './postgres/pool.ts';
import { migrate, schemaVersion } from './postgres/migrate.ts';
import { ChangeListener } from './postgres/listener.ts';
import * as hosts from './postgres/hosts.ts';
import * as att from './postgres/attestations.ts';
import * as cat from './postgres/catalog.ts';
import * as hooks from './postgres/webhooks.ts';
import * as fleet from './postgres/fleet.ts';
import { BoundedLru } from '../util/lru.ts';

export interface PostgresStoreOptions extends PoolSettings {
  /** How long start-up keeps retrying an unreachable database before giving up (default 10 s). */
  connectDeadlineMs?: number;
  /** A pooled or LISTEN connection failed outside any request (logged; the pool replaces it). */
  onConnectionError?: (err: Error) => void;
}

const HEALTH_TIMEOUT_MS = 2000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class PostgresStore implements Store {
  private readonly changes = new ChangeFeed();
  private readonly listener: ChangeListener;
  private closed = false;
  /**
   * Digests of event logs this process stored or found stored: their bytes are neither compressed
   * nor sent again (a host re-sends one log all boot long). A log pruned meanwhile is not kept for
   * the new appraisal (recordAppraisal checks), never wrongly claimed.
   */
  private readonly storedLogs = new BoundedLru<string, true>(4096, 4096);

  private constructor(
    readonly pool: pg.Pool,
    private readonly settings: PostgresStoreOptions,
  ) {
    this.listener = new ChangeListener(() => createClient(settings), this.changes, (err) => settings.onConnectionError?.(err));
  }

  /** Connects (retrying until the deadline), migrates under the advisory lock, and starts listening. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = createPool(options, (err) => options.onConnectionError?.(err));
    const store = new PostgresStore(pool, options);
    try {
      await store.connectWithin(options.connectDeadlineMs ?? 10_000);
      const client = await pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
      await store.listener.start();
      return store;
    } catch (err) {
      await store.close();
      if (err instanceof StoreError) throw err;
      const how = isUnavailable(err) ? 'cannot reach' : 'cannot use';
      throw new StoreError('unavailable', `${how} the database at ${options.target}: ${describeCause(err)}`, { cause: err });
    }
  }

  /** Retries what may pass (refused, reset, starting up); stops at once on what will not (authentication, no such database). */
  private async connectWithin(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await this.pool.query('SELECT 1');
        return;
      } catch (err) {
        if (!isUnavailable(err) || Date.now() + wait >= deadline) {
          const how = isUnavailable(err) ? `cannot reach` : 'cannot use';
          const after = isUnavailable(err) ? ` (gave up after ${Math.round(deadlineMs / 1000)} s)` : '';
          throw new StoreError('unavailable', `${how} the database at ${this.settings.target}: ${describeCause(err)}${after}`, { cause: err });
        }
        await sleep(wait);
      }
    }
  }

  private run<T>(op: (pool: pg.Pool) => Promise<T>): Promise<T> {
    return guarded(this.settings.target, () => op(this.pool));
  }

  /** A write that references a host: a foreign key violation means the host was deleted meanwhile. */
  private async forHost<T>(hostId: string, what: string, op: (pool: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await this.run(op);
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new StoreError('host_not_found', `host ${hostId} ${what}`);
      throw err;
    }
  }

  async schemaVersion(): Promise<number> {
    return this.run(async (p) => {
      const c = await p.connect();
      try {
        return await schemaVersion(c);
      } finally {
        c.release();
      }
    });
  }

  createEnrollment(e: EnrollmentRecord): Promise<void> {
    return this.run((p) => hosts.createEnrollment(p, e));
  }
  getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined> {
    return this.run((p) => hosts.getEnrollment(p, enrollmentId));
  }
  activateEnrollment(enrollmentId: string, now: Date): Promise<ActivateOutcome> {
    return this.run((p) => hosts.activateEnrollment(p, enrollmentId, now));
  }
  getHost(hostId: string): Promise<HostRecord | undefined> {
    return this.run((p) => hosts.getHost(p, hostId));
  }
  listHosts(): Promise<HostRecord[]> {
    return this.run((p) => hosts.listHosts(p));
  }
  listHostTrust(page?: HostTrustPage): Promise<Array<{ host: HostRecord; last?: AppraisalTrust }>> {
    return this.run((p) => hosts.listHostTrust(p, page));
  }
  countHostTrust(now: Date): Promise<Record<HostTrustState, number>> {
    return this.run((p) => hosts.countHostTrust(p, now));
  }
  setHostProfiles(hostId: string, profiles: string[]): Promise<boolean> {
    return this.run((p) => hosts.setHostProfiles(p, hostId, profiles));
  }
  deleteHost(hostId: string): Promise<boolean> {
    return this.run((p) => hosts.deleteHost(p, hostId));
  }
  revokeHost(hostId: string, at: Date): Promise<boolean> {
    return this.run((p) => hosts.revokeHost(p, hostId, at));
  }
  pruneEnrollments(before: Date): Promise<number> {
    return this.run((p) => hosts.pruneEnrollments(p, before));
  }

  async putNonce(n: NonceRecord): Promise<{ outcome: 'issued' | 'host_revoked'; host: HostRecord }> {
    const out = await this.forHost(n.hostId, 'is not enrolled', (p) => att.putNonce(p, n));
    if (!out) throw new StoreError('host_not_found', `host ${n.hostId} is not enrolled`);
    return out;
  }
  consumeNonce(nonceHash: string, hostId: string, now: Date): Promise<{ outcome: NonceOutcome; host?: HostRecord }> {
    return this.run((p) => att.consumeNonce(p, nonceHash, hostId, now));
  }
  pruneNonces(before: Date): Promise<number> {
    return this.run((p) => att.pruneNonces(p, before));
  }

  async recordAppraisal(a: AppraisalRecord): Promise<{ previous?: AppraisalVerdict }> {
    const digest = a.eventLog !== undefined ? a.evidence.eventLog : undefined;
    const known = digest !== undefined && this.storedLogs.get(digest) === true;
    const log = a.eventLog === undefined ? undefined : known ? null : deflateRawSync(a.eventLog);
    const { previous, logKept } = await this.forHost(a.hostId, 'was deleted', (p) => att.recordAppraisal(p, a, log));
    if (digest !== undefined && a.eventLog !== undefined && !logKept) {
      // Retention dropped the log since this process stored it: store it again for this appraisal.
      this.storedLogs.delete(digest);
      const bytes = deflateRawSync(a.eventLog);
      await this.run((p) => att.keepAppraisalLog(p, a.appraisalId, digest, bytes, a.eventLog?.length ?? 0, a.appraisedAt));
    }
    if (digest !== undefined) this.storedLogs.set(digest, true);
    return previous ? { previous } : {};
  }
  getAppraisal(appraisalId: string): Promise<AppraisalRecord | undefined> {
    return this.run((p) => att.getAppraisal(p, appraisalId));
  }
  lastAppraisal(hostId: string): Promise<AppraisalRecord | undefined> {
    return this.run((p) => att.lastAppraisal(p, hostId));
  }
  lastAppraisalVerdict(hostId: string): Promise<AppraisalVerdict | undefined> {
    return this.run((p) => att.lastAppraisalVerdict(p, hostId));
  }
  lastPassingAppraisal(hostId: string): Promise<AppraisalRecord | undefined> {
    return this.run((p) => att.lastPassingAppraisal(p, hostId));
  }
  listAppraisals(hostId: string, limit: number, beforeSeq?: number): Promise<AppraisalSummary[]> {
    return this.run((p) => fleet.listAppraisals(p, hostId, limit, beforeSeq));
  }
  lastPassingByProfile(name: string): ReturnType<Store['lastPassingByProfile']> {
    return this.run((p) => fleet.lastPassingByProfile(p, name));
  }

  getEventLog(digest: string): Promise<Uint8Array | undefined> {
    return this.run((p) => fleet.getEventLog(p, digest));
  }
  pruneEvidence(policy: EvidenceRetention): Promise<{ appraisals: number; logs: number }> {
    return this.run((p) => fleet.pruneEvidence(p, policy));
  }
  pruneHistory(before: Date): Promise<number> {
    return this.run((p) => fleet.pruneHistory(p, before));
  }
  getHostDrift(hostId: string): Promise<{ groupId: string; appraisalId: string } | undefined> {
    return this.run((p) => fleet.getHostDrift(p, hostId));
  }
  listDriftGroups(): Promise<DriftGroupRecord[]> {
    return this.run((p) => fleet.listDriftGroups(p));
  }
  getDriftGroup(groupId: string): ReturnType<Store['getDriftGroup']> {
    return this.run((p) => fleet.getDriftGroup(p, groupId));
  }
  acceptDrift(profile: ProfileRecord, acceptance: DriftAcceptanceRecord): Promise<'created' | 'exists' | 'conflict'> {
    return this.run((p) => fleet.acceptDrift(p, profile, acceptance));
  }
  listDriftAcceptances(groupId?: string): Promise<DriftAcceptanceRecord[]> {
    return this.run((p) => fleet.listDriftAcceptances(p, groupId));
  }

  listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.run((p) => cat.listSigningKeys(p));
  }
  putSigningKey(k: SigningKeyRecord): Promise<void> {
    return this.run((p) => cat.putSigningKey(p, k));
  }
  retireSigningKey(kid: string, retiredAt: Date, retireAfter: Date): Promise<void> {
    return this.run((p) => cat.retireSigningKey(p, kid, retiredAt, retireAfter));
  }
  resealSigningKey(kid: string, expected: string, privateJwk: string): Promise<boolean> {
    return this.run((p) => cat.resealSigningKey(p, kid, expected, privateJwk));
  }

  revokeToken(jti: string, hostId: string | null, at: Date, expiresAt: Date | null): Promise<void> {
    return this.run((p) => att.revokeToken(p, jti, hostId, at, expiresAt));
  }
  isTokenRevoked(jti: string): Promise<boolean> {
    return this.run((p) => att.isTokenRevoked(p, jti));
  }

  putProfile(pr: ProfileRecord): Promise<void> {
    return this.run((p) => cat.putProfile(p, pr));
  }
  getProfile(name: string, version?: string): Promise<ProfileRecord | undefined> {
    return this.run((p) => cat.getProfile(p, name, version));
  }
  latestProfileVersion(name: string): Promise<string | undefined> {
    return this.run((p) => cat.latestProfileVersion(p, name));
  }
  listProfiles(): Promise<ProfileRecord[]> {
    return this.run((p) => cat.listProfiles(p));
  }

  putSecret(s: SecretRecord): Promise<void> {
    return this.run((p) => cat.putSecret(p, s));
  }
  getSecret(name: string): Promise<SecretRecord | undefined> {
    return this.run((p) => cat.getSecret(p, name));
  }
  recordRelease(r: ReleaseRecord): Promise<void> {
    return this.run((p) => cat.recordRelease(p, r));
  }
  listReleases(secretName?: string): Promise<ReleaseRecord[]> {
    return this.run((p) => cat.listReleases(p, secretName));
  }

  async appendTrustEvent(e: Omit<TrustEventRecord, 'seq'>): Promise<TrustEventRecord> {
    return (await this.run((p) => cat.appendTrustEvent(p, e))).event;
  }
  trustEventsAfter(seq: number, limit: number): Promise<TrustEventRecord[]> {
    return this.run((p) => cat.trustEventsAfter(p, seq, limit));
  }

  putWebhook(w: WebhookRecord): Promise<'created' | 'updated'> {
    return this.run((p) => hooks.putWebhook(p, w));
  }
  deleteWebhook(id: string): Promise<boolean> {
    return this.run((p) => hooks.deleteWebhook(p, id));
  }
  listWebhooks(): Promise<WebhookRecord[]> {
    return this.run((p) => hooks.listWebhooks(p));
  }
  claimWebhookDeliveries(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<WebhookDelivery[]> {
    return this.run((p) => hooks.claimWebhookDeliveries(p, owner, now, leaseUntil, limit));
  }
  finishWebhookDelivery(deliveryId: number, owner: string, retryAt: Date | null): Promise<boolean> {
    return this.run((p) => hooks.finishWebhookDelivery(p, deliveryId, owner, retryAt));
  }
  pendingWebhookDeliveries(): Promise<number> {
    return this.run((p) => hooks.pendingWebhookDeliveries(p));
  }

  getSetting(name: string): Promise<string | undefined> {
    return this.run((p) => cat.getSetting(p, name));
  }
  putSettingIfAbsent(name: string, value: string): Promise<string> {
    return this.run((p) => cat.putSettingIfAbsent(p, name, value));
  }

  /** Changes committed by any replica arrive through LISTEN, this process's own included. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.changes.subscribe(listener);
  }

  /** A round trip within 2 s: the database is down otherwise, whatever the pool believes. */
  async health(): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (this.closed) return { ok: false, reason: 'the database connection is closed' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `the database at ${this.settings.target} is unreachable: ${describeCause(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.pool.end().catch(() => undefined);
  }
}

export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options);
}
