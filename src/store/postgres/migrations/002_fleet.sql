-- History, evidence and drift (contract §6): SQLite migration 4 in PostgreSQL types.

-- Each distinct event log once (raw DEFLATE): a host re-sends the same log all boot long.
CREATE TABLE event_logs (
  digest    text PRIMARY KEY,
  bytes     bytea NOT NULL,
  size      integer NOT NULL,
  stored_at timestamptz NOT NULL
);

-- Set while the appraisal's log is kept; evidence retention clears it.
ALTER TABLE appraisals ADD COLUMN log_digest text;
CREATE INDEX appraisals_log ON appraisals (log_digest) WHERE log_digest IS NOT NULL;
CREATE INDEX appraisals_host_seq ON appraisals (host_id, seq);

-- One row per failing host: the drift group of its latest counted appraisal.
CREATE TABLE host_drift (
  host_id      text COLLATE "C" PRIMARY KEY REFERENCES hosts (host_id) ON DELETE CASCADE,
  appraisal_id text NOT NULL,
  group_id     text NOT NULL,
  profile      text,
  since        timestamptz NOT NULL,
  last_at      timestamptz NOT NULL
);
CREATE INDEX host_drift_group ON host_drift (group_id, host_id);

CREATE TABLE drift_groups (
  group_id   text PRIMARY KEY,
  bank       text,
  changes    json NOT NULL,
  blockers   json NOT NULL,
  first_seen timestamptz NOT NULL
);

CREATE TABLE drift_acceptances (
  seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  acceptance_id text NOT NULL UNIQUE,
  group_id      text NOT NULL,
  profile_name  text NOT NULL,
  from_version  text NOT NULL,
  to_version    text NOT NULL,
  key_id        text NOT NULL,
  note          text NOT NULL,
  changes       json NOT NULL,
  host_ids      json NOT NULL,
  at            timestamptz NOT NULL
);
CREATE INDEX drift_acceptances_group ON drift_acceptances (group_id, seq);
