/**
 * A second look at JSON text that JSON.parse already accepted: JSON.parse keeps the last of
 * duplicate keys silently, and two parsers disagreeing on which one wins is how signed or
 * validated documents get smuggled past a check. Also refuses prototype-pollution keys and
 * absurd nesting. Iterative, linear in the input.
 */

export type JsonScanProblem =
  | { code: 'duplicate_json_key'; key: string; path: string }
  | { code: 'forbidden_json_key'; key: string; path: string }
  | { code: 'json_too_deep'; path: string };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface Frame {
  keys: Set<string> | null; // null for arrays
  expectKey: boolean;
  /** Where this container sits in its parent: a key, an array index, or nothing (the root). Named only when a problem is reported. */
  at: string | number | null;
  index: number;
}

/** Index of the closing quote of the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let backslashes = 0;
    for (let k = j - 1; k > start && text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
  }
}

function pathOf(stack: Frame[]): string {
  let path = '$';
  for (const f of stack) if (f.at !== null) path += typeof f.at === 'number' ? `[${f.at}]` : `.${f.at}`;
  return path;
}

/** `text` must already be valid JSON. Returns the first problem, or null. */
export function scanJson(text: string, maxDepth = 64): JsonScanProblem | null {
  const stack: Frame[] = [{ keys: null, expectKey: false, at: null, index: 0 }];
  let pendingKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (top === undefined) return null;
    switch (c) {
      case 0x22 /* " */: {
        const end = stringEnd(text, i);
        if (top.keys !== null && top.expectKey) {
          const raw = text.slice(i, end + 1);
          const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
          if (FORBIDDEN_KEYS.has(key)) return { code: 'forbidden_json_key', key, path: pathOf(stack) };
          if (top.keys.has(key)) return { code: 'duplicate_json_key', key, path: pathOf(stack) };
          top.keys.add(key);
          top.expectKey = false;
          pendingKey = key;
        }
        i = end;
        break;
      }
      case 0x7b /* { */:
      case 0x5b /* [ */: {
        const at = stack.length === 1 ? null : top.keys !== null ? pendingKey : top.index;
        stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b, at, index: 0 });
        if (stack.length - 1 > maxDepth) return { code: 'json_too_deep', path: pathOf(stack) };
        break;
      }
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop();
        break;
      case 0x2c /* , */:
        if (top.keys !== null) top.expectKey = true;
        else top.index++;
        break;
      default:
        break;
    }
  }
  return null;
}
