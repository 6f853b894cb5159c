/**
 * The host's binding public key, sent in the release request as `{"jwk": {...}}`.
 *
 * The token only carries its RFC 7638 thumbprint (cnf.jkt), so the host supplies the key and the
 * broker accepts it only if its thumbprint is exactly cnf.jkt. The secret is then encrypted to that
 * key, so whoever presents a stolen token still cannot read the answer without the private key.
 */
import { CompactEncrypt, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { constantTimeEqual } from '../util/encoding.ts';

export type BindingAlg = 'ECDH-ES+A256KW' | 'RSA-OAEP-256';

export interface BindingKey {
  /** Public members only, as used for the thumbprint and the encryption. */
  jwk: JWK;
  alg: BindingAlg;
  /** RFC 7638 SHA-256 thumbprint, base64url; equals the token's cnf.jkt. */
  thumbprint: string;
}

export type BindingKeyCheck =
  | { ok: true; key: BindingKey }
  | { ok: false; status: 400 | 403; code: 'invalid_binding_key' | 'binding_key_mismatch'; reason: string };

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

function invalid(reason: string): BindingKeyCheck {
  return { ok: false, status: 400, code: 'invalid_binding_key', reason };
}

/**
 * JWK members are unpadded base64url (RFC 7518). Decoded here rather than with util fromBase64,
 * which reads an unpadded value without '-' or '_' as standard base64 and rejects its length.
 */
function b64urlMember(v: unknown, max: number): Uint8Array | null {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || !/^[A-Za-z0-9_-]+$/.test(v) || v.length % 4 === 1) return null;
  const bytes = Buffer.from(v, 'base64url');
  return bytes.toString('base64url') === v ? new Uint8Array(bytes) : null;
}

export async function checkBindingKey(input: unknown, expectedJkt: string): Promise<BindingKeyCheck> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return invalid('send the binding public key as {"jwk": {...}} in the request body');
  }
  const raw = input as Record<string, unknown>;
  const priv = PRIVATE_MEMBERS.filter((m) => m in raw);
  if (priv.length > 0) return invalid(`the binding JWK carries private members (${priv.join(', ')}); send the public key only`);

  let jwk: JWK;
  let alg: BindingAlg;
  if (raw['kty'] === 'EC') {
    if (raw['crv'] !== 'P-256') return invalid('EC binding keys must use curve P-256');
    const x = b64urlMember(raw['x'], 64);
    const y = b64urlMember(raw['y'], 64);
    if (x?.length !== 32 || y?.length !== 32) return invalid('EC binding key x and y must be 32-byte base64url values');
    jwk = { kty: 'EC', crv: 'P-256', x: raw['x'] as string, y: raw['y'] as string };
    alg = 'ECDH-ES+A256KW';
  } else if (raw['kty'] === 'RSA') {
    const n = b64urlMember(raw['n'], 2048);
    const e = b64urlMember(raw['e'], 16);
    if (n === null || e === null) return invalid('RSA binding key n and e must be base64url values');
    const bits = modulusBits(n);
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return invalid(`RSA binding key is ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`);
    jwk = { kty: 'RSA', n: raw['n'] as string, e: raw['e'] as string };
    alg = 'RSA-OAEP-256';
  } else {
    return invalid('binding keys are EC P-256 or RSA (kty "EC" or "RSA")');
  }

  try {
    // Rejects points off the curve and malformed RSA parameters before anything is encrypted.
    await importJWK(jwk, alg);
  } catch {
    return invalid('the binding JWK is not a usable public key');
  }
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (!constantTimeEqual(Buffer.from(thumbprint), Buffer.from(expectedJkt))) {
    return { ok: false, status: 403, code: 'binding_key_mismatch', reason: "the JWK's RFC 7638 thumbprint is not the token's cnf.jkt" };
  }
  return { ok: true, key: { jwk, alg, thumbprint } };
}

function modulusBits(n: Uint8Array): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i] as number));
}

/** Compact JWE of the secret to the binding key: alg per key type, enc A256GCM, kid = thumbprint. */
export async function encryptToBindingKey(plaintext: Uint8Array, key: BindingKey): Promise<string> {
  const publicKey = await importJWK(key.jwk, key.alg);
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg: key.alg, enc: 'A256GCM', kid: key.thumbprint })
    .encrypt(publicKey);
}
