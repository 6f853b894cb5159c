/**
 * Appraise one parsed event log against one golden profile: every measured event in an appraised
 * PCR against its rule (deny by default), required separators and Secure Boot state, and (with a
 * quote) appraised PCRs that are not quoted or not explained. An event's data counts only where its
 * digest verifies it: a rule that would read unverified data fails the event (event_data_mismatch),
 * and a rule that pins the digest alone decides it without the data.
 */
import { dataVerified, type ConsistencyReport } from '../eventlog/consistency.ts';
import type { EventLog, ReplayResult, TcgEvent } from '../eventlog/types.ts';
import type { GoldenProfile } from '../golden/schema.ts';
import type { HashAlg, PcrBanks } from '../tpm/alg.ts';
import { formatPcrSelection } from '../tpm/pcr-selection.ts';
import { toHex } from '../util/encoding.ts';
import { classifyEvents, EVT } from './classify.ts';
import { dedupeFindings } from './finding.ts';
import { requiredPcrSelectionText } from './pcr-selection.ts';
import { eventDigestHex } from './match.ts';
import { checkComponent, type EventCheck } from './rules-components.ts';
import { checkAuthority, checkDbxEvent, checkSecureBootLog, checkSecureBootVar, checkSignatureDb } from './rules-secureboot.ts';
import type { Finding, Verdict } from './types.ts';

export interface AppraiseLogInput {
  log: EventLog;
  replay: ReplayResult;
  /** Which events' data their digests verify, in the appraised bank. */
  consistency: ConsistencyReport;
  profile: GoldenProfile;
  /** PCR values the quote vouches for (resolveQuotedPcrs), when there is a quote. */
  quotedPcrs?: PcrBanks;
  /**
   * The quote's selection. A selected PCR without a value was already reported as
   * pcr_value_missing; only a PCR outside the selection is pcr_not_quoted.
   */
  quoteSelection?: readonly { hash: HashAlg; pcrs: readonly number[] }[];
  /** What the host should quote for all its candidate profiles (`tpm2_quote -l` syntax), named by pcr_not_quoted. */
  requiredSelection?: string;
}

export interface LogAppraisal {
  verdict: Verdict;
  findings: Finding[];
}

/** Reset value of a PCR: all zeros, except PCRs 17-22 (dynamic root of trust) which reset to all ones. */
export function pcrResetValue(pcr: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(pcr >= 17 && pcr <= 22 ? 0xff : 0);
}

function eventCheck(profile: GoldenProfile, bank: HashAlg, ev: TcgEvent, digest: string, consistency: ConsistencyReport): EventCheck {
  const verified = dataVerified(consistency, ev, bank);
  const c: EventCheck = { profile, bank, ev, digest, dataVerified: verified };
  if (verified === false) {
    const known = consistency.mismatches.find((m) => m.eventIndex === ev.index && m.bank === bank)?.knownDeviation;
    if (known !== undefined) return { ...c, knownDeviation: known };
  }
  return c;
}

/** Findings about an event whose data is unverified say so, so nobody reads its decoded data as measured. */
function markUnverified(findings: Finding[], c: EventCheck): Finding[] {
  if (c.dataVerified !== false) return findings;
  const note = c.knownDeviation !== undefined ? `known deviation ${c.knownDeviation}` : `its digest is none of ${c.ev.typeName}'s genuine digests`;
  return findings.map((f) => (f.dataVerified === false ? f : { ...f, dataVerified: false, message: `${f.message} (the event's data is unverified: ${note})` }));
}

function allowedUnknown(profile: GoldenProfile, ev: TcgEvent): boolean {
  return (profile.allowUnknownEvents ?? []).some((a) => a.pcr === ev.pcr && (a.type === undefined || a.type === ev.typeName));
}

const DENY_CODES = new Set([
  'event_not_allowed', 'crtm_version_not_allowed', 'firmware_not_allowed', 'boot_config_not_allowed', 'driver_not_allowed',
  'bootloader_not_allowed', 'kernel_not_allowed', 'initrd_not_allowed', 'grub_command_not_allowed', 'cmdline_not_allowed',
  'secure_boot_pk_not_allowed', 'secure_boot_kek_not_allowed', 'secure_boot_db_not_allowed', 'secure_boot_authority_not_allowed',
]);

