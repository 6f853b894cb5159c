/** Hex and base64 at the edges of the system. The core works on Uint8Array only. */
import { timingSafeEqual } from 'node:crypto';

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Strict hex: even length, hex digits only; an optional 0x prefix is allowed. Returns null when not hex. */
export function fromHex(s: string): Uint8Array | null {
  const t = s.startsWith('0x') || s.startsWith('0X') ? s.slice(2) : s;
  if (!HEX_RE.test(t)) return null;
  return new Uint8Array(Buffer.from(t, 'hex'));
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Standard base64 (RFC 4648 §4, padded) or base64url. Returns null for anything else,
 * including bad padding, so callers can answer with a precise error code.
 */
export function fromBase64(s: string): Uint8Array | null {
  // Padded standard base64 first; anything else that fits the url alphabet (padded or not,
  // with or without '-'/'_') is read as base64url.
  if (B64_RE.test(s) && s.length % 4 === 0) {
    const buf = Buffer.from(s, 'base64');
    // Buffer silently drops bad characters; re-encoding proves the input was canonical.
    if (buf.toString('base64') === s) return new Uint8Array(buf);
  }
  if (B64URL_RE.test(s)) {
    const unpadded = s.replace(/=+$/, '');
    if (unpadded.length % 4 === 1) return null;
    const buf = Buffer.from(unpadded, 'base64url');
    if (buf.toString('base64url') !== unpadded) return null;
    return new Uint8Array(buf);
  }
  return null;
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Constant-time equality; unequal lengths compare unequal without leaking where. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
