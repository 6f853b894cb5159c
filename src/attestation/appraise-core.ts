/**
 * The service's appraisal port over the pure pipeline, synchronous and free of I/O, so it runs
 * the same on the main thread and in an appraisal worker (appraisal-pool.ts).
 */
import { appraiseEvidence, EvidenceInputError } from '../appraisal/pipeline.ts';
import { PreparedLogCache } from '../appraisal/prepared-log-cache.ts';
import type { LogPreparer } from '../appraisal/prepared-log.ts';
import type { GoldenProfile } from '../golden/index.ts';
import { ApiError } from '../util/errors.ts';
import { toHex } from '../util/encoding.ts';
import type { AppraiseInput, AppraiseOutput } from './ports.ts';

/** Quote failures after which nothing in the TPMS_ATTEST (its clock included) is authentic. */
const UNAUTHENTIC_QUOTE_CODES = new Set([
  'quote_signature_invalid',
  'quote_signature_scheme_invalid',
  'quote_magic_invalid',
  'quote_type_invalid',
]);

/**
 * The prepared-log cache of one appraising thread: 256 logs and at most 32 MiB of them (a real
 * log is 20-100 KB, so a fleet of a few hundred distinct boots stays cached).
 */
export function newLogCache(): PreparedLogCache {
  return new PreparedLogCache({ maxEntries: 256, maxLogBytes: 32 * 1024 * 1024 });
}

/** Throws ParseError for malformed evidence and ApiError(400, invalid_evidence) for inconsistent input. */
export function appraiseSync(input: AppraiseInput, logPreparer?: LogPreparer): AppraiseOutput {
  let out;
  try {
    out = appraiseEvidence({
      akPub: input.akPub,
      quote: input.quote,
      signature: input.signature,
      expectedExtraData: input.expectedExtraData,
      eventLog: input.eventLog,
      ...(input.claimedPcrs ? { claimedPcrs: input.claimedPcrs } : {}),
      profiles: input.profiles.map((p) => p.parsed as GoldenProfile),
      ...(input.previousClock ? { previousClock: input.previousClock } : {}),
      ...(logPreparer ? { logPreparer } : {}),
      ...(input.eventLogDigest !== undefined ? { eventLogDigest: input.eventLogDigest } : {}),
    });
  } catch (err) {
    if (err instanceof EvidenceInputError) throw new ApiError(400, 'invalid_evidence', err.message);
    throw err;
  }
  const q = out.quote;
  const authentic = q !== undefined && !q.failures.some((f) => UNAUTHENTIC_QUOTE_CODES.has(f.code));
  const attested = q?.attest.attested;
  return {
    verdict: out.verdict,
    profile: out.profile,
    failures: out.failures,
    pcrs: out.pcrs,
    ...(attested?.kind === 'quote' ? { pcrDigest: toHex(attested.pcrDigest) } : {}),
    ...(authentic && out.clockInfo
      ? { verifiedClock: { clock: out.clockInfo.clock, resetCount: out.clockInfo.resetCount, restartCount: out.clockInfo.restartCount } }
      : {}),
    timings: { ...out.timings },
    ...(out.logCached !== undefined ? { logCached: out.logCached } : {}),
    ...(out.unverifiedData !== undefined ? { unverifiedData: out.unverifiedData } : {}),
  };
}
