/** Signing keys, golden profiles, secrets, key releases, trust events and shared settings in SQLite. */
import type Database from 'better-sqlite3';
import type { ProfileRecord, ReleaseRecord, SecretRecord, SigningKeyRecord, TrustEventRecord } from '../types.ts';
import { optionalJson, parseJson } from './json.ts';
import { compareVersions } from '../profile-versions.ts';

interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: string;
  retired_at: string | null;
  retire_after: string | null;
  legacy_clear: number;
}
interface ProfileRow {
  name: string;
  version: string;
  document: string;
  source: 'file' | 'api';
  stored_at: string;
}
interface SecretRow {
  name: string;
  ciphertext: string;
  policy: string;
  updated_at: string;
}
interface ReleaseRow {
  release_id: string;
  secret_name: string;
  host_id: string | null;
  token_id: string | null;
  appraisal_id: string | null;
  caller: string;
  outcome: 'released' | 'refused';
  code: string;
  reason: string;
  at: string;
}
export interface EventRow {
  seq: number;
  host_id: string;
  kind: TrustEventRecord['kind'];
  appraisal_id: string | null;
  detail: string | null;
  at: string;
}

function keyFromRow(r: KeyRow): SigningKeyRecord {
  const k: SigningKeyRecord = { kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdAt: r.created_at };
  if (r.retired_at !== null) k.retiredAt = r.retired_at;
  if (r.retire_after !== null) k.retireAfter = r.retire_after;
  if (r.legacy_clear === 1) k.legacyClear = true;
  return k;
}

function profileFromRow(r: ProfileRow): ProfileRecord {
  return { name: r.name, version: r.version, document: r.document, source: r.source, storedAt: r.stored_at };
}

export function eventFromRow(r: EventRow): TrustEventRecord {
  const e: TrustEventRecord = { seq: r.seq, hostId: r.host_id, kind: r.kind, at: r.at };
  if (r.appraisal_id !== null) e.appraisalId = r.appraisal_id;
  const detail = optionalJson<unknown>(r.detail);
  if (detail !== undefined) e.detail = detail;
  return e;
}

export class CatalogTables {
  private readonly selectKeys;
  private readonly insertKey;
  private readonly updateKeyRetired;
  private readonly updateKeyPrivate;
  private readonly upsertProfile;
  private readonly selectProfile;
  private readonly selectVersionNames;
  private readonly selectProfiles;
  private readonly upsertSecret;
  private readonly selectSecret;
  private readonly insertRelease;
  private readonly selectReleases;
  private readonly selectReleasesFor;
  private readonly insertEvent;
  private readonly selectEventsAfter;
  private readonly selectSetting;
  private readonly insertSetting;

  constructor(db: Database.Database) {
    this.selectKeys = db.prepare<[], KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid');
    this.insertKey = db.prepare(`INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, retired_at, retire_after)
      VALUES (?, ?, ?, ?, ?, ?)`);
    this.updateKeyRetired = db.prepare(
      'UPDATE signing_keys SET retired_at = COALESCE(retired_at, ?), retire_after = COALESCE(retire_after, ?) WHERE kid = ?',
    );
    this.updateKeyPrivate = db.prepare('UPDATE signing_keys SET private_jwk = ?, legacy_clear = 0 WHERE kid = ? AND private_jwk = ?');
    this.upsertProfile = db.prepare(`INSERT INTO profiles (name, version, document, source, stored_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(name, version) DO UPDATE SET document = excluded.document, source = excluded.source, stored_at = excluded.stored_at`);
    this.selectProfile = db.prepare<[string, string], ProfileRow>('SELECT * FROM profiles WHERE name = ? AND version = ?');
    this.selectVersionNames = db.prepare<[string], { version: string }>('SELECT version FROM profiles WHERE name = ?');
    this.selectProfiles = db.prepare<[], ProfileRow>('SELECT * FROM profiles ORDER BY name, stored_at');
    this.upsertSecret = db.prepare(`INSERT INTO secrets (name, ciphertext, policy, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(name) DO UPDATE SET ciphertext = excluded.ciphertext, policy = excluded.policy, updated_at = excluded.updated_at`);
    this.selectSecret = db.prepare<[string], SecretRow>('SELECT * FROM secrets WHERE name = ?');
    this.insertRelease = db.prepare(`INSERT INTO releases
      (release_id, secret_name, host_id, token_id, appraisal_id, caller, outcome, code, reason, at)
      VALUES (@releaseId, @secretName, @hostId, @tokenId, @appraisalId, @caller, @outcome, @code, @reason, @at)`);
    this.selectReleases = db.prepare<[], ReleaseRow>('SELECT * FROM releases ORDER BY seq');
    this.selectReleasesFor = db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE secret_name = ? ORDER BY seq');
    this.insertEvent = db.prepare<[string, string, string | null, string | null, string], EventRow>(
      'INSERT INTO trust_events (host_id, kind, appraisal_id, detail, at) VALUES (?, ?, ?, ?, ?) RETURNING *',
    );
    this.selectEventsAfter = db.prepare<[number, number], EventRow>(
      'SELECT * FROM trust_events WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.selectSetting = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?');
    this.insertSetting = db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING');
  }

