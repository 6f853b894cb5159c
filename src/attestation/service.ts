/**
 * The attestation flow (contract §3.2): nonce issuance, then for each submission
 * nonce consumption → appraisal pipeline → record → token. The nonce is consumed before anything
 * else, so it is spent by its first presentation whatever the verdict.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Finding } from '../appraisal/types.ts';
import type { AppraisalRecord, DriftEntry, HostRecord, NonceOutcome, Store } from '../store/types.ts';
import type { PcrBanks } from '../tpm/alg.ts';
import { parsePublic, verifyQuote } from '../tpm/index.ts';
import { ApiError, ParseError, malformedCode } from '../util/errors.ts';
import { fromBase64, toBase64, toHex } from '../util/encoding.ts';
import type { SigningKeyring } from '../token/keys.ts';
import { issueAttestationToken, type TokenFormat } from '../token/attestation-token.ts';
import { trustworthinessVector } from '../token/ear.ts';
import { packageVersion } from '../util/package-root.ts';
import type { Metrics } from '../http/metrics.ts';
import { bindKey, type BoundKey } from './binding-key.ts';
import type { AppraiseOutput, ClockInfo, CoreDependencies } from './ports.ts';
import type { ProfileCatalog } from './profiles.ts';
import { toJsonSafe } from './json-safe.ts';
import { trustStatusOf } from './trust.ts';

/**
 * Failures showing the quote was not produced and signed by this host's enrolled AK. Anyone can
 * send such evidence, so it must not be able to change the host's trust or revoke its tokens.
 */
const NOT_SIGNED_BY_HOST = new Set(['quote_signature_invalid', 'quote_signature_scheme_invalid', 'quote_magic_invalid', 'quote_type_invalid']);

/** Whether the quote verifies under the host's AK (signature, scheme, magic, type); the nonce is judged elsewhere. */
function signedByHost(akPub: Uint8Array, quote: Uint8Array, signature: Uint8Array): boolean {
  try {
    return !verifyQuote({ akPub: parsePublic(akPub), quote, signature }).failures.some((f) => NOT_SIGNED_BY_HOST.has(f.code));
  } catch (err) {
    if (err instanceof ParseError) return false;
    throw err;
  }
}

export interface AttestRequest {
  nonce: Uint8Array;
  quote: Uint8Array;
  signature: Uint8Array;
  eventLog: Uint8Array;
  bindingKey?: unknown;
  pcrs?: PcrBanks;
}

export interface AttestResponse {
  appraisalId: string;
  verdict: 'pass' | 'fail';
  profile: string | null;
  failures: unknown[];
  pcrs: Record<string, Record<string, string>>;
  token?: string;
  expiresAt?: string;
  /** Addition: appraised events decided by digest alone because their data is unverified. */
  unverifiedData?: unknown[];
}

export interface AttestationSettings {
  nonceTtlSeconds: number;
  tokenTtlSeconds: number;
  /** `iss` of tokens, known once the server listens. */
  issuer(): string;
  /** BOOTGATE_TOKEN_FORMAT (default jwt). */
  tokenFormat?: TokenFormat;
  /** Called after each appraisal is stored with its stage timings, `store` included (benchmarks). */
  onAppraised?: (timings: Readonly<Record<string, number>>) => void;
  /** The drift entry of a counted failure, from its record and the host's last passing appraisal (src/fleet/changes.ts); never throws. */
  driftEntry?: (record: AppraisalRecord, baseline: AppraisalRecord | undefined) => Promise<DriftEntry | undefined>;
}

const NONCE_BYTES = 32;
/** ear.verifier-id build of EAR tokens: read once, not per token. */
const VERIFIER_BUILD = `bootgate ${packageVersion()}`;

