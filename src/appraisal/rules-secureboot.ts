/**
 * Secure Boot rules (PCR 7): the SecureBoot state, PK/KEK/db contents as allowed sets of
 * certificates and hashes, the dbx entries that must be present, and EV_EFI_VARIABLE_AUTHORITY.
 * Variable contents decide here, so an event whose data its digest does not verify is refused.
 */
import type { EfiSignatureList, TcgEvent } from '../eventlog/types.ts';
import type { AuthorityEntry, CertificateEntry, GoldenProfile, SignatureSet } from '../golden/schema.ts';
import type { HashAlg } from '../tpm/alg.ts';
import { toHex } from '../util/encoding.ts';
import type { FailureCode } from './codes.ts';
import type { SignatureDbName } from './classify.ts';
import { eventFinding } from './finding.ts';
import { describeTextMatch, textMatches } from './match.ts';
import { requiredIdBytes, SignatureIdSet } from './signature-ids.ts';
import { dataReadable, unverifiedData, type EventCheck } from './rules-components.ts';
import type { Finding } from './types.ts';

const DB_CODE: Record<SignatureDbName, FailureCode> = {
  pk: 'secure_boot_pk_not_allowed',
  kek: 'secure_boot_kek_not_allowed',
  db: 'secure_boot_db_not_allowed',
};
const DB_LABEL: Record<SignatureDbName, string> = { pk: 'PK', kek: 'KEK', db: 'db' };

/** One EFI_SIGNATURE_DATA as the profile names it: certificates by DER SHA-256 and subject, the rest by hex of data. */
export interface SignatureEntry {
  isCert: boolean;
  /** certSha256 for certificates, hex of the data otherwise. */
  id: string;
  subject?: string;
}

export function signatureEntries(lists: readonly EfiSignatureList[] | undefined): SignatureEntry[] {
  const out: SignatureEntry[] = [];
  for (const l of lists ?? []) {
    for (const s of l.signatures) {
      if (l.signatureTypeName === 'x509') {
        const e: SignatureEntry = { isCert: true, id: s.certSha256 ?? toHex(s.data) };
        if (s.subject !== undefined) e.subject = s.subject;
        out.push(e);
      } else out.push({ isCert: false, id: toHex(s.data) });
    }
  }
  return out;
}

export function certificateMatches(c: CertificateEntry, sha256: string | undefined, subject: string | undefined): boolean {
  if (c.sha256 !== undefined && c.sha256 !== sha256) return false;
  if (c.subject !== undefined && (subject === undefined || !textMatches(c.subject, subject))) return false;
  return true;
}

function describeCert(c: CertificateEntry): string {
  return [c.sha256, c.subject !== undefined ? describeTextMatch(c.subject) : undefined].filter((x) => x !== undefined).join(' ');
}

function secureBootEnabled(ev: TcgEvent): boolean | null | undefined {
  return ev.decoded.kind === 'efi_variable' ? ev.decoded.enabled : undefined;
}

export function checkSecureBootVar(c: EventCheck): Finding[] {
  const required = c.profile.secureBoot?.required ?? true;
  // Whatever state is accepted, it must be a genuine measurement of the state: nothing else pins this event.
  if (!dataReadable(c)) return [unverifiedData(c, 'secureBoot.required', 'UEFI variable SecureBoot')];
  const enabled = secureBootEnabled(c.ev);
  if (!required || enabled === true) return [];
  return [eventFinding('secure_boot_disabled', c.ev, c.bank, 'secureBoot.required', 'UEFI variable SecureBoot', true, enabled ?? null, 'Secure Boot is required but the SecureBoot variable is not 1')];
}

export function checkSignatureDb(db: SignatureDbName, c: EventCheck): Finding[] {
  const label = DB_LABEL[db];
  if (!dataReadable(c)) return [unverifiedData(c, `secureBoot.${db}`, `UEFI variable ${label}`)];
  const set: SignatureSet | undefined = c.profile.secureBoot?.[db];
  const lists = c.ev.decoded.kind === 'efi_variable' ? c.ev.decoded.signatureLists : undefined;
  const out: Finding[] = [];
  for (const e of signatureEntries(lists)) {
    if (e.isCert) {
      if ((set?.certificates ?? []).some((x) => certificateMatches(x, e.id, e.subject))) continue;
      out.push(eventFinding(DB_CODE[db], c.ev, c.bank, `secureBoot.${db}.certificates`, `${label} certificate ${e.subject ?? e.id}`,
        (set?.certificates ?? []).map(describeCert), { sha256: e.id, subject: e.subject }, 'certificate is not in the allowed set'));
    } else {
      if ((set?.hashes ?? []).includes(e.id)) continue;
      out.push(eventFinding(DB_CODE[db], c.ev, c.bank, `secureBoot.${db}.hashes`, `${label} hash ${e.id}`, set?.hashes ?? [], e.id, 'hash is not in the allowed set'));
    }
  }
  return out;
}

