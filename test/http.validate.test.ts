import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { base64Field } from '../src/http/validate.ts';
import { fromBase64 } from '../src/util/encoding.ts';
import { ApiError } from '../src/util/errors.ts';

function field(s: string): Uint8Array | null {
  try {
    return base64Field('f', s);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid_base64');
    return null;
  }
}

describe('base64Field (fast path for canonical base64)', () => {
  it('accepts and refuses exactly what fromBase64 does, with the same bytes (10,000+ inputs)', () => {
    const b64 = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('base64'));
    const b64url = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('base64url'));
    // Near-canonical: one character replaced, removed or added.
    const mutated = fc
      .tuple(b64, fc.nat(), fc.constantFrom('', '=', '-', '_', '+', '/', 'A', ' ', '\n', '!', 'é'))
      .map(([s, i, c]) => (s.length === 0 ? c : s.slice(0, i % s.length) + c + s.slice((i % s.length) + (i % 2))));
    fc.assert(
      fc.property(fc.oneof(b64, b64url, mutated, fc.string({ maxLength: 24 })), (s) => {
        const expected = fromBase64(s);
        const got = field(s);
        expect(got === null).toBe(expected === null);
        if (expected && got) expect(Buffer.from(got).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 12_000 },
    );
  });

  it('decodes a 27 KB field to its own copy of the bytes', () => {
    const bytes = Buffer.alloc(27 * 1024, 7);
    const out = base64Field('eventLog', bytes.toString('base64'));
    expect(out.length).toBe(bytes.length);
    expect(Buffer.from(out).equals(bytes)).toBe(true);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.length);
  });
});
