/**
 * The binding key a host may send with its evidence (contract §3.4): a public EC P-256 or
 * RSA >= 2048 JWK. Its RFC 7638 thumbprint is bound into the quote through the nonce and
 * lands in the token as cnf.jkt.
 */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ApiError } from '../util/errors.ts';

export interface BoundKey {
  /** base64url thumbprint, as in cnf.jkt. */
  thumbprint: string;
  /** The 32 thumbprint bytes that go into SHA-256(nonce ‖ thumbprint). */
  thumbprintBytes: Uint8Array;
  /** The canonical public members only, as stored for key release. */
  jwk: JWK;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const ALLOWED_MEMBERS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'use', 'kid', 'key_ops', 'ext']);
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

function invalid(message: string): ApiError {
  return new ApiError(400, 'invalid_binding_key', message);
}

function b64url(jwk: Record<string, unknown>, member: string, maxChars: number): string {
  const v = jwk[member];
  // Not fromBase64: unpadded base64url without '-' or '_' looks like bad-padded standard base64 to it.
  if (typeof v !== 'string' || v.length === 0 || v.length > maxChars || !/^[A-Za-z0-9_-]+$/.test(v) || v.length % 4 === 1 || Buffer.from(v, 'base64url').toString('base64url') !== v) {
    throw invalid(`bindingKey.${member} must be a base64url string`);
  }
  return v;
}

export async function bindKey(input: unknown): Promise<BoundKey> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('bindingKey must be a JWK object');
  const jwk = input as Record<string, unknown>;
  const priv = PRIVATE_MEMBERS.filter((m) => Object.hasOwn(jwk, m));
  if (priv.length > 0) throw invalid(`bindingKey carries private members (${priv.join(', ')}); send the public key only`);
  const unknown = Object.keys(jwk).filter((k) => !ALLOWED_MEMBERS.has(k));
  if (unknown.length > 0) throw invalid(`bindingKey has unexpected members: ${unknown.slice(0, 5).join(', ').slice(0, 200)}`);

  let members: JWK;
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256') throw invalid('an EC bindingKey must use curve P-256');
    members = { kty: 'EC', crv: 'P-256', x: b64url(jwk, 'x', 64), y: b64url(jwk, 'y', 64) };
  } else if (jwk.kty === 'RSA') {
    members = { kty: 'RSA', n: b64url(jwk, 'n', 1400), e: b64url(jwk, 'e', 12) };
  } else {
    throw invalid('bindingKey must be an EC P-256 or RSA public JWK');
  }
  let key;
  try {
    key = createPublicKey({ key: members as Record<string, string>, format: 'jwk' });
  } catch {
    throw invalid('bindingKey is not a valid public key (point not on the curve or bad RSA parameters)');
  }
  if (members.kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw invalid(`an RSA bindingKey needs ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
  }
  const thumbprint = await calculateJwkThumbprint(members, 'sha256');
  const thumbprintBytes = new Uint8Array(Buffer.from(thumbprint, 'base64url'));
  if (thumbprintBytes.length !== 32) throw new Error('thumbprint is not 32 bytes of base64url');
  return { thumbprint, thumbprintBytes, jwk: members };
}
