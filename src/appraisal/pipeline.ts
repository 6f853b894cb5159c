/**
 * appraiseEvidence: the one appraisal pipeline, used by the HTTP service and by `bootgate appraise`
 * alike so both give the same verdict and findings. Stages: verify the quote (signature, magic,
 * type, nonce; evidence that fails these stops here), parse the log, resolve the quoted PCR values
 * (replay vs claimed vs pcrDigest), clock monotonicity, log consistency, then the golden profiles.
 * At most MAX_FINDINGS findings are listed.
 */
import { performance } from 'node:perf_hooks';
import type { DigestMismatch, EventLog, ReplayResult } from '../eventlog/types.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import { profileId } from '../golden/load.ts';
import { HASH_ALGS, type HashAlg, type PcrBanks } from '../tpm/alg.ts';
import type { TPMS_CLOCK_INFO } from '../tpm/attest.ts';
import type { TPML_PCR_SELECTION } from '../tpm/pcr-selection.ts';
import { parsePublic, type TPMT_PUBLIC } from '../tpm/public.ts';
import { verifyQuote, type QuoteVerification } from '../tpm/quote.ts';
import { toHex } from '../util/encoding.ts';
import { replayEventLog } from '../eventlog/replay.ts';
import { appraiseLog } from './appraise.ts';
import { checkClock, type ClockLike } from './clock.ts';
import { capFindings, dedupeFindings } from './finding.ts';
import { requiredPcrSelectionText } from './pcr-selection.ts';
import { resolveQuotedPcrs } from './quoted-pcrs.ts';
import { prepareLog, type LogPreparer, type PreparedLog } from './prepared-log.ts';
import type { Finding, UnverifiedData, Verdict } from './types.ts';

export interface EvidenceInput {
  /** TPM2B_PUBLIC / TPMT_PUBLIC bytes, or already parsed. Required with a quote. */
  akPub?: TPMT_PUBLIC | Uint8Array;
  /** TPMS_ATTEST as signed. Without a quote only the log is appraised (offline). */
  quote?: Uint8Array;
  signature?: Uint8Array;
  /** The nonce (or nonce binding) the quote's extraData must equal. Omit only when checked elsewhere. */
  expectedExtraData?: Uint8Array;
  /** Raw event log bytes (or an already parsed log). */
  eventLog: Uint8Array | EventLog;
  /** Host-claimed PCR values for quoted PCRs the log does not cover (contract §3.2 `pcrs`). */
  claimedPcrs?: PcrBanks;
  /** Candidate profiles: the verdict is pass when any of them passes. */
  profiles: GoldenProfile[];
  /** Clock info of the host's previous appraisal. */
  previousClock?: ClockLike;
  /** Parses, replays and checks the log bytes; a cache may stand in (prepared-log-cache.ts). */
  logPreparer?: LogPreparer;
  /** SHA-256 of the log bytes (hex), if the caller already has it: the cache's key. */
  eventLogDigest?: string;
}

export interface AppraisalTimings {
  parseMs: number;
  quoteMs: number;
  replayMs: number;
  consistencyMs: number;
  goldenMs: number;
  totalMs: number;
}

export interface AppraisalOutcome {
  verdict: Verdict;
  /** "name@version" of the passing profile, or of the closest one when all fail; null without profiles. */
  profile: string | null;
  failures: Finding[];
  /** PCR values used: the quoted values when there is a quote, else the replayed (and claimed) values. */
  pcrs: Record<string, Record<string, string>>;
  quote?: QuoteVerification;
  clockInfo?: TPMS_CLOCK_INFO;
  timings: AppraisalTimings;
  /** Whether the log's parse, replay and consistency check were reused from an identical earlier log; absent when the log was not appraised. */
  logCached?: boolean;
  /** Events in the appraised PCRs whose data is unverified (decided by digest alone); absent when none. */
  unverifiedData?: UnverifiedData[];
}

/** Unverified event data in the PCRs and bank `profile` appraises. */
function unverifiedIn(profile: GoldenProfile, mismatches: readonly DigestMismatch[]): UnverifiedData[] {
  return mismatches
    .filter((m) => m.bank === profile.bank && profile.pcrs.includes(m.pcr))
    .map((m) => ({ pcr: m.pcr, eventIndex: m.eventIndex, eventType: m.typeName, bank: m.bank, ...(m.knownDeviation !== undefined ? { knownDeviation: m.knownDeviation } : {}) }));
}

/** Evidence that cannot be appraised at all (e.g. a quote without its signature). Shells map it to 400 / exit 2. */
export class EvidenceInputError extends Error {
  override readonly name = 'EvidenceInputError';
}