export function appraiseLog(input: AppraiseLogInput): LogAppraisal {
  const { log, replay, consistency, profile, quotedPcrs, quoteSelection } = input;
  const bank = profile.bank;
  const appraised = new Set(profile.pcrs);
  const findings: Finding[] = [];
  const measured = log.events.filter((e) => e.type !== EVT.EV_NO_ACTION && e.pcr <= 23);

  const unreplayable = new Set<number>();
  for (const u of replay.unreplayable) {
    if (u.bank !== bank || !appraised.has(u.pcr) || unreplayable.has(u.pcr)) continue;
    unreplayable.add(u.pcr);
    findings.push({
      code: 'pcr_bank_unreplayable',
      message: `PCR ${u.pcr} cannot be replayed in ${bank}: event ${u.eventIndex} has no ${bank} digest`,
      pcr: u.pcr, bank, eventIndex: u.eventIndex, rule: 'bank', expected: bank, actual: null,
    });
  }
  if (!log.banks.includes(bank)) {
    for (const pcr of [...new Set(measured.filter((e) => appraised.has(e.pcr)).map((e) => e.pcr))].sort((a, b) => a - b)) {
      if (unreplayable.has(pcr)) continue;
      unreplayable.add(pcr);
      findings.push({ code: 'pcr_bank_unreplayable', message: `the event log does not carry the ${bank} bank the profile appraises (PCR ${pcr})`, pcr, bank, rule: 'bank', expected: bank, actual: log.banks });
    }
  }

  const classes = classifyEvents(log, profile);
  log.events.forEach((ev, i) => {
    const cls = classes[i];
    if (cls === undefined || !appraised.has(ev.pcr)) return;
    const d = eventDigestHex(ev, bank);
    if (d === undefined) return; // reported above as pcr_bank_unreplayable
    const c = eventCheck(profile, bank, ev, d, consistency);
    let out: Finding[];
    switch (cls.kind) {
      case 'secureBootVar':
        out = checkSecureBootVar(c);
        break;
      case 'signatureDb':
        out = checkSignatureDb(cls.db, c);
        break;
      case 'dbx':
        out = checkDbxEvent(c);
        break;
      case 'authority':
        out = checkAuthority(cls.variable, c);
        break;
      default:
        out = checkComponent(cls, c);
    }
    if (allowedUnknown(profile, ev)) out = out.filter((f) => !DENY_CODES.has(f.code));
    findings.push(...markUnverified(out, c));
  });

  // Required separators (default: PCRs 0-7 that are appraised).
  const sepPcrs = profile.separators?.pcrs ?? [0, 1, 2, 3, 4, 5, 6, 7];
  for (const pcr of sepPcrs) {
    if (!appraised.has(pcr)) continue;
    if (!measured.some((e) => e.pcr === pcr && e.type === EVT.EV_SEPARATOR)) {
      findings.push({ code: 'separator_missing', message: `PCR ${pcr} has no EV_SEPARATOR`, pcr, bank, rule: 'separators.pcrs', component: 'EV_SEPARATOR', expected: 'EV_SEPARATOR', actual: null });
    }
  }

  if (appraised.has(7)) findings.push(...checkSecureBootLog(profile, bank, measured.filter((e) => e.pcr === 7)));

  if (quotedPcrs !== undefined) findings.push(...checkQuotedPcrs(profile, replay, quotedPcrs, quoteSelection, input.requiredSelection));

  const all = dedupeFindings(findings);
  return { verdict: all.length === 0 ? 'pass' : 'fail', findings: all };
}

function checkQuotedPcrs(
  profile: GoldenProfile,
  replay: ReplayResult,
  quoted: PcrBanks,
  selection: AppraiseLogInput['quoteSelection'],
  required: string = requiredPcrSelectionText([profile]),
): Finding[] {
  const bank = profile.bank;
  const out: Finding[] = [];
  const selected = new Set(selection?.filter((s) => s.hash === bank).flatMap((s) => s.pcrs));
  const values = quoted[bank];
  const covered = replay.pcrs[bank];
  const sorted = [...profile.pcrs].sort((a, b) => a - b);
  const missing = sorted.filter((pcr) => values?.get(pcr) === undefined && !selected.has(pcr));
  const quotedText = selection !== undefined && selection.length > 0 ? formatPcrSelection(selection) : '(none)';
  for (const pcr of sorted) {
    const v = values?.get(pcr);
    if (v === undefined) {
      if (selected.has(pcr)) continue;
      out.push({
        code: 'pcr_not_quoted',
        message: `PCR ${pcr} (${bank}) is appraised by ${profile.name}@${profile.version} but is not in the quote (missing ${bank} PCRs ${missing.join(',')}); quote the pcrSelection of the nonce answer: ${required}`,
        pcr, bank, rule: 'pcrs', expected: required, actual: quotedText,
      });
      continue;
    }
    if (covered?.has(pcr) === true) continue;
    const reset = pcrResetValue(pcr, v.length);
    if (toHex(v) !== toHex(reset)) {
      out.push({ code: 'pcr_unexplained', message: `PCR ${pcr} (${bank}) holds ${toHex(v)} but the event log has no event for it`, pcr, bank, rule: 'pcrs', expected: toHex(reset), actual: toHex(v) });
    }
  }
  return out;
}
