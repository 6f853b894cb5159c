/**
 * Verification of a bootgate attestation token by the verifier itself, for key release and
 * introspection. Each check answers with its own code, in a fixed order, so an operator reading
 * the release audit trail knows exactly which condition refused a caller.
 *
 * Order: present → well formed → alg ES256 → signature (verifier JWKS) → not expired / not yet
 * valid → claims shape → issuer → jti not revoked → host enrolled → host not revoked → host
 * currently trusted → token from the host's current passing appraisal.
 */
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
} from 'jose';
import { z } from 'zod';
import type { Store } from '../store/types.ts';
import { EAR_PROFILE, claimsFromEar } from '../token/ear.ts';

/** Clock skew accepted on exp/nbf/iat, in seconds. Kept small: tokens live minutes, not hours. */
export const TOKEN_CLOCK_TOLERANCE_S = 5;
/** Far above any token bootgate signs (a few hundred bytes); bounds work on hostile input. */
export const MAX_TOKEN_LENGTH = 8192;

export type TrustStatus = 'trusted' | 'untrusted' | 'unknown' | 'expired';

export interface TokenCheckDeps {
  store: Pick<Store, 'isTokenRevoked' | 'getHost'>;
  /** The verifier's published token keys (public JWKs with kid), i.e. the JWKS contents. */
  getVerificationKeys(): Promise<JWK[]>;
  issuer: string;
  trustOf(hostId: string): Promise<{ status: TrustStatus; appraisalId?: string | null }>;
  now(): Date;
}

const claimsSchema = z.object({
  iss: z.string().min(1).max(2048),
  sub: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().min(1).max(256),
  appraisal: z.string().min(1).max(256),
  profile: z.string().max(512).nullable().optional(),
  ak: z.string().max(1024).optional(),
  pcrDigest: z.string().max(1024).optional(),
  cnf: z.object({ jkt: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }).optional(),
});

export type AttestationClaims = z.infer<typeof claimsSchema>;

export type TokenRefusalCode =
  | 'token_missing'
  | 'token_malformed'
  | 'token_alg_invalid'
  | 'token_signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_issuer_invalid'
  | 'token_revoked'
  | 'unknown_host'
  | 'host_revoked'
  | 'host_untrusted'
  | 'token_superseded';

/** What the audit trail may say about the caller: only from a token whose signature verified. */
export interface TokenSubject {
  hostId: string | null;
  tokenId: string | null;
  appraisalId: string | null;
}

export type TokenCheck =
  | { ok: true; claims: AttestationClaims }
  | { ok: false; status: 401 | 403; code: TokenRefusalCode; reason: string; subject: TokenSubject };

const NOBODY: TokenSubject = { hostId: null, tokenId: null, appraisalId: null };
const JWT_SHAPE_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function refuse(status: 401 | 403, code: TokenRefusalCode, reason: string, subject: TokenSubject = NOBODY): TokenCheck {
  return { ok: false, status, code, reason, subject };
}

function subjectOf(payload: JWTPayload | undefined): TokenSubject {
  const str = (v: unknown): string | null => (typeof v === 'string' && v.length <= 256 ? v : null);
  // An EAR keeps the appraisal id in its bootgate extension.
  const ext = payload?.['bootgate'];
  const appraisal = payload?.['appraisal'] ?? (typeof ext === 'object' && ext !== null ? (ext as Record<string, unknown>)['appraisal'] : undefined);
  return { hostId: str(payload?.sub), tokenId: str(payload?.jti), appraisalId: str(appraisal) };
}

/** Keep only public members: a private key in the key source must never be used as a verifier key. */
function publicOnly(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg, use } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(([, v]) => v !== undefined));
}

