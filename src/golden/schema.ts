/**
 * The golden profile format: rules over boot components, not raw PCR values, so a profile
 * survives changes to components it does not mention. Documented in golden-measurements/README.md;
 * golden-measurements/profile.schema.json is generated from this schema (see json-schema.ts).
 */
import { z } from 'zod';
import { DIGEST_SIZE, HASH_ALGS, type HashAlg } from '../tpm/alg.ts';
import { patternProblem } from './pattern.ts';

const hex = z.string().regex(/^(?:[0-9a-f]{2})+$/, 'must be lower-case hex with an even number of digits');
/** Every allowed digest is a set, so a rollout can accept old and new versions at once. */
const digestSet = z.array(hex).min(1, 'a digest set needs at least one digest');
const comment = z.string().max(4096).optional();
const pcrIndex = z.number().int().min(0).max(23);

function checkRegex(p: string, ctx: z.RefinementCtx): void {
  const problem = patternProblem(p);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
}

/** A string matches exactly; {pattern} is a JavaScript regular expression, always anchored at both ends, run in linear time (pattern.ts). */
export const TextMatchSchema = z.union([
  z.string(),
  z.strictObject({ pattern: z.string().min(1).superRefine(checkRegex) }),
]);

/** A measured blob identified by digest only (firmware volumes, drivers, S-CRTM version, PCR 1 tables). */
const DigestEntrySchema = z.strictObject({
  /** Restrict the entry to one event type, e.g. "EV_EFI_PLATFORM_FIRMWARE_BLOB2". */
  type: z.string().optional(),
  digests: digestSet,
  comment,
});

const BootVariableSchema = z.strictObject({
  /** UEFI variable name, e.g. "BootOrder" or "Boot0001". */
  name: z.string().min(1),
  digests: digestSet,
  comment,
});

/** A Boot#### load option allowed by content (its description and/or file path), whatever its digest. */
const BootOptionSchema = z
  .strictObject({ description: TextMatchSchema.optional(), path: TextMatchSchema.optional(), comment })
  .refine((o) => o.description !== undefined || o.path !== undefined, 'a boot option rule needs description or path');

const BootConfigSchema = z.strictObject({
  variables: z.array(BootVariableSchema).optional(),
  bootOptions: z.array(BootOptionSchema).optional(),
  /** Non-variable PCR 1 events (EV_EFI_HANDOFF_TABLES, EV_PLATFORM_CONFIG_FLAGS, EV_CPU_MICROCODE...). */
  events: z.array(DigestEntrySchema).optional(),
});

/** A PE image (Authenticode digest). `path` only classifies the event; it is never measured, so never allows. */
const ImageEntrySchema = z.strictObject({ path: z.string().optional(), digests: digestSet, comment });

const BootChainSchema = z.strictObject({
  shim: z.array(ImageEntrySchema).optional(),
  bootloader: z.array(ImageEntrySchema).optional(),
  kernel: z.array(ImageEntrySchema).optional(),
});

/** A text event (grub command, kernel command line). Text alone needs the digest to be the hash of the text. */
const TextEntrySchema = z
  .strictObject({ text: TextMatchSchema.optional(), digests: digestSet.optional(), comment })
  .refine((o) => o.text !== undefined || o.digests !== undefined, 'an entry needs text or digests');

const CertificateSchema = z
  .strictObject({
    /** SHA-256 of the certificate's DER. */
    sha256: hex.length(64, 'a certificate sha256 is 64 hex digits').optional(),
    /** Subject as rendered by the event-log decoder, e.g. "CN=Microsoft Corporation UEFI CA 2011, ...". */
    subject: TextMatchSchema.optional(),
    comment,
  })
  .refine((o) => o.sha256 !== undefined || o.subject !== undefined, 'a certificate needs sha256 or subject');

const SignatureSetSchema = z.strictObject({
  certificates: z.array(CertificateSchema).optional(),
  /** Non-certificate EFI_SIGNATURE_DATA (e.g. EFI_CERT_SHA256 hashes), as hex of the signature data. */
  hashes: z.array(hex).optional(),
});

const AuthoritySchema = z
  .strictObject({
    /** The UEFI variable the authority came from, e.g. "db", "MokListRT", "SbatLevel". */
    variable: z.string().optional(),
    digests: digestSet.optional(),
    certificates: z.array(CertificateSchema).optional(),
    comment,
  })
  .refine((o) => o.digests !== undefined || o.certificates !== undefined, 'an authority needs digests or certificates');

