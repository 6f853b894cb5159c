/**
 * Answer shapes of the HTTP API, for the OpenAPI document (src/http/openapi/) and for the tests
 * that check real answers against it. Loose objects: an answer may gain fields (contract: an
 * addition that keeps the shapes intact is welcome), never lose or retype one.
 */
import { z } from 'zod';
import { COMPONENTS } from '../appraisal/component.ts';
import { PcrValuesSchema } from './schemas.ts';

const isoTime = z.string().meta({ format: 'date-time' });
const hex = z.string().regex(/^[0-9a-f]*$/i);

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string().regex(/^[a-z0-9_]+$/), message: z.string() }) })
  .meta({ id: 'Error', description: 'every error answer (contract §3)' });

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
}).meta({ id: 'Failure' });

export const TrustViewSchema = z.object({
  status: z.enum(['trusted', 'untrusted', 'unknown', 'expired']),
  appraisalId: z.string().nullable(),
  appraisedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  profile: z.string().nullable(),
  failures: z.array(FailureSchema),
}).meta({ id: 'Trust' });

export const HostViewSchema = z.object({
  hostId: z.string(),
  enrolledAt: z.string(),
  akName: z.string(),
  profiles: z.array(z.string()),
  revokedAt: z.string().optional(),
  trust: TrustViewSchema,
}).meta({ id: 'Host' });

export const HostListResponseSchema = z.object({ hosts: z.array(HostViewSchema), next: z.string().nullable() }).meta({ id: 'HostList' });

export const AppraisalViewSchema = z.object({
  appraisalId: z.string(),
  appraisedAt: z.string(),
  verdict: z.enum(['pass', 'fail']),
  profile: z.string().nullable(),
  failures: z.array(FailureSchema),
  expiresAt: z.string().optional(),
  rejected: z.literal(true).optional(),
  eventLog: z.object({ sha256: z.string(), retained: z.boolean() }),
}).meta({ id: 'Appraisal' });

export const AppraisalListResponseSchema = z.object({ appraisals: z.array(AppraisalViewSchema), next: z.string().nullable() }).meta({ id: 'AppraisalList' });

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
}).meta({ id: 'BootChange' });

export const ChangesResponseSchema = z.object({
  hostId: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  profile: z.string().nullable(),
  bank: z.string(),
  groupId: z.string().optional(),
  changes: z.array(BootChangeSchema),
  note: z.string().optional(),
}).meta({ id: 'Changes' });

export const DriftGroupSchema = z.object({
  groupId: z.string(),
  profile: z.string().nullable(),
  hosts: z.array(z.string()),
  count: z.number().int(),
  changes: z.array(BootChangeSchema),
  blockers: z.array(z.string()),
  firstSeen: z.string(),
  lastSeen: z.string(),
}).meta({ id: 'DriftGroup' });

export const DriftListResponseSchema = z.object({ groups: z.array(DriftGroupSchema) }).meta({ id: 'DriftList' });

export const DriftAcceptResponseSchema = z.object({
  profile: z.string(),
  accepted: z.array(BootChangeSchema),
  groupId: z.string(),
  hosts: z.array(z.string()),
  acceptanceId: z.string(),
}).meta({ id: 'DriftAccepted' });

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
}).meta({ id: 'DriftAcceptance' });

export const DriftAcceptancesResponseSchema = z.object({ acceptances: z.array(DriftAcceptanceSchema) }).meta({ id: 'DriftAcceptanceList' });

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
}).meta({ id: 'Census' });

export const EnrollmentResponseSchema = z
  .looseObject({ enrollmentId: z.string(), credentialBlob: z.string().meta({ format: 'byte' }), expiresAt: isoTime })
  .meta({ id: 'EnrollmentResponse' });

export const ActivateResponseSchema = z
  .looseObject({ hostId: z.string(), akName: hex, status: z.literal('enrolled') })
  .meta({ id: 'ActivateResponse' });