function banksToJson(b: PcrBanks): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const alg of HASH_ALGS) {
    const m = b[alg];
    if (m === undefined || m.size === 0) continue;
    const o: Record<string, string> = {};
    for (const pcr of [...m.keys()].sort((x, y) => x - y)) o[String(pcr)] = toHex(m.get(pcr) as Uint8Array);
    out[alg] = o;
  }
  return out;
}

/** Without a quote: replayed values, plus claimed values for PCRs the log does not cover. */
function offlinePcrs(replay: ReplayResult, claimed: PcrBanks | undefined): { values: PcrBanks; findings: Finding[] } {
  const values: PcrBanks = {};
  const findings: Finding[] = [];
  for (const alg of HASH_ALGS) {
    const r = replay.pcrs[alg];
    const c = claimed?.[alg];
    if (r === undefined && c === undefined) continue;
    const m = new Map<number, Uint8Array>(r ?? []);
    for (const [pcr, v] of c ?? []) {
      const replayed = r?.get(pcr);
      if (replayed === undefined) m.set(pcr, v);
      else if (toHex(replayed) !== toHex(v)) {
        findings.push({ code: 'pcr_replay_mismatch', message: `PCR ${pcr} (${alg}): replaying the event log gives ${toHex(replayed)} but the claimed value is ${toHex(v)}`, pcr, bank: alg, expected: toHex(v), actual: toHex(replayed) });
      }
    }
    values[alg] = m;
  }
  return { values, findings };
}

function claimedBanks(claimed: PcrBanks | undefined): HashAlg[] {
  return claimed === undefined ? [] : HASH_ALGS.filter((a) => (claimed[a]?.size ?? 0) > 0);
}

/**
 * Offline `pcrs` reports every bank of the log, but no verdict reads the banks outside the
 * appraised and claimed ones: they are replayed when `pcrs` is first read (JSON output, the CLI),
 * and never when nobody asks. Same values as an eager replay: banks replay independently.
 * One shared accessor, its state in a non-enumerable slot: no closure per outcome, and nothing
 * that copies or serializes the outcome sees the slot.
 */
const PENDING = Symbol('pendingPcrs');
type Pending = { [PENDING]?: () => Record<string, Record<string, string>> };

function settle(outcome: object, value: Record<string, Record<string, string>>): void {
  Object.defineProperty(outcome, 'pcrs', { value, writable: true, enumerable: true, configurable: true });
}

const LAZY_PCRS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Pending) {
    const value = this[PENDING]?.() ?? {};
    settle(this, value);
    return value;
  },
  set(this: object, value: Record<string, Record<string, string>>) {
    settle(this, value);
  },
};

function lazyOfflinePcrs(outcome: AppraisalOutcome, log: EventLog, replay: ReplayResult, claimed: PcrBanks | undefined): void {
  Object.defineProperty(outcome, PENDING, { value: () => {
    const missing = log.banks.filter((b) => replay.pcrs[b] === undefined);
    const rest = missing.length > 0 ? replayEventLog(log, missing).pcrs : {};
    return banksToJson(offlinePcrs({ ...replay, pcrs: { ...replay.pcrs, ...rest } }, claimed).values);
  }, configurable: true });
  Object.defineProperty(outcome, 'pcrs', LAZY_PCRS);
}

function uniqueBanks(banks: readonly HashAlg[]): HashAlg[] {
  return [...new Set(banks)];
}

/**
 * Quote failures after which the evidence is not the host's answer to this nonce: a wrong signature
 * or a quote made for another nonce. The event log is not signed, so appraising it would only spend
 * CPU on (and store findings about) whatever log an anonymous caller attached.
 */
const UNAUTHENTIC_QUOTE_CODES = new Set(['quote_signature_invalid', 'quote_signature_scheme_invalid', 'quote_magic_invalid', 'quote_type_invalid', 'nonce_mismatch']);

