/**
 * What the service needs from the pure core, in the service's own terms. The composition root
 * (src/attestation/dependencies.ts) adapts the real modules to these; tests may pass fakes.
 */
import type { Finding, UnverifiedData } from '../appraisal/types.ts';
import type { PcrBanks } from '../tpm/alg.ts';

export interface EnrollmentInput {
  hostId: string;
  ekCert: Uint8Array;
  ekPub?: Uint8Array;
  akPub: Uint8Array;
  now: Date;
}

export interface PreparedEnrollment {
  /** SHA-256 of the EK public key, hex. */
  ekFingerprint: string;
  /** akName as hex. */
  akName: string;
  /** The random secret wrapped by MakeCredential; only its hash is stored. */
  secret: Uint8Array;
  /** The tpm2-tools credential file (0xBADCC0DE...). */
  credentialFile: Uint8Array;
}

export interface ClockInfo {
  clock: bigint;
  resetCount: number;
  restartCount: number;
}

/** A golden profile as the core sees it; only name and version matter to the service. */
export interface LoadedProfile {
  name: string;
  version: string;
  /** The PCRs the profile appraises (what an EAR can vouch for). */
  pcrs?: readonly number[];
  /** The core's parsed representation, handed back to the appraiser untouched. */
  parsed: unknown;
}

export interface AppraiseInput {
  /** The enrolled AK's TPM2B_PUBLIC. */
  akPub: Uint8Array;
  quote: Uint8Array;
  signature: Uint8Array;
  expectedExtraData: Uint8Array;
  eventLog: Uint8Array;
  /** SHA-256 of eventLog, hex, when the caller has computed it already. */
  eventLogDigest?: string;
  claimedPcrs?: PcrBanks;
  profiles: LoadedProfile[];
  previousClock?: ClockInfo;
}

export interface AppraiseOutput {
  verdict: 'pass' | 'fail';
  /** "name@version" of the profile that passed or matched best. */
  profile: string | null;
  failures: Finding[];
  pcrs: Record<string, Record<string, string>>;
  /** The quote's pcrDigest (hex), when the quote parsed. */
  pcrDigest?: string;
  /** The quote's clock info when its signature verified, else undefined. */
  verifiedClock?: ClockInfo;
  /** Milliseconds per pipeline stage. */
  timings: Record<string, number>;
  /** Whether the log's parse, replay and consistency check came from an identical log appraised before; absent when the log was not appraised. */
  logCached?: boolean;
  /** Appraised events decided by digest alone because their data is unverified; absent when none. */
  unverifiedData?: UnverifiedData[];
}

export interface CoreDependencies {
  /** Throws ApiError (EK chain, AK policy) or ParseError (malformed keys/certificates). */
  prepareEnrollment(input: EnrollmentInput): Promise<PreparedEnrollment>;
  /** Throws ParseError for malformed evidence; well-formed evidence that fails policy is a 'fail' verdict. */
  appraise(input: AppraiseInput): Promise<AppraiseOutput>;
  /**
   * What a host assigned these profiles must quote, in `tpm2_quote -l` syntax (contract §3.2): every
   * PCR they appraise in the bank they appraise it; every sha256 PCR when there is none.
   */
  pcrSelection(profiles: LoadedProfile[]): string;
  /** Throws an error whose message explains the problem for an invalid profile document. */
  parseProfile(document: unknown, source: string): LoadedProfile;
  /** Profiles shipped as files: each with its JSON document. */
  loadProfileDir(dir: string): Array<{ profile: LoadedProfile; document: unknown; file: string }>;
}