const NONCE_FINDINGS: Record<Exclude<NonceOutcome, 'ok'>, Finding> = {
  used: { code: 'nonce_reused', message: 'the nonce was already presented once; every attestation needs a fresh nonce from POST /v1/hosts/{hostId}/nonce' },
  unknown: { code: 'nonce_unknown', message: 'the nonce was not issued by this verifier, or expired long ago' },
  expired: { code: 'nonce_expired', message: 'the nonce expired before the evidence arrived' },
  wrong_host: { code: 'nonce_wrong_host', message: 'the nonce was issued for another host' },
};

/** Failures after which the quote's clock is not fresh evidence and must not become the host's reference. */
const CLOCK_UNTRUSTED_CODES = new Set(['nonce_mismatch', 'clock_rollback', 'reset_count_rollback', 'restart_count_rollback']);

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const ms = (t0: number): number => Math.round((performance.now() - t0) * 1000) / 1000;

function clockRecord(c: ClockInfo): NonNullable<AppraisalRecord['clock']> {
  return { clock: c.clock.toString(), resetCount: c.resetCount, restartCount: c.restartCount };
}

function previousClock(host: HostRecord): ClockInfo | undefined {
  const c = host.lastClock;
  if (!c || !/^\d+$/.test(c.clock)) return undefined;
  return { clock: BigInt(c.clock), resetCount: c.resetCount, restartCount: c.restartCount };
}

export class AttestationService {
  constructor(
    private readonly store: Store,
    private readonly core: Pick<CoreDependencies, 'appraise' | 'pcrSelection'>,
    private readonly profiles: ProfileCatalog,
    private readonly keyring: SigningKeyring,
    private readonly metrics: Metrics,
    private readonly settings: AttestationSettings,
    private readonly log: Logger,
  ) {}

  private async enrolledHost(hostId: string): Promise<HostRecord> {
    const host = await this.store.getHost(hostId);
    if (!host) throw new ApiError(404, 'unknown_host', `host ${hostId} is not enrolled`);
    if (host.revokedAt !== undefined) throw new ApiError(403, 'host_revoked', `host ${hostId} was revoked by an administrator`);
    return host;
  }

  /**
   * A fresh single-use nonce, and the PCRs to quote with it: those the host's profiles appraise. A host
   * without a profile that loads is asked for every sha256 PCR; its attestation fails with
   * profile_not_found whatever it quotes.
   */
  async issueNonce(hostId: string, now: Date): Promise<{ nonce: string; expiresAt: string; pcrSelection: string }> {
    const host = await this.enrolledHost(hostId);
    const { profiles } = await this.profiles.resolve(host.profiles);
    const nonce = randomBytes(NONCE_BYTES);
    const expiresAt = new Date(now.getTime() + this.settings.nonceTtlSeconds * 1000).toISOString();
    await this.store.putNonce({ nonceHash: toHex(sha256(nonce)), hostId, createdAt: now.toISOString(), expiresAt });
    return { nonce: toBase64(nonce), expiresAt, pcrSelection: this.core.pcrSelection(profiles) };
  }

