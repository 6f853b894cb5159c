/**
 * TPM 2.0 key derivation functions (TPM 2.0 Part 1, §11.4.10).
 *
 * KDFa is the SP800-108 counter-mode KDF with HMAC; KDFe is the SP800-56A concatenation KDF
 * with a plain hash. Both feed the label to the PRF with its terminating NUL octet, as the
 * TPM reference implementation does ("IDENTITY\0", "STORAGE\0", "INTEGRITY\0"), and both
 * clear the unused high-order bits of the first octet when `bits` is not a multiple of 8.
 */
import { createHash, createHmac } from 'node:crypto';
import { DIGEST_SIZE, type HashAlg } from './alg.ts';

/** SP800-108 caps the counter at 2^32-1 blocks; TPM callers never need more than a few. */
const MAX_BITS = 0xffff * 8;

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

/** The label as the TPM feeds it: its UTF-8 octets followed by one NUL, or nothing when empty. */
function labelOctets(label: string): Uint8Array {
  if (label.length === 0) return new Uint8Array(0);
  if (label.includes('\0')) throw new RangeError('KDF label must not contain NUL; the terminator is added');
  const text = Buffer.from(label, 'utf8');
  const out = new Uint8Array(text.length + 1);
  out.set(text, 0);
  return out;
}

function checkBits(bits: number): void {
  if (!Number.isSafeInteger(bits) || bits <= 0 || bits > MAX_BITS) {
    throw new RangeError(`KDF output length ${bits} bits is out of range`);
  }
}

/** Keep exactly `bits` bits: truncate to whole octets, then mask the first octet's spare high bits. */
function trimToBits(stream: Uint8Array, bits: number): Uint8Array {
  const out = stream.slice(0, Math.ceil(bits / 8));
  const spare = (8 - (bits % 8)) % 8;
  if (spare !== 0 && out.length > 0) out[0] = (out[0] ?? 0) & (0xff >> spare);
  return out;
}

/**
 * KDFa(hashAlg, key, label, contextU, contextV, bits) — TPM 2.0 Part 1 §11.4.10.2.
 * K(i) = HMAC_key([i]32 ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ [bits]32), i = 1, 2, ...
 */
export function kdfa(
  hash: HashAlg,
  key: Uint8Array,
  label: string,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Uint8Array {
  checkBits(bits);
  const lab = labelOctets(label);
  const length = u32be(bits);
  const blocks = Math.ceil(bits / 8 / DIGEST_SIZE[hash]);
  const out = new Uint8Array(blocks * DIGEST_SIZE[hash]);
  for (let i = 1; i <= blocks; i++) {
    const h = createHmac(hash, key);
    h.update(u32be(i));
    h.update(lab);
    h.update(contextU);
    h.update(contextV);
    h.update(length);
    out.set(h.digest(), (i - 1) * DIGEST_SIZE[hash]);
  }
  return trimToBits(out, bits);
}

/**
 * KDFe(hashAlg, Z, label, partyUInfo, partyVInfo, bits) — TPM 2.0 Part 1 §11.4.10.3.
 * K(i) = H([i]32 ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo), i = 1, 2, ...
 * For ECC secret sharing Z is the x-coordinate of the shared point, partyUInfo the
 * ephemeral key's x-coordinate and partyVInfo the static (EK) key's x-coordinate.
 */
export function kdfe(
  hash: HashAlg,
  z: Uint8Array,
  label: string,
  partyUInfo: Uint8Array,
  partyVInfo: Uint8Array,
  bits: number,
): Uint8Array {
  checkBits(bits);
  const lab = labelOctets(label);
  const blocks = Math.ceil(bits / 8 / DIGEST_SIZE[hash]);
  const out = new Uint8Array(blocks * DIGEST_SIZE[hash]);
  for (let i = 1; i <= blocks; i++) {
    const h = createHash(hash);
    h.update(u32be(i));
    h.update(z);
    h.update(lab);
    h.update(partyUInfo);
    h.update(partyVInfo);
    out.set(h.digest(), (i - 1) * DIGEST_SIZE[hash]);
  }
  return trimToBits(out, bits);
}