  listKeys(): SigningKeyRecord[] {
    return this.selectKeys.all().map(keyFromRow);
  }
  putKey(k: SigningKeyRecord): void {
    this.insertKey.run(k.kid, k.privateJwk, k.publicJwk, k.createdAt, k.retiredAt ?? null, k.retireAfter ?? null);
  }
  retireKey(kid: string, at: Date, after: Date): void {
    this.updateKeyRetired.run(at.toISOString(), after.toISOString(), kid);
  }
  resealKey(kid: string, expected: string, privateJwk: string): boolean {
    return this.updateKeyPrivate.run(privateJwk, kid, expected).changes > 0;
  }

  putProfile(p: ProfileRecord): void {
    this.upsertProfile.run(p.name, p.version, p.document, p.source, p.storedAt);
  }
  getProfile(name: string, version?: string): ProfileRecord | undefined {
    if (version !== undefined) {
      const r = this.selectProfile.get(name, version);
      return r ? profileFromRow(r) : undefined;
    }
    const latest = this.latestProfileVersion(name);
    return latest === undefined ? undefined : this.getProfile(name, latest);
  }
  /** Reads version strings only: a profile with many large versions costs no document reads. */
  latestProfileVersion(name: string): string | undefined {
    let latest: string | undefined;
    for (const { version } of this.selectVersionNames.iterate(name)) {
      if (latest === undefined || compareVersions(version, latest) > 0) latest = version;
    }
    return latest;
  }
  listProfiles(): ProfileRecord[] {
    return this.selectProfiles
      .all()
      .map(profileFromRow)
      .sort((a, b) => (a.name === b.name ? compareVersions(a.version, b.version) : a.name < b.name ? -1 : 1));
  }

  putSecret(s: SecretRecord): void {
    this.upsertSecret.run(s.name, s.ciphertext, JSON.stringify(s.policy), s.updatedAt);
  }
  getSecret(name: string): SecretRecord | undefined {
    const r = this.selectSecret.get(name);
    return r
      ? { name: r.name, ciphertext: r.ciphertext, policy: parseJson<SecretRecord['policy']>(r.policy), updatedAt: r.updated_at }
      : undefined;
  }

  recordRelease(r: ReleaseRecord): void {
    this.insertRelease.run({ ...r });
  }
  listReleases(secretName?: string): ReleaseRecord[] {
    const rows = secretName === undefined ? this.selectReleases.all() : this.selectReleasesFor.all(secretName);
    return rows.map((r) => ({
      releaseId: r.release_id,
      secretName: r.secret_name,
      hostId: r.host_id,
      tokenId: r.token_id,
      appraisalId: r.appraisal_id,
      caller: r.caller,
      outcome: r.outcome,
      code: r.code,
      reason: r.reason,
      at: r.at,
    }));
  }

  appendEvent(e: Omit<TrustEventRecord, 'seq'>): TrustEventRecord {
    const row = this.insertEvent.get(
      e.hostId,
      e.kind,
      e.appraisalId ?? null,
      e.detail === undefined ? null : JSON.stringify(e.detail),
      e.at,
    );
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    return eventFromRow(row);
  }
  eventsAfter(seq: number, limit: number): TrustEventRecord[] {
    return this.selectEventsAfter.all(seq, limit).map(eventFromRow);
  }

  getSetting(name: string): string | undefined {
    return this.selectSetting.get(name)?.value;
  }
  putSettingIfAbsent(name: string, value: string): string {
    this.insertSetting.run(name, value);
    const stored = this.selectSetting.get(name);
    if (!stored) throw new Error(`setting ${name} vanished inside its own transaction`);
    return stored.value;
  }
}
