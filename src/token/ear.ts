/**
 * EAT Attestation Results (draft-ietf-rats-ear, JSON serialisation) with the AR4SI
 * trustworthiness claims a measured-boot appraisal can justify. Pure: findings and the profile's
 * appraised PCRs in, claims out. docs/tokens.md documents the mapping.
 */
export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
/** The one attester bootgate appraises: the host's boot chain, as its TPM measured it. */
export const EAR_SUBMOD = 'measured-boot';

export type Tier = 'none' | 'affirming' | 'warning' | 'contraindicated';
export type Category = 'instance-identity' | 'configuration' | 'executables' | 'file-system' | 'hardware';
export type TrustworthinessVector = Partial<Record<Category, number>>;

/** AR4SI values used here (draft-ietf-rats-ar4si §2.3). */
export const AR4SI = {
  recognizedInstance: 2,
  untrustworthyInstance: 96,
  approvedConfig: 2,
  unsafeConfig: 32,
  unsupportableConfig: 96,
  approvedBoot: 3,
  unrecognizedRuntime: 33,
  genuineHardware: 2,
  unrecognizedHardware: 97,
  cryptoFailed: 99,
} as const;

/** Which PCRs carry evidence for which category (TCG PC Client PCR usage). */
const PCR_CATEGORY: Record<number, Category> = { 0: 'hardware', 2: 'hardware', 4: 'executables', 9: 'executables', 1: 'configuration', 7: 'configuration', 8: 'configuration', 12: 'configuration' };

/** Failure codes that speak about one category, and the value they set. */
const FINDING_CLAIMS: Record<string, [Category, number]> = {
  crtm_version_not_allowed: ['hardware', AR4SI.unrecognizedHardware],
  firmware_not_allowed: ['hardware', AR4SI.unrecognizedHardware],
  driver_not_allowed: ['hardware', AR4SI.unrecognizedHardware],
  bootloader_not_allowed: ['executables', AR4SI.unrecognizedRuntime],
  kernel_not_allowed: ['executables', AR4SI.unrecognizedRuntime],
  initrd_not_allowed: ['executables', AR4SI.unrecognizedRuntime],
  secure_boot_authority_not_allowed: ['executables', AR4SI.unrecognizedRuntime],
  boot_config_not_allowed: ['configuration', AR4SI.unsafeConfig],
  grub_command_not_allowed: ['configuration', AR4SI.unsafeConfig],
  cmdline_not_allowed: ['configuration', AR4SI.unsafeConfig],
  secure_boot_pk_not_allowed: ['configuration', AR4SI.unsafeConfig],
  secure_boot_kek_not_allowed: ['configuration', AR4SI.unsafeConfig],
  secure_boot_db_not_allowed: ['configuration', AR4SI.unsafeConfig],
  secure_boot_disabled: ['configuration', AR4SI.unsupportableConfig],
  dbx_entry_missing: ['configuration', AR4SI.unsupportableConfig],
  // The quote is not the enrolled TPM's, or not fresh: the instance is not who it claims to be now.
  quote_signature_invalid: ['instance-identity', AR4SI.cryptoFailed],
  quote_signature_scheme_invalid: ['instance-identity', AR4SI.cryptoFailed],
  quote_magic_invalid: ['instance-identity', AR4SI.cryptoFailed],
  quote_type_invalid: ['instance-identity', AR4SI.cryptoFailed],
  nonce_mismatch: ['instance-identity', AR4SI.cryptoFailed],
  nonce_reused: ['instance-identity', AR4SI.cryptoFailed],
  nonce_unknown: ['instance-identity', AR4SI.cryptoFailed],
  nonce_expired: ['instance-identity', AR4SI.cryptoFailed],
  nonce_wrong_host: ['instance-identity', AR4SI.cryptoFailed],
  clock_rollback: ['instance-identity', AR4SI.cryptoFailed],
  reset_count_rollback: ['instance-identity', AR4SI.cryptoFailed],
  restart_count_rollback: ['instance-identity', AR4SI.cryptoFailed],
  host_revoked: ['instance-identity', AR4SI.untrustworthyInstance],
};

/** Log-integrity failures: the log does not match what the TPM signed, for the PCR they name. */
const LOG_INTEGRITY = new Set(['event_data_mismatch', 'pcr_replay_mismatch', 'pcr_bank_unreplayable', 'pcr_unexplained', 'pcr_not_quoted', 'pcr_value_missing', 'pcr_digest_mismatch', 'event_not_allowed', 'separator_missing']);