  async attest(hostId: string, req: AttestRequest, now: Date): Promise<AttestResponse> {
    const started = performance.now();
    const timings: Record<string, number> = {};
    const host = await this.enrolledHost(hostId);
    // Validated before the nonce is spent: a typo in the key must not cost the host its nonce.
    const bound: BoundKey | undefined = req.bindingKey === undefined ? undefined : await bindKey(req.bindingKey);

    const nonceHash = toHex(sha256(req.nonce));
    // Once per request: the evidence digest of the record is also the log cache's key.
    const eventLogDigest = toHex(sha256(req.eventLog));
    let t = performance.now();
    const nonceOutcome = await this.store.consumeNonce(nonceHash, hostId, now);
    timings.nonce = ms(t);
    const nonceOk = nonceOutcome === 'ok';

    t = performance.now();
    const { profiles, missing, unusable } = await this.profiles.resolve(host.profiles);
    timings.profiles = ms(t);

    const akPub = fromBase64(host.akPub);
    if (akPub === null) throw new Error(`stored akPub of ${hostId} is not base64`);
    const expectedExtraData = bound ? sha256(req.nonce, bound.thumbprintBytes) : req.nonce;

    t = performance.now();
    let outcome: AppraiseOutput;
    try {
      const prev = nonceOk ? previousClock(host) : undefined;
      // Without a live nonce the evidence is a replay or made up: its (unsigned) log is not appraised,
      // so an anonymous caller cannot make the verifier chew on a 4 MB log per request.
      outcome = !nonceOk ? { verdict: 'fail', profile: null, failures: [], pcrs: {}, timings: {} } : await this.core.appraise({
        akPub,
        quote: req.quote,
        signature: req.signature,
        expectedExtraData,
        eventLog: req.eventLog,
        eventLogDigest,
        ...(req.pcrs ? { claimedPcrs: req.pcrs } : {}),
        profiles,
        ...(prev ? { previousClock: prev } : {}),
      });
    } catch (err) {
      if (err instanceof ParseError) throw new ApiError(400, malformedCode(err), err.message.slice(0, 500));
      throw err;
    }
    timings.pipeline = ms(t);
    if (outcome.logCached !== undefined) this.metrics.logCache.inc({ result: outcome.logCached ? 'hit' : 'miss' });
    for (const [k, v] of Object.entries(outcome.timings)) timings[`pipeline.${k}`] = v;

    const failures: Finding[] = [];
    if (!nonceOk) failures.push(NONCE_FINDINGS[nonceOutcome]);
    if (host.profiles.length === 0) {
      failures.push({ code: 'profile_not_found', message: `host ${hostId} has no golden profile assigned; an administrator sets one with PUT /v1/hosts/${hostId}` });
    }
    for (const name of missing) {
      failures.push({ code: 'profile_not_found', message: `golden profile "${name}" assigned to host ${hostId} does not exist` });
    }
    for (const u of unusable) {
      failures.push({ code: 'profile_not_found', message: `golden profile ${u.id} assigned to host ${hostId} no longer loads (${u.reason}); store a corrected version` });
    }
    for (const f of outcome.failures) {
      if (f.code === 'profile_not_found' && failures.some((g) => g.code === 'profile_not_found')) continue;
      failures.push(f);
    }
    const verdict: 'pass' | 'fail' = failures.length === 0 && outcome.verdict === 'pass' ? 'pass' : 'fail';
    // Without a live nonce the pipeline did not run; the signature alone says whose quote this is.
    const rejected = nonceOk ? outcome.failures.some((f) => NOT_SIGNED_BY_HOST.has(f.code)) : !signedByHost(akPub, req.quote, req.signature);

    const appraisalId = randomUUID();
    let token: { token: string; jti: string; expiresAt: Date } | undefined;
    if (verdict === 'pass') {
      if (outcome.profile === null || outcome.pcrDigest === undefined) {
        throw new Error('the pipeline passed without naming a profile and a pcrDigest');
      }
      t = performance.now();
      token = await issueAttestationToken(
        this.keyring,
        { issuer: this.settings.issuer(), ttlSeconds: this.settings.tokenTtlSeconds, now, format: this.settings.tokenFormat ?? 'jwt', verifierBuild: VERIFIER_BUILD },
        {
          hostId,
          appraisalId,
          profile: outcome.profile,
          akName: host.akName,
          pcrDigest: outcome.pcrDigest,
          ...(bound ? { bindingKeyThumbprint: bound.thumbprint } : {}),
          ...(this.settings.tokenFormat === 'ear' ? { vector: trustworthinessVector(profiles.find((p) => `${p.name}@${p.version}` === outcome.profile)?.pcrs ?? [], failures) } : {}),
        },
      );
      timings.token = ms(t);
    }

    const clockIsFresh = outcome.verifiedClock !== undefined && nonceOk && !failures.some((f) => CLOCK_UNTRUSTED_CODES.has(f.code));
    const safeFailures = toJsonSafe(failures) as unknown[];
    timings.total = ms(started);
    const record: AppraisalRecord = {
      appraisalId,
      hostId,
      verdict,
      profile: outcome.profile,
      failures: safeFailures,
      pcrs: outcome.pcrs,
      evidence: {
        quote: toHex(sha256(req.quote)),
        signature: toHex(sha256(req.signature)),
        eventLog: eventLogDigest,
        nonce: nonceHash,
      },
      ...(clockIsFresh && outcome.verifiedClock ? { clock: clockRecord(outcome.verifiedClock) } : {}),
      ...(token ? { tokenId: token.jti, tokenExpiresAt: token.expiresAt.toISOString() } : {}),
      ...(bound ? { bindingKeyThumbprint: bound.thumbprint, bindingKey: JSON.stringify(bound.jwk) } : {}),
      timings,
      appraisedAt: now.toISOString(),
      ...(rejected ? { rejected: true } : {}),
      // Kept as evidence only when the pipeline appraised it: a live nonce and the host's own quote.
      ...(!rejected && outcome.logCached !== undefined ? { eventLog: req.eventLog } : {}),
    };

    t = performance.now();
    if (rejected) {
      // Recorded for audit only: evidence the host's TPM did not sign cannot speak for the host.
      await this.store.recordAppraisal(record);
    } else {
      await this.recordCounted(record, host, failures, now);
    }
    const storeMs = ms(t);
    this.settings.onAppraised?.({ ...timings, store: storeMs });

    this.metrics.appraisals.inc({ verdict });
    for (const f of failures) this.metrics.appraisalFailures.inc({ code: f.code });
    this.metrics.appraisalDuration.observe({ verdict }, (performance.now() - started) / 1000);
    this.log.info({ hostId, appraisalId, verdict, rejected, codes: failures.map((f) => f.code), storeMs }, 'appraisal');

    return {
      appraisalId,
      verdict,
      profile: outcome.profile,
      failures: safeFailures,
      pcrs: outcome.pcrs,
      ...(token ? { token: token.token, expiresAt: token.expiresAt.toISOString() } : {}),
      ...(outcome.unverifiedData !== undefined ? { unverifiedData: outcome.unverifiedData } : {}),
    };
  }

