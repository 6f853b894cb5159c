/**
 * Numbered schema migrations for the SQLite store. Each migration runs in its own transaction
 * together with the row that records it, so a crash leaves the schema at a whole version.
 * Never edit a shipped migration: append a new one.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE enrollments (
        enrollment_id  TEXT PRIMARY KEY,
        host_id        TEXT NOT NULL,
        ek_fingerprint TEXT NOT NULL,
        ak_name        TEXT NOT NULL,
        ak_pub         TEXT NOT NULL,
        profiles       TEXT NOT NULL,
        secret_hash    TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        expires_at     TEXT NOT NULL,
        activated_at   TEXT
      );
      CREATE INDEX enrollments_host ON enrollments(host_id);

      CREATE TABLE hosts (
        host_id        TEXT PRIMARY KEY,
        ek_fingerprint TEXT NOT NULL,
        ak_name        TEXT NOT NULL,
        ak_pub         TEXT NOT NULL,
        profiles       TEXT NOT NULL,
        enrolled_at    TEXT NOT NULL,
        last_clock     TEXT,
        revoked_at     TEXT
      );

      -- Nonces and appraisals belong to one enrollment of a host: deleting the host removes them,
      -- so a re-enrolled host starts with no history. The trust_events table keeps the audit trail.
      CREATE TABLE nonces (
        nonce_hash TEXT PRIMARY KEY,
        host_id    TEXT NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT
      );
      CREATE INDEX nonces_expiry ON nonces(expires_at);

      CREATE TABLE appraisals (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        appraisal_id   TEXT NOT NULL UNIQUE,
        host_id        TEXT NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        verdict        TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
        profile        TEXT,
        failures       TEXT NOT NULL,
        pcrs           TEXT NOT NULL,
        evidence       TEXT NOT NULL,
        clock          TEXT,
        token_id       TEXT,
        token_expires_at TEXT,
        binding_key_thumbprint TEXT,
        timings        TEXT NOT NULL,
        appraised_at   TEXT NOT NULL
      );
      CREATE INDEX appraisals_host ON appraisals(host_id, seq);
      CREATE INDEX appraisals_host_pass ON appraisals(host_id, verdict, seq);

      CREATE TABLE revoked_tokens (
        jti        TEXT PRIMARY KEY,
        host_id    TEXT,
        revoked_at TEXT NOT NULL,
        expires_at TEXT
      );

      CREATE TABLE signing_keys (
        kid          TEXT PRIMARY KEY,
        private_jwk  TEXT NOT NULL,
        public_jwk   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        retired_at   TEXT,
        retire_after TEXT
      );

      CREATE TABLE profiles (
        name      TEXT NOT NULL,
        version   TEXT NOT NULL,
        document  TEXT NOT NULL,
        source    TEXT NOT NULL CHECK (source IN ('file', 'api')),
        stored_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );

      CREATE TABLE secrets (
        name       TEXT PRIMARY KEY,
        ciphertext TEXT NOT NULL,
        policy     TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );

      CREATE TABLE releases (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        release_id   TEXT NOT NULL UNIQUE,
        secret_name  TEXT NOT NULL,
        host_id      TEXT,
        token_id     TEXT,
        appraisal_id TEXT,
        caller       TEXT NOT NULL,
        outcome      TEXT NOT NULL CHECK (outcome IN ('released', 'refused')),
        code         TEXT NOT NULL,
        reason       TEXT NOT NULL,
        at           TEXT NOT NULL
      );
      CREATE INDEX releases_secret ON releases(secret_name, seq);

      CREATE TABLE trust_events (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        host_id      TEXT NOT NULL,
        kind         TEXT NOT NULL,
        appraisal_id TEXT,
        detail       TEXT,
        at           TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'binding key kept with the appraisal, for key release',
    sql: `ALTER TABLE appraisals ADD COLUMN binding_key TEXT;`,
  },
  {
    version: 3,
    name: 'evidence not signed by the host is recorded but does not count for trust',
    sql: `
      ALTER TABLE appraisals ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX appraisals_host_counted ON appraisals(host_id, rejected, seq);
    `,
  },
  {
    version: 4,
    name: 'evidence logs, drift groups and their acceptances',
    sql: `
      -- Each distinct event log once (raw DEFLATE): a host re-sends the same log all boot long.
      CREATE TABLE event_logs (
        digest    TEXT PRIMARY KEY,
        bytes     BLOB NOT NULL,
        size      INTEGER NOT NULL,
        stored_at TEXT NOT NULL
      );
      -- Set while the appraisal's log is kept; evidence retention clears it.
      ALTER TABLE appraisals ADD COLUMN log_digest TEXT;
      CREATE INDEX appraisals_log ON appraisals(log_digest) WHERE log_digest IS NOT NULL;

      -- One row per failing host: the drift group of its latest counted appraisal.
      CREATE TABLE host_drift (
        host_id      TEXT PRIMARY KEY REFERENCES hosts(host_id) ON DELETE CASCADE,
        appraisal_id TEXT NOT NULL,
        group_id     TEXT NOT NULL,
        profile      TEXT,
        since        TEXT NOT NULL,
        last_at      TEXT NOT NULL
      );
      -- Covers GET /v1/drift: one index scan groups every failing host, in hostId order.
      CREATE INDEX host_drift_group ON host_drift(group_id, host_id, since, last_at, profile);

      CREATE TABLE drift_groups (
        group_id   TEXT PRIMARY KEY,
        bank       TEXT,
        changes    TEXT NOT NULL,
        blockers   TEXT NOT NULL,
        first_seen TEXT NOT NULL
      );

      CREATE TABLE drift_acceptances (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        acceptance_id TEXT NOT NULL UNIQUE,
        group_id      TEXT NOT NULL,
        profile_name  TEXT NOT NULL,
        from_version  TEXT NOT NULL,
        to_version    TEXT NOT NULL,
        key_id        TEXT NOT NULL,
        note          TEXT NOT NULL,
        changes       TEXT NOT NULL,
        host_ids      TEXT NOT NULL,
        at            TEXT NOT NULL
      );
      CREATE INDEX drift_acceptances_group ON drift_acceptances(group_id, seq);
    `,
  },
  {
    version: 5,
    name: 'webhooks and their delivery outbox, shared settings',
    sql: `
      CREATE TABLE webhooks (
        id         TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        secret     TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- A delivery is written with its trust event, in the same transaction, and removed once
      -- delivered or given up: an event acknowledged is never lost for a webhook.
      CREATE TABLE webhook_deliveries (
        delivery_id     INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL REFERENCES trust_events(seq),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        lease_owner     TEXT,
        lease_until     TEXT
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at);
      CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id);

      CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'signing keys in clear at the upgrade are marked as the only ones the keyring may seal',
    sql: `
      ALTER TABLE signing_keys ADD COLUMN legacy_clear INTEGER NOT NULL DEFAULT 0;
      UPDATE signing_keys SET legacy_clear = 1 WHERE substr(ltrim(private_jwk), 1, 1) = '{';
    `,
  },
];

/** Applies every migration newer than the database's version; returns the versions applied. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > known) {
    throw new Error(
      `database schema version ${current} is newer than this bootgate (knows up to ${known}); refusing to open it`,
    );
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    // IMMEDIATE: two processes opening a fresh data dir must not both migrate.
    db.transaction(() => {
      const again = (db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version) ?? null) !== null;
      if (again) return;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }).immediate();
  }
  return applied;
}

/** The schema version recorded in the database. */
export function schemaVersion(db: Database.Database): number {
  return (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
}
