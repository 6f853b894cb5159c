/**
 * Golden text patterns run in linear time. The texts they are matched against (kernel command
 * line, grub commands, boot option paths, certificate subjects) come from the host, and the
 * attestation route is reachable before the quote's signature is known to be good, so a
 * backtracking pattern such as `(?:[a-z]+ ?)*` would let anyone burn the event loop for minutes
 * with a 40-character command line. V8's linear-time engine (the `l` flag) guarantees
 * O(pattern × text) and refuses at compile time what it cannot run (backreferences, lookaround,
 * counted repeats above {16}).
 *
 * The `l` flag cannot be combined with `u`, so patterns are matched without it; constructs whose
 * meaning differs without `u` (\p{..}, \u{..}, astral characters) are refused instead of silently
 * changing meaning. If a future Node drops the flag, every pattern is refused: fail closed.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--enable-experimental-regexp-engine');

/** Bounds the O(pattern × text) matching cost; golden patterns are a line, not a program. */
export const MAX_PATTERN_LENGTH = 1024;

/** V8's linear-time engine unrolls counted repeats and refuses counts above this. */
export const MAX_LINEAR_REPEAT = 16;

const UNICODE_ONLY_RE = /\\[pP]\{|\\u\{|[\uD800-\uDFFF]/;

/** Why a pattern is refused, or undefined when it is usable. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_LENGTH) return `a pattern is at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u'); // strict syntax: no stray escapes or lone brackets
  } catch (e) {
    return `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (UNICODE_ONLY_RE.test(pattern)) return 'unicode property escapes, \\u{...} and non-BMP characters are not supported in patterns';
  try {
    anchoredLinear(pattern);
  } catch {
    const bigRepeat = [...pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)].some((m) => Number(m[1]) > MAX_LINEAR_REPEAT || Number(m[2] || 0) > MAX_LINEAR_REPEAT);
    return bigRepeat
      ? `the pattern cannot be matched in linear time: a counted repeat above {${MAX_LINEAR_REPEAT}} (split it, e.g. [0-9a-f]{8}-[0-9a-f]{4}-…, or use +)`
      : 'the pattern cannot be matched in linear time: no backreferences or lookaround';
  }
  return undefined;
}

/** The anchored, linear-time RegExp of a pattern; throws SyntaxError for a pattern patternProblem refuses. */
export function anchoredLinear(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'l');
}
