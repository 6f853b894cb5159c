/** Nonces, appraisals and token revocations in SQLite. */
import type Database from 'better-sqlite3';
import type { AppraisalRecord, AppraisalVerdict, HostRecord, NonceOutcome, NonceRecord } from '../types.ts';
import { hostFromRow, type HostRow } from './hosts.ts';
import type { FleetTables } from './fleet.ts';
import { optionalJson, parseJson } from './json.ts';
import { StoreError } from '../errors.ts';

interface NonceRow {
  nonce_hash: string;
  host_id: string;
  expires_at: string;
  used_at: string | null;
}

interface AppraisalRow {
  appraisal_id: string;
  host_id: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: string;
  pcrs: string;
  evidence: string;
  clock: string | null;
  token_id: string | null;
  token_expires_at: string | null;
  binding_key_thumbprint: string | null;
  binding_key: string | null;
  rejected: number;
  timings: string;
  appraised_at: string;
  log_digest: string | null;
}

function appraisalFromRow(r: AppraisalRow): AppraisalRecord {
  const a: AppraisalRecord = {
    appraisalId: r.appraisal_id,
    hostId: r.host_id,
    verdict: r.verdict,
    profile: r.profile,
    failures: parseJson<unknown[]>(r.failures),
    pcrs: parseJson<unknown>(r.pcrs),
    evidence: parseJson<AppraisalRecord['evidence']>(r.evidence),
    timings: parseJson<Record<string, number>>(r.timings),
    appraisedAt: r.appraised_at,
  };
  const clock = optionalJson<NonNullable<AppraisalRecord['clock']>>(r.clock);
  if (clock) a.clock = clock;
  if (r.token_id !== null) a.tokenId = r.token_id;
  if (r.token_expires_at !== null) a.tokenExpiresAt = r.token_expires_at;
  if (r.binding_key_thumbprint !== null) a.bindingKeyThumbprint = r.binding_key_thumbprint;
  if (r.binding_key !== null) a.bindingKey = r.binding_key;
  if (r.rejected !== 0) a.rejected = true;
  if (r.log_digest !== null) a.eventLogRetained = true;
  return a;
}

export class AttestationTables {
  private readonly insertNonce;
  private readonly selectHost;
  private readonly selectNonce;
  private readonly useNonce;
  private readonly deleteNonces;
  private readonly insertAppraisal;
  private readonly updateClock;
  private readonly selectAppraisal;
  private readonly selectLast;
  private readonly selectLastPass;
  private readonly selectLastVerdict;
  private readonly insertRevoked;
  private readonly selectRevoked;
  readonly consume: (nonceHash: string, hostId: string, now: Date) => { outcome: NonceOutcome; host?: HostRecord };
  readonly record: (a: AppraisalRecord) => { previous?: AppraisalVerdict };

