import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../src/util/bytes.ts';
import { ParseError } from '../src/util/errors.ts';
import { fromBase64, fromHex, constantTimeEqual } from '../src/util/encoding.ts';

describe('ByteReader', () => {
  it('reads big- and little-endian integers', () => {
    const be = new ByteReader(Uint8Array.of(1, 2, 3, 4), 'T');
    expect(be.u32('x')).toBe(0x01020304);
    const le = new ByteReader(Uint8Array.of(1, 2, 3, 4), 'T', 'le');
    expect(le.u32('x')).toBe(0x04030201);
  });

  it('refuses a TPM2B whose size exceeds what remains, naming structure, field and offset', () => {
    const r = new ByteReader(Uint8Array.of(0, 0, 0xff, 0xff, 1), 'TPMS_ATTEST', 'be', 10);
    r.u16('magicHi');
    try {
      r.tpm2b('extraData');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      const pe = e as ParseError;
      expect(pe.structure).toBe('TPMS_ATTEST');
      expect(pe.field).toBe('extraData.buffer');
      expect(pe.offset).toBe(14);
    }
  });

  it('round-trips through ByteWriter', () => {
    const w = new ByteWriter().u16(0x8018).u64(7n).tpm2b(Uint8Array.of(9, 9));
    const r = new ByteReader(w.finish(), 'T');
    expect(r.u16('a')).toBe(0x8018);
    expect(r.u64('b')).toBe(7n);
    expect([...r.tpm2b('c')]).toEqual([9, 9]);
    r.expectEnd();
  });
});

describe('encoding', () => {
  it('accepts padded base64 and base64url, refuses junk', () => {
    expect(fromBase64('kAk=')).toEqual(Uint8Array.of(0x90, 0x09));
    expect(fromBase64('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
    // Unpadded base64url without '-' or '_' is still base64url.
    expect(fromBase64('kAk')).toEqual(Uint8Array.of(0x90, 0x09));
    for (let n = 0; n < 64; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      expect(fromBase64(Buffer.from(b).toString('base64url'))).toEqual(b);
      expect(fromBase64(Buffer.from(b).toString('base64'))).toEqual(b);
    }
    expect(fromBase64('kA=k')).toBeNull();
    expect(fromBase64('k')).toBeNull();
    expect(fromBase64('k@k=')).toBeNull();
    expect(fromHex('0x9009')).toEqual(Uint8Array.of(0x90, 0x09));
    expect(fromHex('900')).toBeNull();
    expect(constantTimeEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
  });
});