export const NonceResponseSchema = z
  .looseObject({
    nonce: z.string().meta({ format: 'byte', description: '32 random bytes' }),
    expiresAt: isoTime,
    pcrSelection: z.string().min(1).meta({ description: 'what to quote, in tpm2_quote -l syntax (every PCR the host profiles appraise, in their banks)' }),
  })
  .meta({ id: 'NonceResponse' });

export const AttestationResponseSchema = z
  .looseObject({
    appraisalId: z.string(),
    verdict: z.enum(['pass', 'fail']),
    profile: z.string().nullable().meta({ description: 'name@version of the profile that decided' }),
    failures: z.array(FailureSchema),
    pcrs: PcrValuesSchema,
    token: z.string().optional().meta({ description: 'attestation token (JWT, or EAR with BOOTGATE_TOKEN_FORMAT=ear); only on pass' }),
    expiresAt: isoTime.optional(),
  })
  .meta({ id: 'AttestationResponse' });

const JwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() }).meta({ id: 'Jwk' });
export const JwksSchema = z.object({ keys: z.array(JwkSchema) }).meta({ id: 'Jwks' });

export const KeyRotationSchema = z.looseObject({ kid: z.string(), published: z.array(z.string()) }).meta({ id: 'KeyRotation' });

export const ProfileSummaryListSchema = z
  .looseObject({
    profiles: z.array(z.looseObject({ name: z.string(), version: z.string(), source: z.enum(['file', 'api']), storedAt: isoTime })),
  })
  .meta({ id: 'ProfileSummaryList' });

export const ProfileStoredSchema = z.looseObject({ name: z.string(), version: z.string() }).meta({ id: 'ProfileStored' });

export const SecretSchema = z
  .looseObject({ name: z.string(), policy: z.looseObject({ hosts: z.array(z.string()).optional(), profiles: z.array(z.string()).optional() }), updatedAt: isoTime })
  .meta({ id: 'Secret' });

export const ReleaseResponseSchema = z.object({ jwe: z.string().meta({ description: 'compact JWE encrypted to the bound key' }) }).meta({ id: 'ReleaseResponse' });

export const ReleaseListSchema = z
  .object({
    releases: z.array(
      z.looseObject({
        releaseId: z.string(),
        secretName: z.string(),
        hostId: z.string().nullable(),
        tokenId: z.string().nullable(),
        appraisalId: z.string().nullable(),
        caller: z.string(),
        outcome: z.enum(['released', 'refused']),
        code: z.string(),
        reason: z.string(),
        at: isoTime,
      }),
    ),
  })
  .meta({ id: 'ReleaseList' });

export const TokenRevokedSchema = z.looseObject({ jti: z.string(), revoked: z.literal(true), revokedAt: isoTime }).meta({ id: 'TokenRevoked' });

export const HostRevokedSchema = z.looseObject({ hostId: z.string(), revokedAt: isoTime, revokedTokens: z.number().int() }).meta({ id: 'HostRevoked' });

export const IntrospectionSchema = z
  .looseObject({ active: z.boolean(), sub: z.string().optional(), exp: z.number().int().optional(), jti: z.string().optional() })
  .meta({ id: 'Introspection', description: 'RFC 7662 introspection answer' });

const TrustEventSchema = z
  .looseObject({
    seq: z.number().int(),
    hostId: z.string(),
    kind: z.enum(['enrolled', 'trusted', 'untrusted', 'expired', 'revoked', 'deleted']),
    appraisalId: z.string().optional(),
    detail: z.unknown().optional(),
    at: isoTime,
  })
  .meta({ id: 'TrustEvent' });

export const EventPageSchema = z.looseObject({ events: z.array(TrustEventSchema), lastSeq: z.number().int() }).meta({ id: 'EventPage' });

const WebhookSchema = z.looseObject({ id: z.string(), url: z.string(), updatedAt: isoTime }).meta({ id: 'Webhook' });
export const WebhookListSchema = z.object({ webhooks: z.array(WebhookSchema) }).meta({ id: 'WebhookList' });
export { WebhookSchema };

export const HealthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
