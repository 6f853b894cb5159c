/** Request shapes of contract §3, strict: unknown fields are refused. */
import { z } from 'zod';
import { COMPONENTS } from '../appraisal/component.ts';

export const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const PROFILE_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Large enough for any event log (they run to a few hundred KB), bounded by the body limit anyway. */
const b64 = z.string().max(64 * 1024 * 1024);

export const hostIdSchema = z.string().regex(HOST_ID_RE, 'hostId is 1-128 characters from [A-Za-z0-9._:-]');
export const profileNameSchema = z.string().regex(PROFILE_NAME_RE, 'a profile name is 1-128 characters from [A-Za-z0-9._:-]');
export const idSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'not a valid id');

export const EnrollmentRequestSchema = z.strictObject({
  hostId: hostIdSchema,
  ekCert: b64.min(1),
  ekPub: b64.min(1).optional(),
  akPub: b64.min(1),
  profiles: z.array(profileNameSchema).max(32).optional(),
});

export const ActivateRequestSchema = z.strictObject({ secret: b64.min(1) });

const pcrIndex = z.string().regex(/^(?:[0-9]|1[0-9]|2[0-3])$/, 'PCR index must be 0-23');
const pcrValue = z.string().regex(/^(?:[0-9a-fA-F]{2}){20,64}$/, 'PCR value must be hex');
const pcrBank = z.partialRecord(pcrIndex, pcrValue);

export const AttestationRequestSchema = z.strictObject({
  nonce: b64.min(1),
  quote: b64.min(1),
  signature: b64.min(1),
  eventLog: b64.min(1),
  bindingKey: z.record(z.string(), z.unknown()).optional(),
  pcrs: z.partialRecord(z.enum(['sha1', 'sha256', 'sha384', 'sha512']), pcrBank).optional(),
});

export const HostUpdateSchema = z.strictObject({ profiles: z.array(profileNameSchema).max(32) });

export const VersionQuerySchema = z.strictObject({ version: z.string().min(1).max(128).optional() });

// ---- Paging, history, changes and drift (contract §3.3 and §6) ----

export const DEFAULT_PAGE_LIMIT = 100;
/** `limit` of a page: 1-1000, default DEFAULT_PAGE_LIMIT. */
const pageLimit = z
  .string()
  .regex(/^[0-9]{1,4}$/, 'limit is a whole number from 1 to 1000')
  .transform(Number)
  .pipe(z.number().int().min(1, 'limit is at least 1').max(1000, 'limit is at most 1000'))
  .optional();
const cursor = z.string().min(1).max(400);

export const HostListQuerySchema = z.strictObject({
  trust: z.enum(['trusted', 'untrusted', 'unknown', 'expired']).optional(),
  limit: pageLimit,
  after: cursor.optional(),
});

export const AppraisalListQuerySchema = z.strictObject({ limit: pageLimit, before: cursor.optional() });

export const DriftAcceptRequestSchema = z.strictObject({
  note: z.string().trim().min(1, 'say why this change is legitimate').max(4096),
});

/** One failure of an appraisal (contract §3.2), with the golden rule and component that decided it. */
export const FailureSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  pcr: z.number().int().optional(),
  bank: z.string().optional(),
  eventIndex: z.number().int().optional(),
  eventType: z.string().optional(),
  component: z.string().optional(),
  rule: z.string().optional(),
  expected: z.unknown().optional(),
  actual: z.unknown().optional(),
});

export const TrustViewSchema = z.object({
  status: z.enum(['trusted', 'untrusted', 'unknown', 'expired']),
  appraisalId: z.string().nullable(),
  appraisedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  profile: z.string().nullable(),
  failures: z.array(FailureSchema),
});

export const HostViewSchema = z.object({
  hostId: z.string(),
  enrolledAt: z.string(),
  akName: z.string(),
  profiles: z.array(z.string()),
  revokedAt: z.string().optional(),
  trust: TrustViewSchema,
});

export const HostListResponseSchema = z.object({ hosts: z.array(HostViewSchema), next: z.string().nullable() });

export const AppraisalViewSchema = z.object({
  appraisalId: z.string(),
  appraisedAt: z.string(),
  verdict: z.enum(['pass', 'fail']),
  profile: z.string().nullable(),
  failures: z.array(FailureSchema),
  expiresAt: z.string().optional(),
  rejected: z.literal(true).optional(),
  eventLog: z.object({ sha256: z.string(), retained: z.boolean() }),
});

export const AppraisalListResponseSchema = z.object({ appraisals: z.array(AppraisalViewSchema), next: z.string().nullable() });

const ChangedEventSchema = z.object({
  eventIndex: z.number().int(),
  digest: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  dataVerified: z.literal(false).optional(),
});

export const BootChangeSchema = z.object({
  pcr: z.number().int(),
  component: z.enum(COMPONENTS),
  eventType: z.string(),
  change: z.enum(['added', 'removed', 'modified']),
  before: ChangedEventSchema.optional(),
  after: ChangedEventSchema.optional(),
});

export const ChangesResponseSchema = z.object({
  hostId: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  profile: z.string().nullable(),
  bank: z.string(),
  groupId: z.string().optional(),
  changes: z.array(BootChangeSchema),
  note: z.string().optional(),
});

export const DriftGroupSchema = z.object({
  groupId: z.string(),
  profile: z.string().nullable(),
  hosts: z.array(z.string()),
  count: z.number().int(),
  changes: z.array(BootChangeSchema),
  blockers: z.array(z.string()),
  firstSeen: z.string(),
  lastSeen: z.string(),
});

export const DriftListResponseSchema = z.object({ groups: z.array(DriftGroupSchema) });

export const DriftAcceptResponseSchema = z.object({
  profile: z.string(),
  accepted: z.array(BootChangeSchema),
  groupId: z.string(),
  hosts: z.array(z.string()),
  acceptanceId: z.string(),
});

export const DriftAcceptanceSchema = z.object({
  acceptanceId: z.string(),
  groupId: z.string(),
  profileName: z.string(),
  fromVersion: z.string(),
  toVersion: z.string(),
  keyId: z.string(),
  note: z.string(),
  changes: z.array(BootChangeSchema),
  hostIds: z.array(z.string()),
  at: z.string(),
});

export const DriftAcceptancesResponseSchema = z.object({ acceptances: z.array(DriftAcceptanceSchema) });

export const CensusResponseSchema = z.object({
  profile: z.string(),
  components: z.array(
    z.object({
      pcr: z.number().int().nullable(),
      component: z.string(),
      values: z.array(z.object({ digest: z.string().optional(), text: z.string().optional(), hosts: z.number().int(), hostIds: z.array(z.string()) })),
    }),
  ),
  hosts: z.number().int(),
  unknown: z.array(z.string()),
});

export const DRIFT_GROUP_ID_RE = /^[0-9a-f]{32}$/;
