/** Text found in event data: ASCII/UTF-8 strings and UCS-2/UTF-16LE strings, NUL handling. */

const PRINTABLE = (c: number): boolean => (c >= 0x20 && c !== 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d;
/**
 * UTF-16 code units accepted as firmware text: printable ASCII and Latin-1. Wider ranges would let
 * binary data (a 16-byte GUID in EV_S_CRTM_VERSION) pass as CJK "text".
 */
const PRINTABLE_UNIT = (u: number): boolean => (u < 0x7f && PRINTABLE(u)) || (u >= 0xa0 && u <= 0xff);
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface DecodedText {
  text: string;
  encoding: 'ascii' | 'utf-16le';
  nulTerminated: boolean;
}

/** Bytes that are printable 8-bit text, optionally ending in one NUL. Null otherwise. */
export function asAsciiText(b: Uint8Array): DecodedText | null {
  let end = b.length;
  const nul = end > 0 && b[end - 1] === 0;
  if (nul) end--;
  let high = false;
  for (let i = 0; i < end; i++) {
    const c = b[i] ?? 0;
    if (!PRINTABLE(c)) return null;
    if (c >= 0x80) high = true;
  }
  // Bytes >= 0x80 are accepted only as valid UTF-8 (grub measures UTF-8 command lines).
  let text: string;
  if (!high) text = Buffer.from(b.buffer, b.byteOffset, end).toString('latin1');
  else {
    try {
      text = UTF8.decode(b.subarray(0, end));
    } catch {
      return null;
    }
  }
  return { text, encoding: 'ascii', nulTerminated: nul };
}

/** Bytes that are a UTF-16LE string of printable code units, optionally ending in one NUL unit. */
export function asUtf16Text(b: Uint8Array): DecodedText | null {
  if (b.length < 2 || b.length % 2 !== 0) return null;
  let units = b.length / 2;
  const unit = (i: number): number => (b[2 * i] ?? 0) | ((b[2 * i + 1] ?? 0) << 8);
  const nul = unit(units - 1) === 0;
  if (nul) units--;
  for (let i = 0; i < units; i++) if (!PRINTABLE_UNIT(unit(i))) return null;
  const text = Buffer.from(b.buffer, b.byteOffset, units * 2).toString('utf16le');
  return { text, encoding: 'utf-16le', nulTerminated: nul };
}

/** ASCII first (a one-char ASCII string with a NUL also looks like UTF-16), then UTF-16LE. */
export function asText(b: Uint8Array): DecodedText | null {
  return asAsciiText(b) ?? asUtf16Text(b);
}

/** A NUL-terminated CHAR16 string read from `b` at `at`; returns text and the offset after the NUL. */
export function readUcs2z(b: Uint8Array, at: number): { text: string; next: number } | null {
  for (let i = at; i + 1 < b.length; i += 2) {
    if (b[i] === 0 && b[i + 1] === 0) {
      return { text: Buffer.from(b.buffer, b.byteOffset + at, i - at).toString('utf16le'), next: i + 2 };
    }
  }
  return null;
}

/** UTF-16LE bytes to text, up to the first NUL unit. */
export function ucs2ToString(b: Uint8Array): string {
  const max = Math.floor(b.length / 2);
  let units = 0;
  while (units < max && (b[2 * units] !== 0 || b[2 * units + 1] !== 0)) units++;
  return Buffer.from(b.buffer, b.byteOffset, units * 2).toString('utf16le');
}
