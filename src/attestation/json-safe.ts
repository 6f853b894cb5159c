/** Findings may carry bytes or bigints from the core; JSON answers carry hex and decimal strings. */
import { toHex } from '../util/encoding.ts';

export function toJsonSafe(value: unknown, depth = 0): unknown {
  if (depth > 32) return null;
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return toJsonSafe(Object.fromEntries(value), depth + 1);
  if (value instanceof Set) return toJsonSafe([...value], depth + 1);
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonSafe(v, depth + 1);
    return out;
  }
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  return value;
}
