/**
 * The one storage interface of bootgate, implemented by SQLite (sqlite.ts, the embedded default)
 * and PostgreSQL (postgres/, shared by several verifier replicas). Nothing above store/ knows
 * which one runs: open one with openStore (open.ts).
 *
 * Every method that must be atomic is a single method here (consume a nonce, activate an
 * enrollment, record an appraisal together with the host's new clock, append a trust event with
 * its webhook deliveries), so that each is one transaction, or one statement, whichever backend
 * serves it. Every write resolves only after it is durable; one that cannot reach the database
 * rejects with StoreError 'unavailable' and was not acknowledged.
 */

export interface HostRecord {
  hostId: string;
  /** SHA-256 of the EK public key (hex): the identity that pins the host to one TPM. */
  ekFingerprint: string;
  akName: string;
  /** TPM2B_PUBLIC of the AK, base64. */
  akPub: string;
  profiles: string[];
  enrolledAt: string;
  /** Last accepted TPMS_CLOCK_INFO, for the clock/reset/restart checks. */
  lastClock?: { clock: string; resetCount: number; restartCount: number };
  /** Set when an admin revoked the host; its tokens are refused from then on. */
  revokedAt?: string;
}

export interface EnrollmentRecord {
  enrollmentId: string;
  hostId: string;
  ekFingerprint: string;
  akName: string;
  akPub: string;
  profiles: string[];
  /** SHA-256 of the credential secret (hex); the secret itself is never stored. */
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  activatedAt?: string;
}

export type ActivateOutcome =
  | { ok: true; host: HostRecord }
  | { ok: false; reason: 'not_found' | 'already_activated' | 'expired' | 'ek_conflict' };

export interface NonceRecord {
  /** SHA-256 of the nonce bytes (hex); lookups never need the nonce itself. */
  nonceHash: string;
  hostId: string;
  createdAt: string;
  expiresAt: string;
}

export type NonceOutcome = 'ok' | 'unknown' | 'used' | 'expired' | 'wrong_host';

export interface AppraisalRecord {
  appraisalId: string;
  hostId: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  /** The failures exactly as answered to the host. */
  failures: unknown[];
  pcrs: unknown;
  /** SHA-256 (hex) of each piece of evidence, for the audit trail. */
  evidence: { quote: string; signature: string; eventLog: string; nonce: string };
  clock?: { clock: string; resetCount: number; restartCount: number };
  tokenId?: string;
  tokenExpiresAt?: string;
  bindingKeyThumbprint?: string;
  /** The binding public JWK (JSON), so the broker can encrypt a release to it without the host resending it. */
  bindingKey?: string;
  /** Milliseconds per pipeline stage. */
  timings: Record<string, number>;
  appraisedAt: string;
  /**
   * The quote was not signed by the host's enrolled AK (or did not parse): anyone can send such
   * evidence, so it is recorded for audit but never changes the host's trust, never revokes its
   * tokens, and is not the host's "last appraisal".
   */
  rejected?: boolean;
  /**
   * Written only: the event log's bytes, kept as evidence (once per distinct log, under the
   * digest in `evidence.eventLog`). Given only for logs the pipeline appraised, never for evidence
   * anyone could send.
   */
  eventLog?: Uint8Array;
  /** Read only: the event log of this appraisal is still kept (see pruneEvidence). */
  eventLogRetained?: boolean;
  /**
   * Written only, for a counted failure: the host's drift entry, which replaces its previous one.
   * A counted pass clears the host's entry; a counted failure without one clears it too.
   */
  drift?: DriftEntry;
}

/** Why a failing host fails, as a drift group (contract §6): see src/appraisal/change-set.ts. */
export interface DriftEntry {
  groupId: string;
  /** The change set as computed for this host (kept once per group, as first seen). */
  changes: unknown[];
  /** Failure codes no accepted change can cure, sorted. */
  blockers: string[];
  /** The bank the changes' digests are in, or null without a profile. */
  bank: string | null;
}

/** One row of a host's history (contract §6 GET /v1/hosts/{id}/appraisals). */
export type AppraisalSummary = Pick<AppraisalRecord, 'appraisalId' | 'verdict' | 'profile' | 'failures' | 'appraisedAt' | 'tokenExpiresAt' | 'rejected'> & {
  /** Store order: newer appraisals have larger numbers (cursors). */
  seq: number;
  eventLogDigest: string;
  eventLogRetained: boolean;
};

