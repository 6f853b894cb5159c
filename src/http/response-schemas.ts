/**
 * Answer shapes of the HTTP API, for the OpenAPI document (src/http/openapi/) and for the tests
 * that check real answers against it. Loose objects: an answer may gain fields (contract: an
 * addition that keeps the shapes intact is welcome), never lose or retype one.
 */
import { z } from 'zod';
import { TRUST_STATUSES } from '../attestation/trust.ts';
import { PcrValuesSchema } from './schemas.ts';

const isoTime = z.string().meta({ format: 'date-time' });
const hex = z.string().regex(/^[0-9a-f]*$/i);

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string().regex(/^[a-z0-9_]+$/), message: z.string() }) })
  .meta({ id: 'Error', description: 'every error answer (contract §3)' });

export const FailureSchema = z
  .looseObject({
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
  })
  .meta({ id: 'Failure', description: 'one reason an appraisal failed; codes are listed in golden-measurements/README.md' });

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

export const TrustSchema = z
  .looseObject({
    status: z.enum(TRUST_STATUSES as [string, ...string[]]),
    appraisalId: z.string().nullable(),
    appraisedAt: isoTime.nullable(),
    expiresAt: isoTime.nullable(),
    profile: z.string().nullable(),
    failures: z.array(FailureSchema),
  })
  .meta({ id: 'Trust' });

export const HostSchema = z
  .looseObject({
    hostId: z.string(),
    enrolledAt: isoTime,
    akName: hex,
    profiles: z.array(z.string()),
    revokedAt: isoTime.optional(),
    trust: TrustSchema,
  })
  .meta({ id: 'Host' });

export const HostListSchema = z
  .looseObject({ hosts: z.array(HostSchema), next: z.string().nullable().optional() })
  .meta({ id: 'HostList' });

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