export async function checkAttestationToken(token: string | undefined, deps: TokenCheckDeps): Promise<TokenCheck> {
  if (token === undefined || token === '') return refuse(401, 'token_missing', 'no attestation token: send Authorization: Bearer <token>');
  if (token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE_RE.test(token)) {
    return refuse(401, 'token_malformed', 'the token is not a compact JWS (header.payload.signature)');
  }
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
    decodeJwt(token);
  } catch {
    return refuse(401, 'token_malformed', 'the token header or payload is not base64url JSON');
  }
  if (alg !== 'ES256') {
    return refuse(401, 'token_alg_invalid', `the token alg is ${typeof alg === 'string' ? JSON.stringify(alg.slice(0, 32)) : 'missing'}; only ES256 is accepted`);
  }

  const now = deps.now();
  const keys = (await deps.getVerificationKeys()).map(publicOnly);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet({ keys }), {
      algorithms: ['ES256'],
      clockTolerance: TOKEN_CLOCK_TOLERANCE_S,
      currentDate: now,
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (err) {
    return mapVerifyError(err);
  }

  const nowS = Math.floor(now.getTime() / 1000);
  if (typeof payload.iat === 'number' && payload.iat > nowS + TOKEN_CLOCK_TOLERANCE_S) {
    return refuse(401, 'token_not_yet_valid', 'the token was issued in the future', subjectOf(payload));
  }
  // An EAR (BOOTGATE_TOKEN_FORMAT=ear) carries the same claims in its bootgate extension.
  let flat: Record<string, unknown> = payload;
  if (payload['eat_profile'] !== undefined) {
    if (payload['eat_profile'] !== EAR_PROFILE) return refuse(401, 'token_malformed', 'the token has an unknown eat_profile', subjectOf(payload));
    const ear = claimsFromEar(payload);
    if (!ear.ok) return refuse(403, 'host_untrusted', ear.reason, subjectOf(payload));
    flat = ear.claims;
  }
  const parsed = claimsSchema.safeParse(flat);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(401, 'token_malformed', `claim ${issue?.path.join('.') || '(root)'} is missing or invalid`, subjectOf(payload));
  }
  const claims = parsed.data;
  const subject: TokenSubject = { hostId: claims.sub, tokenId: claims.jti, appraisalId: claims.appraisal };
  if (claims.iss !== deps.issuer) return refuse(401, 'token_issuer_invalid', 'the token was issued by another verifier', subject);
  if (await deps.store.isTokenRevoked(claims.jti)) return refuse(401, 'token_revoked', `token ${claims.jti} was revoked`, subject);

  const host = await deps.store.getHost(claims.sub);
  if (host === undefined) return refuse(403, 'unknown_host', `host ${claims.sub} is not enrolled`, subject);
  if (host.revokedAt !== undefined) return refuse(403, 'host_revoked', `host ${claims.sub} was revoked at ${host.revokedAt}`, subject);
  const trust = await deps.trustOf(claims.sub);
  if (trust.status !== 'trusted') {
    return refuse(403, 'host_untrusted', `host ${claims.sub} is ${trust.status} now${trust.appraisalId ? ` (appraisal ${trust.appraisalId})` : ''}`, subject);
  }
  if (trust.appraisalId !== claims.appraisal) {
    // Only the token of the host's current passing appraisal counts: whatever happened between an
    // older appraisal and now (a failure, a re-attestation after repair) is not vouched for by it.
    return refuse(403, 'token_superseded', `the token's appraisal ${claims.appraisal} is not the host's current passing appraisal`, subject);
  }
  return { ok: true, claims };
}

function mapVerifyError(err: unknown): TokenCheck {
  if (err instanceof joseErrors.JWTExpired) {
    return refuse(401, 'token_expired', `the token expired (clock tolerance ${TOKEN_CLOCK_TOLERANCE_S} s)`, subjectOf(err.payload));
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return refuse(401, 'token_not_yet_valid', 'the token is not valid yet (nbf)', subjectOf(err.payload));
    return refuse(401, 'token_malformed', `claim ${err.claim} is missing or invalid`, subjectOf(err.payload));
  }
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys ||
    err instanceof joseErrors.JWKInvalid ||
    err instanceof joseErrors.JWKSInvalid
  ) {
    return refuse(401, 'token_signature_invalid', 'the token signature does not verify with any key of this verifier');
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return refuse(401, 'token_alg_invalid', 'only ES256 is accepted');
  if (err instanceof joseErrors.JOSEError) return refuse(401, 'token_malformed', 'the token is not a valid JWT');
  throw err;
}
