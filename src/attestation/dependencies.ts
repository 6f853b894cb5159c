/** Adapts the pure core (enrollment, appraisal pipeline, golden profiles) to the service's ports. */
import { prepareEnrollment } from '../enrollment/prepare.ts';
import { loadEkRoots } from '../enrollment/ek-roots.ts';
import { appraiseEvidence, EvidenceInputError } from '../appraisal/pipeline.ts';
import { loadProfileDir, parseProfile, type GoldenProfile } from '../golden/index.ts';
import { ApiError } from '../util/errors.ts';
import { toHex } from '../util/encoding.ts';
import type { CoreDependencies, LoadedProfile } from './ports.ts';

/** Quote failures after which nothing in the TPMS_ATTEST (its clock included) is authentic. */
const UNAUTHENTIC_QUOTE_CODES = new Set([
  'quote_signature_invalid',
  'quote_signature_scheme_invalid',
  'quote_magic_invalid',
  'quote_type_invalid',
]);

function loaded(p: GoldenProfile): LoadedProfile {
  return { name: p.name, version: p.version, parsed: p };
}

/** `ekRootsPath` undefined: the shipped manufacturer roots. Throws at start-up for a bad roots path. */
export function coreDependencies(ekRootsPath: string | undefined): CoreDependencies {
  const roots = loadEkRoots(ekRootsPath);
  return {
    async prepareEnrollment(input) {
      const p = await prepareEnrollment({ ...input, roots });
      return { ekFingerprint: p.ekFingerprint, akName: p.akNameHex, secret: p.secret, credentialFile: p.credentialFile };
    },

    async appraise(input) {
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
      };
    },

    parseProfile(document, source) {
      return loaded(parseProfile(document, source));
    },

    loadProfileDir(dir) {
      return loadProfileDir(dir).map((p) => ({ profile: loaded(p), document: p as unknown, file: `${dir}/${p.name}@${p.version}` }));
    },
  };
}
