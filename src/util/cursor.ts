/**
 * Paging cursors: opaque to clients (base64url of a kind letter and a position), checked on the
 * way back in so a cursor that is not one of ours is a 400, never a query with hostile text.
 */
import { ApiError } from './errors.ts';

export function encodeCursor(kind: string, position: string | number): string {
  return Buffer.from(`${kind}${position}`, 'utf8').toString('base64url');
}

/** The position inside a cursor of `kind`, which must match `position`. */
export function decodeCursor(cursor: string, kind: string, position: RegExp): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const pos = text.startsWith(kind) ? text.slice(kind.length) : '';
  if (!position.test(pos)) throw new ApiError(400, 'invalid_cursor', 'the cursor is not one this service returned');
  return pos;
}
