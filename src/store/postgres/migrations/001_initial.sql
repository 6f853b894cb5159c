-- The schema of SQLite migrations 1-3 and 5 (src/store/sqlite/migrations.ts) in PostgreSQL types.
-- Never edit a shipped migration: add the next numbered file.

CREATE TABLE enrollments (
  enrollment_id  text PRIMARY KEY,
  host_id        text NOT NULL,
  ek_fingerprint text NOT NULL,
  ak_name        text NOT NULL,
  ak_pub         text NOT NULL,
  profiles       json NOT NULL,
  secret_hash    text NOT NULL,
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  activated_at   timestamptz
);
CREATE INDEX enrollments_host ON enrollments (host_id);
CREATE INDEX enrollments_unactivated ON enrollments (expires_at) WHERE activated_at IS NULL;

-- Host ids order bytewise (COLLATE "C"), as in SQLite and JavaScript, whatever the database's locale:
-- listings and their paging cursors mean the same on every store.
CREATE TABLE hosts (
  host_id        text COLLATE "C" PRIMARY KEY,
  ek_fingerprint text NOT NULL,
  ak_name        text NOT NULL,
  ak_pub         text NOT NULL,
  profiles       json NOT NULL,
  enrolled_at    timestamptz NOT NULL,
  last_clock     json,
  revoked_at     timestamptz
);

-- Nonces and appraisals belong to one enrollment of a host: deleting the host removes them, so a
-- re-enrolled host starts with no history. trust_events keeps the audit trail.
CREATE TABLE nonces (
  nonce_hash text PRIMARY KEY,
  host_id    text NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX nonces_expiry ON nonces (expires_at);
CREATE INDEX nonces_host ON nonces (host_id);

CREATE TABLE appraisals (
  seq                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  appraisal_id           text NOT NULL UNIQUE,
  host_id                text NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,
  verdict                text NOT NULL CHECK (verdict IN ('pass', 'fail')),
  profile                text,
  failures               json NOT NULL,
  pcrs                   json NOT NULL,
  evidence               json NOT NULL,
  clock                  json,
  token_id               text,
  token_expires_at       timestamptz,
  binding_key_thumbprint text,
  binding_key            text,
  rejected               boolean NOT NULL DEFAULT false,
  timings                json NOT NULL,
  appraised_at           timestamptz NOT NULL
);
CREATE INDEX appraisals_host_counted ON appraisals (host_id, rejected, seq);
CREATE INDEX appraisals_host_pass ON appraisals (host_id, seq) WHERE verdict = 'pass' AND NOT rejected;

CREATE TABLE revoked_tokens (
  jti        text PRIMARY KEY,
  host_id    text,
  revoked_at timestamptz NOT NULL,
  expires_at timestamptz
);

CREATE TABLE signing_keys (
  kid          text PRIMARY KEY,
  private_jwk  text NOT NULL,
  public_jwk   text NOT NULL,
  created_at   timestamptz NOT NULL,
  retired_at   timestamptz,
  retire_after timestamptz
);

CREATE TABLE profiles (
  name      text NOT NULL,
  version   text NOT NULL,
  document  text NOT NULL,
  source    text NOT NULL CHECK (source IN ('file', 'api')),
  stored_at timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE secrets (
  name       text PRIMARY KEY,
  ciphertext text NOT NULL,
  policy     json NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE releases (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  release_id   text NOT NULL UNIQUE,
  secret_name  text NOT NULL,
  host_id      text,
  token_id     text,
  appraisal_id text,
  caller       text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('released', 'refused')),
  code         text NOT NULL,
  reason       text NOT NULL,
  at           timestamptz NOT NULL
);
CREATE INDEX releases_secret ON releases (secret_name, seq);

-- One sequence orders every trust change of every replica. Appends take an advisory lock, so
-- sequence numbers commit in order and a reader never passes over one still to commit.
CREATE TABLE trust_events (
  seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id      text NOT NULL,
  kind         text NOT NULL,
  appraisal_id text,
  detail       json,
  at           timestamptz NOT NULL
);

CREATE TABLE webhooks (
  id         text PRIMARY KEY,
  url        text NOT NULL,
  secret     text NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Written with its trust event, in the same transaction; claimed by one replica at a time under a
-- lease (FOR UPDATE SKIP LOCKED), removed once delivered or given up.
CREATE TABLE webhook_deliveries (
  delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id      text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  seq             bigint NOT NULL REFERENCES trust_events (seq),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_owner     text,
  lease_until     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id);

CREATE TABLE settings (
  name  text PRIMARY KEY,
  value text NOT NULL
);
