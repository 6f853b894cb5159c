/**
 * Envelope encryption at rest under the master key (AES-256-GCM): broker secrets, token signing
 * keys, webhook secrets, the shared admin key.
 *
 * Layout: version (1 byte, 0x01) ‖ IV (12 random bytes) ‖ ciphertext ‖ tag (16 bytes).
 * The NAME is the additional authenticated data, so an envelope copied onto another row fails to
 * open instead of releasing the wrong secret under the other name's policy. Broker secret names
 * have no spaces; other uses name themselves "<purpose> <id>" (see sealText), so they never collide.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { concatBytes, fromBase64, toBase64 } from './encoding.ts';

export const MASTER_KEY_BYTES = 32;

export const ENVELOPE_VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES;

/** An envelope that does not open: wrong key, wrong name, truncated or altered bytes. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

export function sealSecret(masterKey: Uint8Array, name: string, plaintext: Uint8Array): Uint8Array {
  checkKey(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const body = concatBytes(cipher.update(plaintext), cipher.final());
  return concatBytes(Uint8Array.of(ENVELOPE_VERSION), iv, body, cipher.getAuthTag());
}

export function openSecret(masterKey: Uint8Array, name: string, envelope: Uint8Array): Uint8Array {
  checkKey(masterKey);
  if (envelope.length < HEADER_BYTES + TAG_BYTES) {
    throw new EnvelopeError(`envelope of ${envelope.length} bytes is shorter than the ${HEADER_BYTES + TAG_BYTES}-byte minimum`);
  }
  if (envelope[0] !== ENVELOPE_VERSION) {
    throw new EnvelopeError(`envelope version ${envelope[0]} is not supported (expected ${ENVELOPE_VERSION})`);
  }
  const iv = envelope.subarray(1, HEADER_BYTES);
  const body = envelope.subarray(HEADER_BYTES, envelope.length - TAG_BYTES);
  const tag = envelope.subarray(envelope.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(name, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return concatBytes(decipher.update(body), decipher.final());
  } catch {
    throw new EnvelopeError(`envelope for secret "${name}" does not authenticate (wrong master key, wrong name, or altered bytes)`);
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== MASTER_KEY_BYTES) throw new EnvelopeError(`master key must be ${MASTER_KEY_BYTES} bytes, got ${key.length}`);
}

/** Seals UTF-8 text for a row of `purpose` (e.g. "signing-key") and `id`; base64 of the envelope. */
export function sealText(masterKey: Uint8Array, purpose: string, id: string, text: string): string {
  return toBase64(sealSecret(masterKey, `${purpose} ${id}`, new TextEncoder().encode(text)));
}

/** Opens what sealText wrote for the same purpose and id; EnvelopeError otherwise. */
export function openText(masterKey: Uint8Array, purpose: string, id: string, sealed: string): string {
  const bytes = fromBase64(sealed);
  if (bytes === null) throw new EnvelopeError(`the sealed ${purpose} ${id} is not base64`);
  return new TextDecoder('utf-8', { fatal: true }).decode(openSecret(masterKey, `${purpose} ${id}`, bytes));
}
