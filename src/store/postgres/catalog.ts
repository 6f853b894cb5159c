/** Signing keys, golden profiles, secrets, key releases, trust events and shared settings in PostgreSQL. */
import type pg from 'pg';
import type { ProfileRecord, ReleaseRecord, SecretRecord, SigningKeyRecord, TrustEventRecord } from '../types.ts';
import { compareVersions } from '../profile-versions.ts';
import { inTransaction } from './pool.ts';
import { eventFromRow, iso, type EventRow } from './rows.ts';

/** The channel every replica LISTENs on; payloads: "e:<seq>" trust event, "k" signing keys, "p" profiles, "d" webhook deliveries. */
export const CHANGES_CHANNEL = 'bootgate_changes';
/** Serialises trust-event appends so sequence numbers become visible in order (see 001_initial.sql). */
const TRUST_EVENT_LOCK = 0x626f6f7465766e74n;

interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: Date;
  retired_at: Date | null;
  retire_after: Date | null;
}

export async function listSigningKeys(pool: pg.Pool): Promise<SigningKeyRecord[]> {
  const r = await pool.query<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid');
  return r.rows.map((row) => {
    const k: SigningKeyRecord = { kid: row.kid, privateJwk: row.private_jwk, publicJwk: row.public_jwk, createdAt: iso(row.created_at) };
    if (row.retired_at !== null) k.retiredAt = iso(row.retired_at);
    if (row.retire_after !== null) k.retireAfter = iso(row.retire_after);
    return k;
  });
}

export async function putSigningKey(pool: pg.Pool, k: SigningKeyRecord): Promise<void> {
  await pool.query(
    `WITH k AS (INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, retired_at, retire_after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING kid)
     SELECT pg_notify('${CHANGES_CHANNEL}', 'k') FROM k`,
    [k.kid, k.privateJwk, k.publicJwk, k.createdAt, k.retiredAt ?? null, k.retireAfter ?? null],
  );
}

export async function retireSigningKey(pool: pg.Pool, kid: string, at: Date, after: Date): Promise<void> {
  await pool.query(
    `WITH k AS (UPDATE signing_keys SET retired_at = COALESCE(retired_at, $1), retire_after = COALESCE(retire_after, $2) WHERE kid = $3 RETURNING kid)
     SELECT pg_notify('${CHANGES_CHANNEL}', 'k') FROM k`,
    [iso(at), iso(after), kid],
  );
}

export async function resealSigningKey(pool: pg.Pool, kid: string, expected: string, privateJwk: string): Promise<boolean> {
  const r = await pool.query('UPDATE signing_keys SET private_jwk = $1 WHERE kid = $2 AND private_jwk = $3', [privateJwk, kid, expected]);
  return (r.rowCount ?? 0) > 0;
}

interface ProfileRow {
  name: string;
  version: string;
  document: string;
  source: 'file' | 'api';
  stored_at: Date;
}
const profileFromRow = (r: ProfileRow): ProfileRecord => ({ name: r.name, version: r.version, document: r.document, source: r.source, storedAt: iso(r.stored_at) });

export async function putProfile(pool: pg.Pool, p: ProfileRecord): Promise<void> {
  await pool.query(
    `WITH p AS (INSERT INTO profiles (name, version, document, source, stored_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name, version) DO UPDATE SET document = excluded.document, source = excluded.source, stored_at = excluded.stored_at RETURNING name)
     SELECT pg_notify('${CHANGES_CHANNEL}', 'p') FROM p`,
    [p.name, p.version, p.document, p.source, p.storedAt],
  );
}

export async function getProfile(pool: pg.Pool, name: string, version?: string): Promise<ProfileRecord | undefined> {
  const v = version ?? (await latestProfileVersion(pool, name));
  if (v === undefined) return undefined;
  const r = await pool.query<ProfileRow>({ name: 'bg_profile', text: 'SELECT * FROM profiles WHERE name = $1 AND version = $2', values: [name, v] });
  return r.rows[0] && profileFromRow(r.rows[0]);
}

/** Reads version strings only: a profile with many large versions costs no document reads. */
export async function latestProfileVersion(pool: pg.Pool, name: string): Promise<string | undefined> {
  const r = await pool.query<{ version: string }>({ name: 'bg_profile_versions', text: 'SELECT version FROM profiles WHERE name = $1', values: [name] });
  let latest: string | undefined;
  for (const { version } of r.rows) if (latest === undefined || compareVersions(version, latest) > 0) latest = version;
  return latest;
}

