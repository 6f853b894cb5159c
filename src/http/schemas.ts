/**
 * Request shapes of the HTTP API, strict: unknown fields are refused. The routes validate with
 * these, and src/http/openapi/ documents them, so the document cannot drift from the code.
 * `.meta({ id })` names a schema in the OpenAPI components.
 */
import { z } from 'zod';
import { releasePolicySchema } from '../broker/policy.ts';
import { webhookSecretSchema, webhookUrlSchema } from '../events/webhooks/registry.ts';
import { ProfileSchema } from '../golden/schema.ts';

export const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const PROFILE_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Large enough for any event log (they run to a few hundred KB), bounded by the body limit anyway. */
const b64 = z.string().max(64 * 1024 * 1024).meta({ description: 'standard base64 (RFC 4648 §4, padded); base64url is accepted too', format: 'byte' });

export const hostIdSchema = z.string().regex(HOST_ID_RE, 'hostId is 1-128 characters from [A-Za-z0-9._:-]');
export const profileNameSchema = z.string().regex(PROFILE_NAME_RE, 'a profile name is 1-128 characters from [A-Za-z0-9._:-]');
export const idSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'not a valid id');

export const EnrollmentRequestSchema = z
  .strictObject({
    hostId: hostIdSchema,
    ekCert: b64.min(1).meta({ description: 'X.509 EK certificate, DER (base64) or PEM' }),
    ekPub: b64.min(1).optional().meta({ description: 'TPM2B_PUBLIC of the EK (tpm2_createek -u)' }),
    akPub: b64.min(1).meta({ description: 'TPM2B_PUBLIC of the AK (tpm2_createak -u); a bare TPMT_PUBLIC is accepted' }),
    profiles: z.array(profileNameSchema).max(32).optional(),
  })
  .meta({ id: 'EnrollmentRequest' });

export const ActivateRequestSchema = z
  .strictObject({ secret: b64.min(1).meta({ description: 'the bytes tpm2_activatecredential -o wrote' }) })
  .meta({ id: 'ActivateRequest' });

const pcrIndex = z.string().regex(/^(?:[0-9]|1[0-9]|2[0-3])$/, 'PCR index must be 0-23');
const pcrValue = z.string().regex(/^(?:[0-9a-fA-F]{2}){20,64}$/, 'PCR value must be hex');
const pcrBank = z.partialRecord(pcrIndex, pcrValue);
export const PcrValuesSchema = z
  .partialRecord(z.enum(['sha1', 'sha256', 'sha384', 'sha512']), pcrBank)
  .meta({ id: 'PcrValues', description: 'PCR values by bank and index, hex' });

export const AttestationRequestSchema = z
  .strictObject({
    nonce: b64.min(1),
    quote: b64.min(1).meta({ description: 'TPMS_ATTEST as signed (tpm2_quote -m)' }),
    signature: b64.min(1).meta({ description: 'TPMT_SIGNATURE (tpm2_quote -s)' }),
    eventLog: b64.min(1).meta({ description: 'raw TCG PC Client event log' }),
    bindingKey: z.record(z.string(), z.unknown()).optional().meta({ description: 'public JWK bound through the quote extraData (contract §1)' }),
    pcrs: PcrValuesSchema.optional(),
  })
  .meta({ id: 'AttestationRequest' });

export const HostUpdateSchema = z.strictObject({ profiles: z.array(profileNameSchema).max(32) }).meta({ id: 'HostUpdate' });

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

export const DRIFT_GROUP_ID_RE = /^[0-9a-f]{32}$/;

/** A golden profile document (golden-measurements/README.md); validated by the catalog. */
export const GoldenProfileDocumentSchema = ProfileSchema.meta({ id: 'GoldenProfile' });

/** Secrets are keys and passphrases, not files. */
export const MAX_SECRET_BYTES = 64 * 1024;

export const PutSecretSchema = z
  .strictObject({
    value: z.string().max(4 * Math.ceil(MAX_SECRET_BYTES / 3) + 4).meta({ description: `base64 of 1 to ${MAX_SECRET_BYTES} bytes`, format: 'byte' }),
    policy: releasePolicySchema.meta({ id: 'ReleasePolicy' }),
  })
  .meta({ id: 'PutSecretRequest' });

export const RevokeTokenSchema = z.strictObject({ jti: z.string().min(1).max(256) }).meta({ id: 'RevokeTokenRequest' });

export const IntrospectRequestSchema = z.object({ token: z.string().min(1) }).meta({ id: 'IntrospectRequest' });

export const PutWebhookSchema = z.strictObject({ url: webhookUrlSchema, secret: webhookSecretSchema }).meta({ id: 'PutWebhookRequest' });

export const DEFAULT_POLL_TIMEOUT_S = 25;
export const MAX_POLL_TIMEOUT_S = 60;
export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

const uint = (max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number)
    .refine((n) => n <= max);

export const PollQuerySchema = z.object({
  after: uint(Number.MAX_SAFE_INTEGER).optional().meta({ description: 'sequence number of the last event seen' }),
  timeout: uint(MAX_POLL_TIMEOUT_S).optional().meta({ description: `seconds to wait for an event, 0-${MAX_POLL_TIMEOUT_S} (default ${DEFAULT_POLL_TIMEOUT_S})` }),
  limit: uint(MAX_EVENT_LIMIT)
    .refine((n) => n >= 1)
    .optional()
    .meta({ description: `1-${MAX_EVENT_LIMIT} (default ${DEFAULT_EVENT_LIMIT})` }),
});
