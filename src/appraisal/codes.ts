/**
 * Every failure code an appraisal can produce, with a one-line meaning. Stable: operators and
 * relying parties match on these strings. golden-measurements/README.md explains what to check for each.
 */
export const FAILURE_CODES = {
  // Golden profile: components (deny by default)
  crtm_version_not_allowed: 'The S-CRTM version event in PCR 0 is not in the profile.',
  firmware_not_allowed: 'A platform firmware blob or other PCR 0 firmware event is not in the profile.',
  boot_config_not_allowed: 'A PCR 1 boot configuration event (BootOrder, Boot####, tables) is not in the profile.',
  driver_not_allowed: 'An option ROM or boot/runtime services driver (PCR 2) is not in the profile.',
  bootloader_not_allowed: 'A shim or bootloader image (PCR 4) is not in the profile.',
  kernel_not_allowed: 'A kernel image (PCR 4 application or PCR 9 file) is not in the profile.',
  initrd_not_allowed: 'An initrd loaded by the bootloader (PCR 9) is not in the profile.',
  grub_command_not_allowed: 'A bootloader command (PCR 8) is not in the profile.',
  cmdline_not_allowed: 'The kernel command line (PCR 8, or PCR 12 for systemd-boot) is not in the profile.',
  secure_boot_disabled: 'The profile requires Secure Boot but the SecureBoot variable is absent or not 1.',
  secure_boot_pk_not_allowed: 'The Platform Key holds a certificate or hash the profile does not allow.',
  secure_boot_kek_not_allowed: 'KEK holds a certificate or hash the profile does not allow.',
  secure_boot_db_not_allowed: 'db holds a certificate or hash the profile does not allow.',
  dbx_entry_missing: 'A revocation the profile requires is not in dbx.',
  secure_boot_authority_not_allowed: 'An EV_EFI_VARIABLE_AUTHORITY (what verified an image) is not in the profile.',
  event_not_allowed: 'An event the profile does not describe (deny by default).',
  separator_missing: 'A PCR the profile requires a separator in has no EV_SEPARATOR.',
  // Log integrity
  event_data_mismatch: 'A golden rule reads an event\'s data (Secure Boot variables, authorities, command lines, boot options), but the event\'s digest is none of its type\'s genuine digests, so that data is unverified.',
  pcr_replay_mismatch: 'Replaying the event log does not give the quoted PCR value: the log was edited or is incomplete.',
  pcr_bank_unreplayable: 'The log cannot be replayed in the appraised bank (events lack that digest).',
  pcr_unexplained: 'An appraised PCR the log does not cover holds a value other than its reset value.',
  pcr_not_quoted: 'An appraised PCR is not in the quote selection.',
  pcr_value_missing: 'A quoted PCR has no value from the log or from the claimed PCRs.',
  pcr_digest_mismatch: 'The PCR values do not reproduce the quote pcrDigest.',
  // Quote
  quote_signature_invalid: 'The quote signature does not verify with the AK.',
  quote_signature_scheme_invalid: 'The signature scheme or hash is not allowed for this AK.',
  quote_magic_invalid: 'TPMS_ATTEST.magic is not TPM_GENERATED_VALUE: not produced by a TPM.',
  quote_type_invalid: 'TPMS_ATTEST.type is not TPM_ST_ATTEST_QUOTE.',
  // Freshness
  nonce_mismatch: 'The quote extraData is not the expected nonce (or nonce binding).',
  nonce_reused: 'The nonce was already used by an earlier attestation.',
  nonce_unknown: 'The nonce was never issued.',
  nonce_expired: 'The nonce expired before the attestation arrived.',
  nonce_wrong_host: 'The nonce was issued for a different host.',
  clock_rollback: 'Within one resetCount/restartCount the TPM clock went backwards since the last appraisal.',
  reset_count_rollback: 'The TPM resetCount decreased since the last appraisal.',
  restart_count_rollback: 'The TPM restartCount decreased within the same resetCount.',
  // Configuration
  profile_not_found: 'No golden profile is assigned to the host, or an assigned profile does not exist or no longer loads.',
  // Bounds
  findings_truncated: 'More findings than an appraisal lists (1000); the rest are counted by code in its message.',
} as const;

export type FailureCode = keyof typeof FAILURE_CODES;

export function isFailureCode(s: string): s is FailureCode {
  return Object.hasOwn(FAILURE_CODES, s);
}