  constructor(db: Database.Database, fleet: FleetTables) {
    this.insertNonce = db.prepare('INSERT INTO nonces (nonce_hash, host_id, created_at, expires_at) VALUES (?, ?, ?, ?)');
    this.selectHost = db.prepare<[string], HostRow>('SELECT * FROM hosts WHERE host_id = ?');
    this.selectNonce = db.prepare<[string], NonceRow>('SELECT nonce_hash, host_id, expires_at, used_at FROM nonces WHERE nonce_hash = ?');
    this.useNonce = db.prepare('UPDATE nonces SET used_at = ? WHERE nonce_hash = ? AND used_at IS NULL');
    this.deleteNonces = db.prepare('DELETE FROM nonces WHERE expires_at < ?');
    this.insertAppraisal = db.prepare(`INSERT INTO appraisals
      (appraisal_id, host_id, verdict, profile, failures, pcrs, evidence, clock, token_id, token_expires_at,
       binding_key_thumbprint, binding_key, rejected, timings, appraised_at, log_digest)
      VALUES (@appraisalId, @hostId, @verdict, @profile, @failures, @pcrs, @evidence, @clock, @tokenId, @tokenExpiresAt,
       @bindingKeyThumbprint, @bindingKey, @rejected, @timings, @appraisedAt, @logDigest)`);
    this.updateClock = db.prepare('UPDATE hosts SET last_clock = ? WHERE host_id = ?');
    this.selectAppraisal = db.prepare<[string], AppraisalRow>('SELECT * FROM appraisals WHERE appraisal_id = ?');
    this.selectLast = db.prepare<[string], AppraisalRow>(
      'SELECT * FROM appraisals WHERE host_id = ? AND rejected = 0 ORDER BY seq DESC LIMIT 1',
    );
    this.selectLastVerdict = db.prepare<[string], { appraisal_id: string; verdict: 'pass' | 'fail'; appraised_at: string; token_expires_at: string | null }>(
      'SELECT appraisal_id, verdict, appraised_at, token_expires_at FROM appraisals WHERE host_id = ? AND rejected = 0 ORDER BY seq DESC LIMIT 1',
    );
    this.selectLastPass = db.prepare<[string], AppraisalRow>(
      "SELECT * FROM appraisals WHERE host_id = ? AND rejected = 0 AND verdict = 'pass' ORDER BY seq DESC LIMIT 1",
    );
    this.insertRevoked = db.prepare(
      'INSERT INTO revoked_tokens (jti, host_id, revoked_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT(jti) DO NOTHING',
    );
    this.selectRevoked = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM revoked_tokens WHERE jti = ?');

    // The used mark is written before any other check: a nonce dies on its first presentation,
    // even when presented for the wrong host or after expiry, so it can never be tried twice.
    const consumeOnce = (nonceHash: string, hostId: string, now: Date): NonceOutcome => {
      const row = this.selectNonce.get(nonceHash);
      if (!row) return 'unknown';
      if (row.used_at !== null) return 'used';
      if (this.useNonce.run(now.toISOString(), nonceHash).changes !== 1) return 'used';
      if (row.host_id !== hostId) return 'wrong_host';
      if (Date.parse(row.expires_at) <= now.getTime()) return 'expired';
      return 'ok';
    };
    const consumeTx = db.transaction((nonceHash: string, hostId: string, now: Date): { outcome: NonceOutcome; host?: HostRecord } => {
      const hostRow = this.selectHost.get(hostId);
      if (!hostRow) return { outcome: 'unknown' };
      const host = hostFromRow(hostRow);
      if (host.revokedAt !== undefined) return { outcome: 'unknown', host };
      return { outcome: consumeOnce(nonceHash, hostId, now), host };
    });
    this.consume = (h, id, now) => consumeTx.immediate(h, id, now);

    const recordTx = db.transaction((a: AppraisalRecord): { previous?: AppraisalVerdict } => {
      const previous = this.lastVerdict(a.hostId);
      this.insertAppraisal.run({
        appraisalId: a.appraisalId,
        hostId: a.hostId,
        verdict: a.verdict,
        profile: a.profile,
        failures: JSON.stringify(a.failures),
        pcrs: JSON.stringify(a.pcrs ?? {}),
        evidence: JSON.stringify(a.evidence),
        clock: a.clock ? JSON.stringify(a.clock) : null,
        tokenId: a.tokenId ?? null,
        tokenExpiresAt: a.tokenExpiresAt ?? null,
        bindingKeyThumbprint: a.bindingKeyThumbprint ?? null,
        bindingKey: a.bindingKey ?? null,
        rejected: a.rejected === true ? 1 : 0,
        timings: JSON.stringify(a.timings),
        appraisedAt: a.appraisedAt,
        logDigest: a.eventLog !== undefined ? a.evidence.eventLog : null,
      });
      fleet.recordEvidence(a);
      if (a.clock) this.updateClock.run(JSON.stringify(a.clock), a.hostId);
      return previous ? { previous } : {};
    });
    this.record = (a) => recordTx.immediate(a);
  }

  putNonce(n: NonceRecord): { outcome: 'issued' | 'host_revoked'; host: HostRecord } {
    const row = this.selectHost.get(n.hostId);
    if (!row) throw new StoreError('host_not_found', `host ${n.hostId} is not enrolled`);
    const host = hostFromRow(row);
    if (host.revokedAt !== undefined) return { outcome: 'host_revoked', host };
    this.insertNonce.run(n.nonceHash, n.hostId, n.createdAt, n.expiresAt);
    return { outcome: 'issued', host };
  }

  /** Forgets nonces that expired before `before`; returns how many. */
  pruneNonces(before: Date): number {
    return this.deleteNonces.run(before.toISOString()).changes;
  }

  get(appraisalId: string): AppraisalRecord | undefined {
    const r = this.selectAppraisal.get(appraisalId);
    return r ? appraisalFromRow(r) : undefined;
  }

  last(hostId: string): AppraisalRecord | undefined {
    const r = this.selectLast.get(hostId);
    return r ? appraisalFromRow(r) : undefined;
  }

  lastVerdict(hostId: string): AppraisalVerdict | undefined {
    const r = this.selectLastVerdict.get(hostId);
    if (!r) return undefined;
    const v: AppraisalVerdict = { appraisalId: r.appraisal_id, verdict: r.verdict, appraisedAt: r.appraised_at };
    if (r.token_expires_at !== null) v.tokenExpiresAt = r.token_expires_at;
    return v;
  }

  lastPassing(hostId: string): AppraisalRecord | undefined {
    const r = this.selectLastPass.get(hostId);
    return r ? appraisalFromRow(r) : undefined;
  }

  revokeToken(jti: string, hostId: string | null, at: Date, expiresAt: Date | null): void {
    this.insertRevoked.run(jti, hostId, at.toISOString(), expiresAt ? expiresAt.toISOString() : null);
  }

  isRevoked(jti: string): boolean {
    return this.selectRevoked.get(jti) !== undefined;
  }
}
