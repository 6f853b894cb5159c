/**
 * The OpenAPI 3.1 document of every route (contract §8), generated from the zod schemas the routes
 * validate with (src/http/schemas.ts) and the answer shapes (src/http/response-schemas.ts).
 * test/http.openapi.test.ts fails when a registered express route is missing here. A new route
 * adds its request schema to schemas.ts (and validates with it), its answer to
 * response-schemas.ts, and one registerPath below.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import * as req from '../schemas.ts';
import * as res from '../response-schemas.ts';
import { SECURITY_SCHEMES, errors, json, roles } from './registry-helpers.ts';

const hostId = z.object({ hostId: req.hostIdSchema });
const body = (schema: z.ZodType, description?: string) => ({ body: { content: { 'application/json': { schema } }, required: true, ...(description ? { description } : {}) } });

function register(r: OpenAPIRegistry): void {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) r.registerComponent('securitySchemes', name, { ...scheme });

  // Enrollment (contract §3.1): the TPM is the credential.
  r.registerPath({
    method: 'post', path: '/v1/enrollments', tags: ['enrollment'], security: [],
    summary: 'Start enrolling a host: checks the EK chain and AK policy, answers a MakeCredential blob',
    request: body(req.EnrollmentRequestSchema),
    responses: { 201: json('enrollment started', res.EnrollmentResponseSchema), ...errors(400, 409, 413, 415, 429) },
  });
  r.registerPath({
    method: 'post', path: '/v1/enrollments/{enrollmentId}/activate', tags: ['enrollment'], security: [],
    summary: 'Finish enrolling with the secret tpm2_activatecredential recovered',
    request: { params: z.object({ enrollmentId: req.idSchema }), ...body(req.ActivateRequestSchema) },
    responses: { 200: json('host enrolled', res.ActivateResponseSchema), ...errors(400, 403, 404, 409, 413, 415, 429) },
  });

  // Attestation (contract §3.2): the AK signs.
  r.registerPath({
    method: 'post', path: '/v1/hosts/{hostId}/nonce', tags: ['attestation'], security: [],
    summary: 'A single-use nonce for the next quote, and the PCR selection to quote',
    request: { params: hostId },
    responses: { 201: json('nonce issued', res.NonceResponseSchema), ...errors(400, 403, 404, 429) },
  });
  r.registerPath({
    method: 'post', path: '/v1/hosts/{hostId}/attestations', tags: ['attestation'], security: [],
    summary: 'Appraise a quote and event log; a pass carries an attestation token',
    description: 'Evidence that does not satisfy policy is not an error: it answers 200 with verdict fail and the failures.',
    request: { params: hostId, ...body(req.AttestationRequestSchema) },
    responses: { 200: json('appraised (pass or fail)', res.AttestationResponseSchema), ...errors(400, 403, 404, 413, 415, 429) },
  });

  // Trust status and host administration (contract §3.3).
  r.registerPath({
    method: 'get', path: '/v1/hosts', tags: ['hosts'], security: roles('scheduler'),
    summary: 'Hosts, optionally in one trust state, in pages (next is the cursor for after)', request: { query: req.HostListQuerySchema },
    responses: { 200: json('a page of hosts', res.HostListResponseSchema), ...errors(400, 401, 403) },
  });
  r.registerPath({
    method: 'get', path: '/v1/hosts/{hostId}', tags: ['hosts'], security: roles('scheduler'),
    summary: 'A host and its trust', request: { params: hostId },
    responses: { 200: json('the host', res.HostViewSchema), ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'put', path: '/v1/hosts/{hostId}', tags: ['hosts'], security: roles('admin'),
    summary: "Set a host's golden profiles", request: { params: hostId, ...body(req.HostUpdateSchema) },
    responses: { 200: json('the host', res.HostViewSchema), ...errors(400, 401, 403, 404, 413, 415) },
  });
  r.registerPath({
    method: 'delete', path: '/v1/hosts/{hostId}', tags: ['hosts'], security: roles('admin'),
    summary: 'Remove a host (it may then enroll with another EK)', request: { params: hostId },
    responses: { 204: { description: 'removed' }, ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'post', path: '/v1/hosts/{hostId}/revoke', tags: ['hosts'], security: roles('admin'),
    summary: 'Revoke a host and its live tokens', request: { params: hostId },
    responses: { 200: json('revoked', res.HostRevokedSchema), ...errors(400, 401, 403, 404) },
  });

  // History, changes and fleet drift (contract §6).
  r.registerPath({
    method: 'get', path: '/v1/hosts/{hostId}/appraisals', tags: ['fleet'], security: roles('scheduler'),
    summary: "The host's appraisals, newest first, in pages (next is the cursor for before)", request: { params: hostId, query: req.AppraisalListQuerySchema },
    responses: { 200: json('a page of appraisals', res.AppraisalListResponseSchema), ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'get', path: '/v1/hosts/{hostId}/changes', tags: ['fleet'], security: roles('scheduler'),
    summary: "What changed in the host's boot between its last passing and its latest appraisal, event by event", request: { params: hostId },
    responses: { 200: json('the changes', res.ChangesResponseSchema), ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'get', path: '/v1/drift', tags: ['fleet'], security: roles('scheduler'),
    summary: 'Failing hosts grouped by identical change set, largest group first',
    responses: { 200: json('drift groups', res.DriftListResponseSchema), ...errors(400, 401, 403) },
  });
  r.registerPath({
    method: 'get', path: '/v1/drift/acceptances', tags: ['fleet'], security: roles('admin'),
    summary: 'The audit trail of accepted drift groups',
    responses: { 200: json('acceptances', res.DriftAcceptancesResponseSchema), ...errors(400, 401, 403) },
  });
  r.registerPath({
    method: 'post', path: '/v1/drift/{groupId}/accept', tags: ['fleet'], security: roles('admin'),
    summary: "Write the group's profile's next version, allowing the group's new values beside the old", request: { params: z.object({ groupId: z.string().regex(req.DRIFT_GROUP_ID_RE) }), ...body(req.DriftAcceptRequestSchema) },
    responses: { 200: json('already accepted', res.DriftAcceptResponseSchema), 201: json('accepted', res.DriftAcceptResponseSchema), ...errors(400, 401, 403, 404, 409, 413, 415) },
  });
  r.registerPath({
    method: 'get', path: '/v1/golden/{name}/census', tags: ['fleet'], security: roles('scheduler'),
    summary: "How many hosts' latest passing appraisal used each value the profile allows", request: { params: z.object({ name: req.profileNameSchema }) },
    responses: { 200: json('the census', res.CensusResponseSchema), ...errors(400, 401, 403, 404) },
  });

  // Tokens (contract §3.4).
  r.registerPath({
    method: 'get', path: '/.well-known/jwks.json', tags: ['tokens'], security: [],
    summary: 'Public keys that verify attestation tokens',
    responses: { 200: json('JWKS', res.JwksSchema) },
  });
  r.registerPath({
    method: 'post', path: '/v1/keys/rotate', tags: ['tokens'], security: roles('admin'),
    summary: 'Start signing with a fresh key; older keys stay published until their tokens expire',
    responses: { 201: json('rotated', res.KeyRotationSchema), ...errors(401, 403) },
  });
  r.registerPath({
    method: 'post', path: '/v1/tokens/revoke', tags: ['tokens'], security: roles('admin'),
    summary: 'Revoke one token by jti', request: body(req.RevokeTokenSchema),
    responses: { 200: json('revoked', res.TokenRevokedSchema), ...errors(400, 401, 403, 413, 415) },
  });
  r.registerPath({
    method: 'post', path: '/v1/tokens/introspect', tags: ['tokens'], security: roles('broker'),
    summary: 'RFC 7662 introspection (JSON or form body)',
    request: {
      body: {
        required: true,
        content: { 'application/json': { schema: req.IntrospectRequestSchema }, 'application/x-www-form-urlencoded': { schema: req.IntrospectRequestSchema } },
      },
    },
    responses: { 200: json('introspection', res.IntrospectionSchema), ...errors(400, 401, 403, 413, 415) },
  });

  // Key release (contract §3.5).
  const secretName = z.object({ name: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/) });
  r.registerPath({
    method: 'put', path: '/v1/secrets/{name}', tags: ['secrets'], security: roles('admin'),
    summary: 'Store a secret (encrypted at rest) with its release policy', request: { params: secretName, ...body(req.PutSecretSchema) },
    responses: { 200: json('replaced', res.SecretSchema), 201: json('created', res.SecretSchema), ...errors(400, 401, 403, 413, 415) },
  });
  r.registerPath({
    method: 'get', path: '/v1/secrets/{name}', tags: ['secrets'], security: roles('admin'),
    summary: "A secret's policy (never its value)", request: { params: secretName },
    responses: { 200: json('the secret', res.SecretSchema), ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'post', path: '/v1/secrets/{name}/release', tags: ['secrets'], security: [{ attestationToken: [] }],
    summary: 'Release a secret as a JWE encrypted to the token-bound key', request: { params: secretName },
    responses: { 200: json('released', res.ReleaseResponseSchema), ...errors(400, 401, 403, 404, 413, 415) },
  });
  r.registerPath({
    method: 'get', path: '/v1/secrets/{name}/releases', tags: ['secrets'], security: roles('admin'),
    summary: 'The audit trail of releases and refusals', request: { params: secretName },
    responses: { 200: json('releases', res.ReleaseListSchema), ...errors(400, 401, 403) },
  });

  // Golden measurements (contract §4).
  const profileName = z.object({ name: req.profileNameSchema });
  r.registerPath({
    method: 'get', path: '/v1/golden', tags: ['golden'], security: roles('admin'),
    summary: 'Golden profiles', responses: { 200: json('profiles', res.ProfileSummaryListSchema), ...errors(401, 403) },
  });
  r.registerPath({
    method: 'get', path: '/v1/golden/{name}', tags: ['golden'], security: roles('admin'),
    summary: 'A golden profile document (latest, or ?version=)', request: { params: profileName, query: req.VersionQuerySchema },
    responses: { 200: json('the profile', req.GoldenProfileDocumentSchema), ...errors(400, 401, 403, 404) },
  });
  r.registerPath({
    method: 'put', path: '/v1/golden/{name}', tags: ['golden'], security: roles('admin'),
    summary: 'Store a new version of a golden profile', request: { params: profileName, ...body(req.GoldenProfileDocumentSchema) },
    responses: { 200: json('this version was already stored', res.ProfileStoredSchema), 201: json('stored', res.ProfileStoredSchema), ...errors(400, 401, 403, 409, 413, 415) },
  });

  // Trust events and webhooks (additions).
  r.registerPath({
    method: 'get', path: '/v1/events', tags: ['events'], security: roles('scheduler'),
    summary: 'Trust events after a sequence number (long-poll)', request: { query: req.PollQuerySchema },
    responses: { 200: json('events', res.EventPageSchema), ...errors(400, 401, 403, 429) },
  });
  r.registerPath({
    method: 'get', path: '/v1/webhooks', tags: ['events'], security: roles('admin'),
    summary: 'Configured webhooks (never their secrets)', responses: { 200: json('webhooks', res.WebhookListSchema), ...errors(401, 403) },
  });
  const webhookId = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/) });
  r.registerPath({
    method: 'put', path: '/v1/webhooks/{id}', tags: ['events'], security: roles('admin'),
    summary: 'Create or replace an HMAC-signed trust-event webhook', request: { params: webhookId, ...body(req.PutWebhookSchema) },
    responses: { 200: json('replaced', res.WebhookSchema), 201: json('created', res.WebhookSchema), ...errors(400, 401, 403, 409, 413, 415) },
  });
  r.registerPath({
    method: 'delete', path: '/v1/webhooks/{id}', tags: ['events'], security: roles('admin'),
    summary: 'Delete a webhook', request: { params: webhookId },
    responses: { 204: { description: 'deleted' }, ...errors(400, 401, 403, 404) },
  });

  // Operations.
  r.registerPath({
    method: 'get', path: '/healthz', tags: ['operations'], security: [],
    summary: 'Liveness: 503 once the store refuses writes (restart the service)',
    responses: { 200: json('healthy', res.HealthSchema), ...errors(503) },
  });
  r.registerPath({
    method: 'get', path: '/metrics', tags: ['operations'], security: [],
    summary: 'Prometheus metrics (docs/operations.md lists them)',
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
  });
  r.registerPath({
    method: 'get', path: '/openapi.json', tags: ['operations'], security: [],
    summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  });
  r.registerPath({
    method: 'get', path: '/docs', tags: ['operations'], security: [],
    summary: 'Human API reference rendered from this document (served offline)',
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
  });
}

export interface OpenApiInfo {
  version: string;
  /** The service's own URL, once known. */
  serverUrl?: string;
}

export function buildOpenApiDocument(info: OpenApiInfo): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  register(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'bootgate',
      version: info.version,
      description: 'Measured-boot attestation verifier: TPM quotes, event-log replay, golden measurements, attestation tokens and key release. Every error is {"error": {"code", "message"}}.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
  });
}