  /** Records an appraisal that speaks for the host: a failure revokes its token, and a change of trust is an event. */
  private async recordCounted(record: AppraisalRecord, host: HostRecord, failures: Finding[], now: Date): Promise<void> {
    const { hostId, appraisalId, verdict } = record;
    const statusBefore = trustStatusOf(host, await this.store.lastAppraisalVerdict(hostId), now);
    const previousPass = verdict === 'fail' ? await this.store.lastPassingAppraisal(hostId) : undefined;
    if (verdict === 'fail' && this.settings.driftEntry) record.drift = await this.settings.driftEntry(record, previousPass);
    await this.store.recordAppraisal(record);
    if (previousPass?.tokenId && previousPass.tokenExpiresAt && Date.parse(previousPass.tokenExpiresAt) > now.getTime()) {
      await this.store.revokeToken(previousPass.tokenId, hostId, now, new Date(previousPass.tokenExpiresAt));
    }
    // Events mark changes of trust; a host passing again and again is not news (and each event costs an fsync).
    const statusAfter = verdict === 'pass' ? 'trusted' : 'untrusted';
    if (statusAfter !== statusBefore) {
      await this.store.appendTrustEvent({
        hostId,
        kind: statusAfter,
        appraisalId,
        // The profile version that decided, so a consumer can tell a rollout's acceptance from a repair.
        detail: { profile: record.profile, ...(verdict === 'fail' ? { codes: failures.map((f) => f.code) } : {}) },
        at: now.toISOString(),
      });
    }
  }
}