export async function listProfiles(pool: pg.Pool): Promise<ProfileRecord[]> {
  const r = await pool.query<ProfileRow>('SELECT * FROM profiles');
  return r.rows.map(profileFromRow).sort((a, b) => (a.name === b.name ? compareVersions(a.version, b.version) : a.name < b.name ? -1 : 1));
}

export async function putSecret(pool: pg.Pool, s: SecretRecord): Promise<void> {
  await pool.query(
    `INSERT INTO secrets (name, ciphertext, policy, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, policy = excluded.policy, updated_at = excluded.updated_at`,
    [s.name, s.ciphertext, JSON.stringify(s.policy), s.updatedAt],
  );
}

export async function getSecret(pool: pg.Pool, name: string): Promise<SecretRecord | undefined> {
  const r = await pool.query<{ name: string; ciphertext: string; policy: SecretRecord['policy']; updated_at: Date }>('SELECT * FROM secrets WHERE name = $1', [name]);
  const row = r.rows[0];
  return row && { name: row.name, ciphertext: row.ciphertext, policy: row.policy, updatedAt: iso(row.updated_at) };
}

export async function recordRelease(pool: pg.Pool, r: ReleaseRecord): Promise<void> {
  await pool.query(
    `INSERT INTO releases (release_id, secret_name, host_id, token_id, appraisal_id, caller, outcome, code, reason, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [r.releaseId, r.secretName, r.hostId, r.tokenId, r.appraisalId, r.caller, r.outcome, r.code, r.reason, r.at],
  );
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
  at: Date;
}

export async function listReleases(pool: pg.Pool, secretName?: string): Promise<ReleaseRecord[]> {
  const r =
    secretName === undefined
      ? await pool.query<ReleaseRow>('SELECT * FROM releases ORDER BY seq')
      : await pool.query<ReleaseRow>('SELECT * FROM releases WHERE secret_name = $1 ORDER BY seq', [secretName]);
  return r.rows.map((x) => ({
    releaseId: x.release_id,
    secretName: x.secret_name,
    hostId: x.host_id,
    tokenId: x.token_id,
    appraisalId: x.appraisal_id,
    caller: x.caller,
    outcome: x.outcome,
    code: x.code,
    reason: x.reason,
    at: iso(x.at),
  }));
}

/**
 * One transaction: the lock (held to COMMIT, so sequence numbers commit in order), the event, a
 * delivery per webhook, and the notification every replica receives once it is committed.
 */
export function appendTrustEvent(pool: pg.Pool, e: Omit<TrustEventRecord, 'seq'>): Promise<{ event: TrustEventRecord; deliveries: number }> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [TRUST_EVENT_LOCK.toString()]);
    const row = (
      await c.query<EventRow>('INSERT INTO trust_events (host_id, kind, appraisal_id, detail, at) VALUES ($1, $2, $3, $4, $5) RETURNING *', [
        e.hostId,
        e.kind,
        e.appraisalId ?? null,
        e.detail === undefined ? null : JSON.stringify(e.detail),
        e.at,
      ])
    ).rows[0];
    if (!row) throw new Error('INSERT ... RETURNING returned no row');
    const d = await c.query('INSERT INTO webhook_deliveries (webhook_id, seq, next_attempt_at) SELECT id, $1, $2 FROM webhooks', [row.seq, row.at]);
    const deliveries = d.rowCount ?? 0;
    await c.query(`SELECT pg_notify('${CHANGES_CHANNEL}', $1)`, [`e:${row.seq}`]);
    if (deliveries > 0) await c.query(`SELECT pg_notify('${CHANGES_CHANNEL}', 'd')`);
    return { event: eventFromRow(row), deliveries };
  });
}

export async function trustEventsAfter(pool: pg.Pool, seq: number, limit: number): Promise<TrustEventRecord[]> {
  const r = await pool.query<EventRow>({ name: 'bg_events_after', text: 'SELECT * FROM trust_events WHERE seq > $1 ORDER BY seq LIMIT $2', values: [seq, limit] });
  return r.rows.map(eventFromRow);
}

export async function getSetting(pool: pg.Pool, name: string): Promise<string | undefined> {
  return (await pool.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name])).rows[0]?.value;
}

/** INSERT … ON CONFLICT DO NOTHING, then read: whichever replica inserted first, all read its value. */
export async function putSettingIfAbsent(pool: pg.Pool, name: string, value: string): Promise<string> {
  await pool.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
  const stored = await getSetting(pool, name);
  if (stored === undefined) throw new Error(`setting ${name} vanished after it was written`);
  return stored;
}