export function tierOf(value: number): Tier {
  if (value >= 96) return 'contraindicated';
  if (value >= 32) return 'warning';
  if (value >= 2) return 'affirming';
  return 'none';
}

const TIER_RANK: Record<Tier, number> = { none: 0, affirming: 1, warning: 2, contraindicated: 3 };

/**
 * The vector for an appraisal: each category the profile appraised is affirmed unless a finding
 * speaks against it; categories nothing appraised are absent (no claim). file-system is never
 * claimed: measured boot does not cover the file system (bootgate does not appraise IMA).
 */
export function trustworthinessVector(appraisedPcrs: readonly number[], findings: ReadonlyArray<{ code: string; pcr?: number }>): TrustworthinessVector {
  const v: TrustworthinessVector = { 'instance-identity': AR4SI.recognizedInstance };
  const affirmed: Record<Category, number> = { 'instance-identity': 2, hardware: AR4SI.genuineHardware, executables: AR4SI.approvedBoot, configuration: AR4SI.approvedConfig, 'file-system': 0 };
  for (const pcr of appraisedPcrs) {
    const c = PCR_CATEGORY[pcr];
    if (c) v[c] = affirmed[c];
  }
  const worsen = (c: Category, value: number) => {
    const now = v[c];
    if (now === undefined || TIER_RANK[tierOf(value)] > TIER_RANK[tierOf(now)]) v[c] = value;
  };
  for (const f of findings) {
    const claim = FINDING_CLAIMS[f.code];
    if (claim) worsen(claim[0], claim[1]);
    else if (LOG_INTEGRITY.has(f.code)) {
      const c = f.pcr === undefined ? undefined : PCR_CATEGORY[f.pcr];
      // A PCR outside the categories still makes the whole boot's evidence unreliable.
      for (const cat of c ? [c] : (['hardware', 'executables', 'configuration'] as const)) worsen(cat, AR4SI.cryptoFailed);
    }
  }
  return v;
}

/** ear.status: the tier of the worst claim (the draft allows no better). */
export function statusOf(vector: TrustworthinessVector): Tier {
  let worst: Tier = 'none';
  for (const value of Object.values(vector)) {
    const t = tierOf(value);
    if (TIER_RANK[t] > TIER_RANK[worst]) worst = t;
  }
  return worst;
}

export interface EarSubject {
  appraisalId: string;
  profile: string;
  akName: string;
  pcrDigest: string;
  vector: TrustworthinessVector;
  verifierBuild: string;
}

/** The EAR claims besides the JWT registered ones (iss, sub, iat, exp, jti, cnf). */
export function earClaims(s: EarSubject): Record<string, unknown> {
  return {
    eat_profile: EAR_PROFILE,
    'ear.verifier-id': { developer: 'bootgate', build: s.verifierBuild },
    submods: {
      [EAR_SUBMOD]: {
        'ear.status': statusOf(s.vector),
        'ear.trustworthiness-vector': s.vector,
        'ear.appraisal-policy-id': `golden:${s.profile}`,
      },
    },
    // An extension must be a map (draft §4): what key release and introspection read.
    bootgate: { appraisal: s.appraisalId, profile: s.profile, ak: s.akName, pcrDigest: s.pcrDigest },
  };
}

/**
 * The bootgate claims of a verified EAR, flattened to the default token's names, or a reason it
 * cannot stand for a trusted host.
 */
export function claimsFromEar(payload: Record<string, unknown>): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string } {
  const submods = payload['submods'];
  const appraisal = typeof submods === 'object' && submods !== null ? (submods as Record<string, unknown>)[EAR_SUBMOD] : undefined;
  const status = typeof appraisal === 'object' && appraisal !== null ? (appraisal as Record<string, unknown>)['ear.status'] : undefined;
  if (status !== 'affirming') return { ok: false, reason: `the EAR's ${EAR_SUBMOD} status is ${JSON.stringify(status ?? null)}, not "affirming"` };
  const ext = payload['bootgate'];
  if (typeof ext !== 'object' || ext === null) return { ok: false, reason: 'the EAR has no bootgate claims' };
  const { bootgate: _ext, submods: _s, eat_profile: _p, 'ear.verifier-id': _v, ...registered } = payload;
  return { ok: true, claims: { ...registered, ...(ext as Record<string, unknown>) } };
}