/** dbx must be a genuine measurement: its entries are read for dbxRequired, and nothing else pins the event. */
export function checkDbxEvent(c: EventCheck): Finding[] {
  return dataReadable(c) ? [] : [unverifiedData(c, 'secureBoot.dbxRequired', 'UEFI variable dbx')];
}

export function checkAuthority(variable: string | undefined, c: EventCheck): Finding[] {
  const sd = c.ev.decoded.kind === 'efi_variable' ? c.ev.decoded.signatureData : undefined;
  const ok = (c.profile.secureBoot?.authorities ?? []).some((a: AuthorityEntry) => {
    if (a.variable !== undefined && a.variable !== variable) return false;
    if (a.digests?.includes(c.digest) === true) return true;
    return dataReadable(c) && sd !== undefined && (a.certificates ?? []).some((x) => certificateMatches(x, sd.certSha256, sd.subject));
  });
  if (ok) return [];
  const component = `authority ${variable ?? '?'}${sd?.subject !== undefined ? ` certificate ${sd.subject}` : ''}`;
  if (c.dataVerified === false && (c.profile.secureBoot?.authorities ?? []).some((a) => a.certificates !== undefined)) return [unverifiedData(c, 'secureBoot.authorities', component)];
  return [eventFinding('secure_boot_authority_not_allowed', c.ev, c.bank, 'secureBoot.authorities', component,
    (c.profile.secureBoot?.authorities ?? []).filter((a) => a.variable === undefined || a.variable === variable).map((a) => ({ digests: a.digests, certificates: a.certificates?.map(describeCert) })),
    { digest: c.digest, certSha256: sd?.certSha256 }, 'is not an allowed authority')];
}

/** Whole-log Secure Boot checks: the SecureBoot variable must be present when required, and dbx must hold every required entry. */
export function checkSecureBootLog(profile: GoldenProfile, bank: HashAlg, pcr7Events: TcgEvent[]): Finding[] {
  const out: Finding[] = [];
  const sb = profile.secureBoot;
  const vars = pcr7Events.filter((e) => e.decoded.kind === 'efi_variable' && e.typeName === 'EV_EFI_VARIABLE_DRIVER_CONFIG');
  const byName = (n: string): TcgEvent | undefined => vars.find((e) => e.decoded.kind === 'efi_variable' && e.decoded.name === n);
  if ((sb?.required ?? true) && byName('SecureBoot') === undefined) {
    out.push({ code: 'secure_boot_disabled', message: 'Secure Boot is required but no SecureBoot variable was measured in PCR 7', pcr: 7, bank, rule: 'secureBoot.required', component: 'UEFI variable SecureBoot', expected: true, actual: null });
  }
  const required = sb?.dbxRequired ?? [];
  if (required.length > 0) {
    const dbx = byName('dbx');
    const present = new SignatureIdSet(dbx?.decoded.kind === 'efi_variable' ? dbx.decoded.signatureLists : undefined);
    const requiredBytes = requiredIdBytes(required);
    for (const [i, r] of required.entries()) {
      if (present.has(r, requiredBytes[i] ?? null)) continue;
      const f: Finding = {
        code: 'dbx_entry_missing',
        message: dbx === undefined ? `dbx was not measured, so required revocation ${r} is missing` : `PCR 7 event ${dbx.index} (dbx) lacks required revocation ${r}`,
        pcr: 7, bank, rule: 'secureBoot.dbxRequired', component: `dbx entry ${r}`, expected: r, actual: null,
      };
      if (dbx !== undefined) {
        f.eventIndex = dbx.index;
        f.eventType = dbx.typeName;
      }
      out.push(f);
    }
  }
  return out;
}