export function appraiseEvidence(input: EvidenceInput): AppraisalOutcome {
  const t0 = performance.now();
  let quote: QuoteVerification | undefined;
  if (input.quote !== undefined) {
    if (input.signature === undefined || input.akPub === undefined) throw new EvidenceInputError('a quote needs its signature and the AK public key');
    const akPub = input.akPub instanceof Uint8Array ? parsePublic(input.akPub) : input.akPub;
    quote = verifyQuote({
      akPub,
      quote: input.quote,
      signature: input.signature,
      ...(input.expectedExtraData !== undefined ? { expectedExtraData: input.expectedExtraData } : {}),
    });
    if (quote.failures.some((f) => UNAUTHENTIC_QUOTE_CODES.has(f.code))) {
      const ms = performance.now() - t0;
      return {
        verdict: 'fail',
        // No profile was tried; name the first candidate, as an appraisal against it would.
        profile: input.profiles[0] !== undefined ? profileId(input.profiles[0]) : null,
        failures: dedupeFindings(quote.failures),
        pcrs: {},
        quote,
        clockInfo: quote.clockInfo,
        timings: { parseMs: 0, quoteMs: ms, replayMs: 0, consistencyMs: 0, goldenMs: 0, totalMs: ms },
      };
    }
  }
  const tq = performance.now();
  // Every bank costs one hash per event, in replay and in the consistency check: only the banks the
  // profiles appraise and the quote selects are computed (offline, every bank is reported).
  const profileBanks = uniqueBanks(input.profiles.map((p) => p.bank));
  // Offline, the verdict reads the appraised banks and the banks with claimed values; the other
  // banks appear only in `pcrs`, replayed when it is read (lazyOfflinePcrs).
  const replayBanks = uniqueBanks([...profileBanks, ...(quote !== undefined ? quote.pcrSelection.map((s) => s.hash) : claimedBanks(input.claimedPcrs))]);
  let prepared: PreparedLog;
  let logCached = false;
  if (input.logPreparer !== undefined && input.eventLog instanceof Uint8Array) {
    ({ prepared, cached: logCached } = input.logPreparer.prepare(input.eventLog, replayBanks, profileBanks, input.eventLogDigest));
  } else {
    prepared = prepareLog(input.eventLog, replayBanks, profileBanks);
  }
  const { log, replay, consistency } = prepared;
  const t3 = performance.now();

  const common: Finding[] = [];
  let quotedPcrs: PcrBanks | undefined;
  let quoteSelection: TPML_PCR_SELECTION | undefined;
  let pcrValues: PcrBanks | undefined;
  if (quote !== undefined) {
    common.push(...quote.failures);
    if (quote.attest.attested.kind === 'quote') {
      const resolved = resolveQuotedPcrs(quote.pcrSelection, replay, input.claimedPcrs, quote.attest.attested.pcrDigest, quote.signatureHash);
      common.push(...resolved.findings);
      quotedPcrs = resolved.values;
      quoteSelection = quote.pcrSelection;
    } else {
      quotedPcrs = {};
    }
    pcrValues = quotedPcrs;
    if (input.previousClock !== undefined) common.push(...checkClock(input.previousClock, quote.clockInfo));
  } else {
    const offline = offlinePcrs(replay, input.claimedPcrs);
    common.push(...offline.findings);
    // Offline, claimed values stand in for quoted ones (for pcr_unexplained / pcr_not_quoted).
    if (input.claimedPcrs !== undefined) quotedPcrs = offline.values;
  }
  const t4 = performance.now();

  let best: { profile: GoldenProfile; findings: Finding[] } | undefined;
  const requiredSelection = requiredPcrSelectionText(input.profiles);
  for (const profile of input.profiles) {
    const r = appraiseLog({
      log,
      replay,
      consistency,
      profile,
      requiredSelection,
      ...(quotedPcrs !== undefined ? { quotedPcrs } : {}),
      ...(quoteSelection !== undefined ? { quoteSelection } : {}),
    });
    if (best === undefined || r.findings.length < best.findings.length) best = { profile, findings: r.findings };
    if (r.findings.length === 0) break;
  }
  const t5 = performance.now();

  const failures = capFindings(dedupeFindings([
    ...common,
    ...(best?.findings ?? [{ code: 'profile_not_found', message: 'no golden profile to appraise against', rule: 'profiles' }]),
  ]));
  const outcome: AppraisalOutcome = {
    verdict: failures.length === 0 ? 'pass' : 'fail',
    profile: best === undefined ? null : profileId(best.profile),
    failures,
    pcrs: pcrValues !== undefined ? banksToJson(pcrValues) : {},
    // Reused from the cache, the log stages took no time in this appraisal.
    timings: {
      parseMs: logCached ? 0 : prepared.timings.parseMs,
      replayMs: logCached ? 0 : prepared.timings.replayMs,
      quoteMs: tq - t0 + (t4 - t3),
      consistencyMs: logCached ? 0 : prepared.timings.consistencyMs,
      goldenMs: t5 - t4,
      totalMs: t5 - t0,
    },
    logCached,
  };
  if (pcrValues === undefined) lazyOfflinePcrs(outcome, log, replay, input.claimedPcrs);
  if (quote !== undefined) {
    outcome.quote = quote;
    outcome.clockInfo = quote.clockInfo;
  }
  const unverified = best === undefined ? [] : unverifiedIn(best.profile, consistency.mismatches);
  if (unverified.length > 0) outcome.unverifiedData = unverified;
  return outcome;
}