const SecureBootSchema = z.strictObject({
  /** true: the SecureBoot variable must be measured and 1. false: any Secure Boot state is accepted. */
  required: z.boolean(),
  pk: SignatureSetSchema.optional(),
  kek: SignatureSetSchema.optional(),
  db: SignatureSetSchema.optional(),
  /** dbx entries that must be present: hex of hash signature data, or the sha256 of a certificate's DER. */
  dbxRequired: z.array(hex).optional(),
  authorities: z.array(AuthoritySchema).optional(),
});

const SeparatorsSchema = z.strictObject({
  /** PCRs that must contain an EV_SEPARATOR (separator_missing otherwise). */
  pcrs: z.array(pcrIndex),
  /** Allowed separator digests; when absent only the hash of 00000000 (the normal separator) is allowed. */
  digests: digestSet.optional(),
});

/** Any other event, by PCR and TCG event type name. Needs text (bound to its digest) or digests. */
const EventEntrySchema = z
  .strictObject({
    pcr: pcrIndex,
    type: z.string().min(1),
    variable: z.string().optional(),
    text: TextMatchSchema.optional(),
    digests: digestSet.optional(),
    comment,
  })
  .refine((o) => o.text !== undefined || o.digests !== undefined, 'an event entry needs text or digests');

const UnknownAllowanceSchema = z.strictObject({ pcr: pcrIndex, type: z.string().optional(), comment });

export const ProfileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'name: 1-64 of [A-Za-z0-9._-], starting alphanumeric'),
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'version: 1-64 of [A-Za-z0-9._+-], starting alphanumeric'),
    description: z.string().optional(),
    /** The PCR bank whose digests are appraised. */
    bank: z.enum(HASH_ALGS as unknown as [HashAlg, ...HashAlg[]]).default('sha256'),
    /** The PCRs appraised. Events in other PCRs are ignored; an appraised PCR must be quoted. */
    // Deny by default: a profile that appraises no PCR would pass any quote signed by the host.
    pcrs: z.array(pcrIndex).min(1, 'a profile must appraise at least one PCR'),
    crtmVersions: z.array(DigestEntrySchema).optional(),
    firmware: z.array(DigestEntrySchema).optional(),
    bootConfig: BootConfigSchema.optional(),
    drivers: z.array(DigestEntrySchema).optional(),
    secureBoot: SecureBootSchema.optional(),
    bootChain: BootChainSchema.optional(),
    grubCommands: z.array(TextEntrySchema).optional(),
    kernelCmdline: z.array(TextEntrySchema).optional(),
    kernels: z.array(ImageEntrySchema).optional(),
    initrds: z.array(ImageEntrySchema).optional(),
    bootFiles: z.array(ImageEntrySchema).optional(),
    separators: SeparatorsSchema.optional(),
    events: z.array(EventEntrySchema).optional(),
    allowUnknownEvents: z.array(UnknownAllowanceSchema).optional(),
  })
  .superRefine((p, ctx) => {
    if (new Set(p.pcrs).size !== p.pcrs.length) {
      ctx.addIssue({ code: 'custom', path: ['pcrs'], message: 'duplicate PCR index' });
    }
    if (p.secureBoot?.required === true && !p.pcrs.includes(7)) {
      ctx.addIssue({ code: 'custom', path: ['secureBoot', 'required'], message: 'secureBoot.required needs PCR 7 in pcrs' });
    }
    // Digest lengths follow the appraised bank; a wrong length could never match and hides a typo.
    const size = DIGEST_SIZE[p.bank] * 2;
    const walk = (v: unknown, path: (string | number)[]): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'digests' && Array.isArray(x)) {
            x.forEach((d, i) => {
              if (typeof d === 'string' && d.length !== size) {
                ctx.addIssue({ code: 'custom', path: [...path, k, i], message: `a ${p.bank} digest is ${size} hex digits, got ${d.length}` });
              }
            });
          } else walk(x, [...path, k]);
        }
      }
    };
    walk(p, []);
  });

export type GoldenProfile = z.output<typeof ProfileSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;
export type TextMatch = z.output<typeof TextMatchSchema>;
export type DigestEntry = z.output<typeof DigestEntrySchema>;
export type ImageEntry = z.output<typeof ImageEntrySchema>;
export type TextEntry = z.output<typeof TextEntrySchema>;
export type EventEntry = z.output<typeof EventEntrySchema>;
export type CertificateEntry = z.output<typeof CertificateSchema>;
export type SignatureSet = z.output<typeof SignatureSetSchema>;
export type AuthorityEntry = z.output<typeof AuthoritySchema>;
export type BootRole = 'shim' | 'bootloader' | 'kernel';