/** Failing hosts that share one drift identity. */
export interface DriftGroupRecord {
  groupId: string;
  /** "name@version" of the latest failing appraisal among the group's hosts. */
  profile: string | null;
  bank: string | null;
  changes: unknown[];
  blockers: string[];
  /** Sorted. */
  hostIds: string[];
  /** When the first of its hosts began failing this way (its current streak); and its latest appraisal. */
  firstSeen: string;
  lastSeen: string;
}

/** An accepted drift group: which key wrote which profile version, why, for which change set and hosts. */
export interface DriftAcceptanceRecord {
  acceptanceId: string;
  groupId: string;
  profileName: string;
  fromVersion: string;
  toVersion: string;
  /** A fingerprint of the API key that accepted (never the key). */
  keyId: string;
  note: string;
  changes: unknown[];
  hostIds: string[];
  at: string;
}

/** How long older evidence is kept: the latest and last passing appraisal's logs always stay. */
export interface EvidenceRetention {
  /** Keep the logs of each host's newest `keepPerHost` appraisals. */
  keepPerHost: number;
  /** And drop any other log of an appraisal older than this. */
  before?: Date;
}

export interface SigningKeyRecord {
  kid: string;
  /**
   * The private JWK sealed under the master key (util/envelope.ts sealText, purpose
   * "signing-key"). Rows written before keys were sealed hold the JWK's JSON until the keyring
   * seals them at start. Never logged.
   */
  privateJwk: string;
  publicJwk: string;
  createdAt: string;
  /** When set, the key no longer signs; it stays published until `retireAfter`. */
  retiredAt?: string;
  retireAfter?: string;
  /**
   * The row already held its JWK in clear when the store was upgraded to sealed keys (SQLite
   * migration 6). Only such a row may be sealed at start; any other clear row was written by
   * someone other than bootgate and is refused.
   */
  legacyClear?: true;
}

export interface ProfileRecord {
  name: string;
  version: string;
  /** The profile document as JSON text. */
  document: string;
  source: 'file' | 'api';
  storedAt: string;
}

export interface SecretRecord {
  name: string;
  /** AES-256-GCM envelope (base64): version ‖ iv ‖ ciphertext ‖ tag, the name as AAD; never the plaintext. */
  ciphertext: string;
  policy: { hosts?: string[]; profiles?: string[] };
  updatedAt: string;
}

export interface ReleaseRecord {
  releaseId: string;
  secretName: string;
  hostId: string | null;
  tokenId: string | null;
  appraisalId: string | null;
  caller: string;
  outcome: 'released' | 'refused';
  code: string;
  reason: string;
  at: string;
}

export interface TrustEventRecord {
  seq: number;
  hostId: string;
  kind: 'enrolled' | 'trusted' | 'untrusted' | 'expired' | 'revoked' | 'deleted';
  appraisalId?: string;
  detail?: unknown;
  at: string;
}

export interface WebhookRecord {
  id: string;
  url: string;
  /** The HMAC secret, sealed under the master key (sealText, purpose "webhook"). */
  secret: string;
  updatedAt: string;
}

/** One trust event owed to one webhook, claimed by one replica at a time under a lease. */
export interface WebhookDelivery {
  deliveryId: number;
  webhookId: string;
  url: string;
  /** Sealed, as in WebhookRecord. */
  secret: string;
  /** Attempts made before this one. */
  attempts: number;
  event: TrustEventRecord;
}

/**
 * A change committed by any process sharing the store (this one included). Notifications can be
 * lost (a dropped connection), so listeners also re-read on their own; `resync` says "assume
 * anything may have changed".
 */
export type StoreChange =
  | { kind: 'trust_event'; seq: number }
  | { kind: 'signing_keys' }
  | { kind: 'profiles' }
  | { kind: 'webhook_delivery' }
  | { kind: 'resync' };

/** The part of an appraisal that decides a trust status. */
export type AppraisalVerdict = Pick<AppraisalRecord, 'appraisalId' | 'verdict' | 'appraisedAt' | 'tokenExpiresAt'>;

/** The part of an appraisal a host's trust view shows: the verdict, and the profile and findings behind it. */
export type AppraisalTrust = AppraisalVerdict & Pick<AppraisalRecord, 'profile' | 'failures'>;

/**
 * A host's trust state (contract §3.3): 'untrusted' if revoked or its last counted appraisal
 * failed, 'unknown' with no counted appraisal, else 'trusted' while that appraisal's token is
 * unexpired, 'expired' after (or with no token).
 */
