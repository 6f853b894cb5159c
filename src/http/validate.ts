/** Request validation with zod: 400 invalid_request naming the path; base64 fields decoded with a named error. */
import type { z } from 'zod';
import { ApiError } from '../util/errors.ts';
import { fromBase64 } from '../util/encoding.ts';

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'body' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue ? describePath(issue.path) : what;
  const prefix = what === 'body' ? '' : `${what} `;
  throw new ApiError(400, 'invalid_request', `${prefix}${where}: ${(issue?.message ?? 'invalid').slice(0, 300)}`);
}

/** Decodes a base64/base64url request field, or answers 400 invalid_base64 naming it. */
export function base64Field(field: string, value: string): Uint8Array {
  // Fast path for canonical padded base64 (what hosts send): Buffer drops characters outside
  // the alphabet, so decoding and re-encoding to the same text proves the input canonical,
  // exactly as fromBase64 decides, without its regex pass over a ~40 KB event log.
  const buf = Buffer.from(value, 'base64');
  if (buf.toString('base64') === value) {
    // A view, not a copy, when the Buffer owns its memory (an event log); small ones sit in
    // Buffer's shared pool, which must not travel to an appraisal worker whole: copy those.
    return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? new Uint8Array(buf.buffer, 0, buf.byteLength) : new Uint8Array(buf);
  }
  const bytes = fromBase64(value);
  if (bytes === null) throw new ApiError(400, 'invalid_base64', `${field} is not valid base64`);
  return bytes;
}
