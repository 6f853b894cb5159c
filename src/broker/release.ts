/**
 * Key release: decide whether the bearer of an attestation token gets a secret, and if so hand
 * it over encrypted to the token's binding key. Every outcome, release or refusal, is written to
 * the release audit trail (never the token, never the secret).
 */
import { randomUUID } from 'node:crypto';
import type { ReleaseRecord, SecretRecord, Store } from '../store/types.ts';
import { fromBase64 } from '../util/encoding.ts';
import { checkBindingKey, encryptToBindingKey, type BindingKey } from './binding-key.ts';
import { EnvelopeError, openSecret } from '../util/envelope.ts';
import { evaluatePolicy } from './policy.ts';
import { checkAttestationToken, type AttestationClaims, type TokenCheckDeps, type TokenRefusalCode, type TokenSubject } from './token-check.ts';

export type ReleaseRefusalCode =
  | TokenRefusalCode
  | 'token_unbound'
  | 'secret_not_found'
  | 'policy_denied'
  | 'invalid_binding_key'
  | 'binding_key_mismatch';

export interface ReleaseDeps extends TokenCheckDeps {
  store: Pick<Store, 'isTokenRevoked' | 'getHost' | 'getSecret' | 'recordRelease' | 'getAppraisal'>;
  masterKey: Uint8Array;
}

export type ReleaseRefusal = {
  ok: false;
  status: 400 | 401 | 403 | 404;
  code: ReleaseRefusalCode;
  reason: string;
  subject: TokenSubject;
};

export type ReleaseDecision = { ok: true; claims: AttestationClaims; jwk: BindingKey; secret: SecretRecord } | ReleaseRefusal;

/**
 * The checks, in order: token (see token-check.ts), cnf.jkt present, secret exists, policy,
 * binding JWK valid and matching cnf.jkt. No side effects besides store reads.
 *
 * The binding JWK is the one the host sent with its evidence, kept with the token's appraisal;
 * a caller may also send it as {"jwk": ...}, and either way it must match cnf.jkt.
 */
export async function decideRelease(input: {
  token: string | undefined;
  secretName: string;
  bindingJwk: unknown;
  deps: ReleaseDeps;
}): Promise<ReleaseDecision> {
  const { deps, secretName } = input;
  const tokenCheck = await checkAttestationToken(input.token, deps);
  if (!tokenCheck.ok) return tokenCheck;
  const { claims } = tokenCheck;
  const subject: TokenSubject = { hostId: claims.sub, tokenId: claims.jti, appraisalId: claims.appraisal };
  const refuse = (status: ReleaseRefusal['status'], code: ReleaseRefusalCode, reason: string): ReleaseRefusal => ({ ok: false, status, code, reason, subject });

  if (claims.cnf === undefined) {
    return refuse(403, 'token_unbound', 'the token carries no cnf binding key; attest with a bindingKey to obtain a releasable token');
  }
  const secret = await deps.store.getSecret(secretName);
  if (secret === undefined) return refuse(404, 'secret_not_found', `no secret named ${secretName}`);
  const policy = evaluatePolicy(secret.policy, { hostId: claims.sub, profile: claims.profile ?? null });
  if (!policy.ok) return refuse(403, 'policy_denied', policy.reason);
  const bindingJwk = input.bindingJwk ?? (await recordedBindingKey(deps, claims.appraisal));
  const binding = await checkBindingKey(bindingJwk, claims.cnf.jkt);
  if (!binding.ok) return refuse(binding.status, binding.code, binding.reason);
  return { ok: true, claims, jwk: binding.key, secret };
}

/** The public JWK recorded with the appraisal that issued the token, if any. */
async function recordedBindingKey(deps: ReleaseDeps, appraisalId: string | undefined): Promise<unknown> {
  if (appraisalId === undefined) return undefined;
  const stored = (await deps.store.getAppraisal(appraisalId))?.bindingKey;
  return stored === undefined ? undefined : (JSON.parse(stored) as unknown);
}

export type ReleaseResult = { ok: true; jwe: string } | ReleaseRefusal;

/** Decide, then release or refuse, and record the outcome before answering. */
export async function releaseSecret(input: {
  token: string | undefined;
  secretName: string;
  bindingJwk: unknown;
  /** Who called: client address and user agent, already sanitised for the audit trail. */
  caller: string;
  deps: ReleaseDeps;
}): Promise<ReleaseResult> {
  const { deps, secretName, caller } = input;
  const decision = await decideRelease(input);
  const record = (outcome: ReleaseRecord['outcome'], code: string, reason: string, subject: TokenSubject) =>
    deps.store.recordRelease({
      releaseId: randomUUID(),
      secretName,
      hostId: subject.hostId,
      tokenId: subject.tokenId,
      appraisalId: subject.appraisalId,
      caller,
      outcome,
      code,
      reason,
      at: deps.now().toISOString(),
    });

  if (!decision.ok) {
    await record('refused', decision.code, decision.reason, decision.subject);
    return decision;
  }
  const subject: TokenSubject = { hostId: decision.claims.sub, tokenId: decision.claims.jti, appraisalId: decision.claims.appraisal };
  let plaintext: Uint8Array;
  try {
    const envelope = fromBase64(decision.secret.ciphertext);
    if (envelope === null) throw new EnvelopeError('stored envelope is not base64');
    plaintext = openSecret(deps.masterKey, secretName, envelope);
  } catch (err) {
    // A server-side fault (wrong master key, damaged row), not the caller's: record it and fail loudly.
    await record('refused', 'secret_unreadable', 'the stored secret does not decrypt under this master key', subject);
    throw err;
  }
  try {
    const jwe = await encryptToBindingKey(plaintext, decision.jwk);
    // Audit first: a secret never leaves without its row in the trail.
    await record('released', 'released', `released to binding key ${decision.jwk.thumbprint} (${decision.jwk.alg})`, subject);
    return { ok: true, jwe };
  } finally {
    plaintext.fill(0);
  }
}