export type HostTrustState = 'trusted' | 'untrusted' | 'unknown' | 'expired';

export interface HostTrustPage {
  after?: string;
  limit?: number;
  trust?: { state: HostTrustState; now: Date };
}

export interface Store {
  // hosts and enrollment
  createEnrollment(e: EnrollmentRecord): Promise<void>;
  getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined>;
  /** Atomically: check unactivated and unexpired, refuse a different EK for an existing host, mark activated, upsert the host. */
  activateEnrollment(enrollmentId: string, now: Date): Promise<ActivateOutcome>;
  getHost(hostId: string): Promise<HostRecord | undefined>;
  listHosts(): Promise<HostRecord[]>;
  /**
   * Hosts with their last counted appraisal's trust part, in hostId order, in one read (schedulers
   * list whole fleets): all of them, or up to `limit` with a hostId greater than `after`; with
   * `trust`, only the hosts in that state at `trust.now`, filtered in the query.
   */
  listHostTrust(page?: HostTrustPage): Promise<Array<{ host: HostRecord; last?: AppraisalTrust }>>;
  /** How many hosts are in each trust state at `now`: counted in the store, no host read out (the metrics gauge). */
  countHostTrust(now: Date): Promise<Record<HostTrustState, number>>;
  setHostProfiles(hostId: string, profiles: string[]): Promise<boolean>;
  deleteHost(hostId: string): Promise<boolean>;
  revokeHost(hostId: string, at: Date): Promise<boolean>;
  /** Forgets enrollments never activated that expired before `before` (activated ones stay as the audit trail). */
  pruneEnrollments(before: Date): Promise<number>;

  // nonces
  /**
   * Stores a nonce for an enrolled host that is not revoked, and answers the host as read in the
   * same step: 'host_revoked' stores nothing; a host that is not enrolled is StoreError 'host_not_found'.
   */
  putNonce(n: NonceRecord): Promise<{ outcome: 'issued' | 'host_revoked'; host: HostRecord }>;
  /**
   * Atomically consumes the nonce (it is used once, whatever happens next) and reads the host in
   * the same step. For a host that is not enrolled (no `host`) or is revoked, nothing is consumed
   * and the outcome is 'unknown'.
   */
  consumeNonce(nonceHash: string, hostId: string, now: Date): Promise<{ outcome: NonceOutcome; host?: HostRecord }>;
  /** Forgets nonces that expired before `before`; returns how many. */
  pruneNonces(before: Date): Promise<number>;

  /**
   * Records the appraisal and the host's new clock in one transaction, and answers the host's
   * last counted appraisal before it (read in that transaction), from which a change of trust is told.
   */
  recordAppraisal(a: AppraisalRecord): Promise<{ previous?: AppraisalVerdict }>;
  getAppraisal(appraisalId: string): Promise<AppraisalRecord | undefined>;
  /** The host's last appraisal that counts for trust (not `rejected`). */
  lastAppraisal(hostId: string): Promise<AppraisalRecord | undefined>;
  /** lastAppraisal without its findings, PCRs and evidence: what a trust status needs, read on every attestation. */
  lastAppraisalVerdict(hostId: string): Promise<AppraisalVerdict | undefined>;
  lastPassingAppraisal(hostId: string): Promise<AppraisalRecord | undefined>;
  /** The host's appraisals, newest first: up to `limit`, older than `beforeSeq` when given. */
  listAppraisals(hostId: string, limit: number, beforeSeq?: number): Promise<AppraisalSummary[]>;
  /** For each host whose last passing appraisal was against profile `name` (any version): that appraisal. */
  lastPassingByProfile(name: string): Promise<Array<Pick<AppraisalSummary, 'appraisalId' | 'profile' | 'eventLogDigest' | 'eventLogRetained'> & { hostId: string }>>;

