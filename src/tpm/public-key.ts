/** Node KeyObjects from TPM public areas (RSA, and ECC on the NIST curves). */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { ParseError } from '../util/errors.ts';
import { TPM_ECC_CURVE } from './attributes.ts';
import type { TPMT_PUBLIC } from './public.ts';

export const ECC_CURVES: Record<number, { jwk: 'P-256' | 'P-384' | 'P-521'; size: number }> = {
  [TPM_ECC_CURVE.NIST_P256]: { jwk: 'P-256', size: 32 },
  [TPM_ECC_CURVE.NIST_P384]: { jwk: 'P-384', size: 48 },
  [TPM_ECC_CURVE.NIST_P521]: { jwk: 'P-521', size: 66 },
};

function b64u(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** Left-pads (after dropping leading zeros) to `size`; null when the value is wider than the field. */
export function fixedWidth(b: Uint8Array, size: number): Uint8Array | null {
  const v = stripLeadingZeros(b);
  if (v.length > size) return null;
  const out = new Uint8Array(size);
  out.set(v, size - v.length);
  return out;
}

/**
 * A public KeyObject for an RSA or ECC (P-256/384/521) public area. Throws ParseError when the
 * public area does not describe a usable key (unknown curve, point not on the curve, bad modulus).
 */
export function publicKeyFromTpmt(pub: TPMT_PUBLIC): KeyObject {
  // Importing a JWK costs ~4x an RSA-2048 verification; AKs repeat across attestations, so keep a few.
  const cacheKey = `${pub.type}:${Buffer.from(pub.bytes.buffer, pub.bytes.byteOffset, pub.bytes.byteLength).toString('base64')}`;
  const cached = KEY_CACHE.get(cacheKey);
  if (cached) return cached;
  const key = importPublicKey(pub);
  if (KEY_CACHE.size >= KEY_CACHE_MAX) KEY_CACHE.delete(KEY_CACHE.keys().next().value as string);
  KEY_CACHE.set(cacheKey, key);
  return key;
}

const KEY_CACHE_MAX = 512;
/** Public keys by marshaled TPMT_PUBLIC (public data only, so sharing them is safe). */
const KEY_CACHE = new Map<string, KeyObject>();

function importPublicKey(pub: TPMT_PUBLIC): KeyObject {
  const fail = (field: string, detail: string): never => {
    throw new ParseError('TPMT_PUBLIC', field, 0, detail);
  };
  if (pub.type === 'rsa') {
    const d = pub.parameters.rsa;
    const n = pub.unique.rsa;
    if (!d || !n) return fail('unique.rsa', 'RSA public area without parameters or modulus');
    if (n.length === 0 || stripLeadingZeros(n).length * 8 < 512) fail('unique.rsa', `RSA modulus of ${n.length} bytes is too small`);
    if (d.keyBits !== n.length * 8) fail('parameters.rsaDetail.keyBits', `keyBits ${d.keyBits} does not match a ${n.length}-byte modulus`);
    const exp = d.exponent === 0 ? 65537 : d.exponent;
    const e = new Uint8Array(4);
    new DataView(e.buffer).setUint32(0, exp);
    try {
      return createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(stripLeadingZeros(e)) }, format: 'jwk' });
    } catch (err) {
      return fail('unique.rsa', `not a usable RSA key: ${(err as Error).message}`);
    }
  }
  if (pub.type === 'ecc') {
    const d = pub.parameters.ecc;
    const u = pub.unique.ecc;
    if (!d || !u) return fail('unique.ecc', 'ECC public area without parameters or point');
    const curve = ECC_CURVES[d.curveId];
    if (!curve) return fail('parameters.eccDetail.curveID', `unsupported curve 0x${d.curveId.toString(16).padStart(4, '0')}`);
    const x = fixedWidth(u.x, curve.size);
    const y = fixedWidth(u.y, curve.size);
    if (!x || !y) return fail('unique.ecc', `point coordinates wider than ${curve.jwk}`);
    try {
      return createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64u(x), y: b64u(y) }, format: 'jwk' });
    } catch (err) {
      return fail('unique.ecc', `not a point on ${curve.jwk}: ${(err as Error).message}`);
    }
  }
  return fail('type', `a ${pub.type} object has no asymmetric public key`);
}