  // evidence and drift (contract §6)
  /** A kept event log by its SHA-256 (hex). */
  getEventLog(digest: string): Promise<Uint8Array | undefined>;
  /** Drops older evidence under the policy and logs no appraisal refers to; returns what it dropped. */
  pruneEvidence(policy: EvidenceRetention): Promise<{ appraisals: number; logs: number }>;
  /**
   * Deletes whole appraisal records older than `before`, except each host's latest counted and
   * last passing appraisal (its trust and the "last good boot" that changes compare against),
   * with the logs no remaining appraisal keeps. Returns how many records went.
   */
  pruneHistory(before: Date): Promise<number>;
  /** The host's current drift entry (while its latest counted appraisal fails). */
  getHostDrift(hostId: string): Promise<{ groupId: string; appraisalId: string } | undefined>;
  /** Drift groups of the failing hosts, largest first. */
  listDriftGroups(): Promise<DriftGroupRecord[]>;
  /** One group, with the latest appraisal of each of its hosts. */
  getDriftGroup(groupId: string): Promise<(DriftGroupRecord & { members: Array<{ hostId: string; appraisalId: string }> }) | undefined>;
  /**
   * Atomically: store profile version `profile` and the acceptance that wrote it. 'exists' when
   * that version is already stored with the same document (nothing written: an accept that lost a
   * race to an identical one); 'conflict' when it is stored with another.
   */
  acceptDrift(profile: ProfileRecord, acceptance: DriftAcceptanceRecord): Promise<'created' | 'exists' | 'conflict'>;
  /** Acceptances, oldest first; of one group when given. */
  listDriftAcceptances(groupId?: string): Promise<DriftAcceptanceRecord[]>;

  // token signing keys
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  putSigningKey(k: SigningKeyRecord): Promise<void>;
  retireSigningKey(kid: string, retiredAt: Date, retireAfter: Date): Promise<void>;
  /** Replaces a key's private part only while it still equals `expected` (sealing a legacyClear row, which it then no longer is). */
  resealSigningKey(kid: string, expected: string, privateJwk: string): Promise<boolean>;

  // token revocation
  revokeToken(jti: string, hostId: string | null, at: Date, expiresAt: Date | null): Promise<void>;
  isTokenRevoked(jti: string): Promise<boolean>;

  // golden profiles
  putProfile(p: ProfileRecord): Promise<void>;
  getProfile(name: string, version?: string): Promise<ProfileRecord | undefined>;
  /** The latest version of a profile (semantic-version order), without reading any document. */
  latestProfileVersion(name: string): Promise<string | undefined>;
  listProfiles(): Promise<ProfileRecord[]>;

  // secrets and releases
  putSecret(s: SecretRecord): Promise<void>;
  getSecret(name: string): Promise<SecretRecord | undefined>;
  recordRelease(r: ReleaseRecord): Promise<void>;
  listReleases(secretName?: string): Promise<ReleaseRecord[]>;

  // trust events
  /** Appends the event with the next sequence number, and a delivery of it for every webhook, atomically. */
  appendTrustEvent(e: Omit<TrustEventRecord, 'seq'>): Promise<TrustEventRecord>;
  /** Events with seq > `seq`, in order; a committed event is never skipped by a reader that saw a later one. */
  trustEventsAfter(seq: number, limit: number): Promise<TrustEventRecord[]>;

  // webhooks and their delivery outbox
  /** Creates or replaces a webhook; a new URL drops the deliveries still owed to the old one. */
  putWebhook(w: WebhookRecord): Promise<'created' | 'updated'>;
  /** Removes a webhook and every delivery still owed to it. */
  deleteWebhook(id: string): Promise<boolean>;
  listWebhooks(): Promise<WebhookRecord[]>;
  /**
   * Claims up to `limit` deliveries due at `now` that no live lease holds, for `owner` until
   * `leaseUntil`: no other claimant gets them until the lease passes or the delivery is finished.
   */
  claimWebhookDeliveries(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Ends `owner`'s attempt: `retryAt` null removes the delivery (delivered, or given up), a date
   * schedules the next attempt. Ignored when the lease was lost meanwhile; returns whether it held.
   */
  finishWebhookDelivery(deliveryId: number, owner: string, retryAt: Date | null): Promise<boolean>;
  /** Deliveries still owed (due or waiting for a retry). */
  pendingWebhookDeliveries(): Promise<number>;

  // settings shared by every process on the store
  getSetting(name: string): Promise<string | undefined>;
  /** Stores `value` unless the setting exists; returns what is stored afterwards (the first writer wins). */
  putSettingIfAbsent(name: string, value: string): Promise<string>;

  /** Calls `listener` for changes committed by any process sharing the store; returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void;

  /** Whether the store can still accept writes; `reason` says why not (for /healthz). */
  health(): Promise<{ ok: true } | { ok: false; reason: string }>;

  close(): Promise<void>;
}
