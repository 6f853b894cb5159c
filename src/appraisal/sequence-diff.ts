/**
 * Myers' O((N+M)·D) shortest edit script (E. W. Myers, "An O(ND) Difference Algorithm and Its
 * Variations", 1986) over two sequences of integer keys. A common prefix and suffix are matched
 * first; beyond `maxEdits` edits the middle is reported as removed then added, so a hostile pair of
 * logs costs at most O((N+M)·maxEdits) time and O(maxEdits²) memory.
 */

export type EditOp =
  | { op: 'equal'; a: number; b: number }
  | { op: 'delete'; a: number }
  | { op: 'insert'; b: number };

export const DEFAULT_MAX_EDITS = 1000;

export function diffSequences(a: ArrayLike<number>, b: ArrayLike<number>, maxEdits = DEFAULT_MAX_EDITS): EditOp[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: EditOp[] = [];
  for (let i = 0; i < start; i++) out.push({ op: 'equal', a: i, b: i });
  const middle = myers(a, b, start, endA, start, endB, maxEdits);
  if (middle !== undefined) out.push(...middle);
  else {
    for (let i = start; i < endA; i++) out.push({ op: 'delete', a: i });
    for (let j = start; j < endB; j++) out.push({ op: 'insert', b: j });
  }
  for (let i = endA, j = endB; i < a.length; i++, j++) out.push({ op: 'equal', a: i, b: j });
  return out;
}

/** The edit script of a[a0..a1) → b[b0..b1), or undefined when it needs more than maxEdits edits. */
function myers(a: ArrayLike<number>, b: ArrayLike<number>, a0: number, a1: number, b0: number, b1: number, maxEdits: number): EditOp[] | undefined {
  const n = a1 - a0;
  const m = b1 - b0;
  if (n === 0 && m === 0) return [];
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  // v[k + offset]: the furthest x reached on diagonal k (y = x - k), relative to a0/b0.
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number));
      let x = down ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, d, n, m, a0, b0);
    }
  }
  return undefined;
}

/** Walks the saved frontiers back from (n, m) to (0, 0), emitting the edits in forward order. */
function backtrack(trace: Int32Array[], dEnd: number, n: number, m: number, a0: number, b0: number): EditOp[] {
  const ops: EditOp[] = [];
  let x = n;
  let y = m;
  for (let d = dEnd; d > 0; d--) {
    // trace[d] holds v[-d-1 .. d+1] as it was before step d: index k maps to k + d + 1.
    const frame = trace[d] as Int32Array;
    const at = (k: number): number => frame[k + d + 1] as number;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX + (down ? 0 : 1) && y > prevY + (down ? 1 : 0)) {
      x--;
      y--;
      ops.push({ op: 'equal', a: a0 + x, b: b0 + y });
    }
    if (down) ops.push({ op: 'insert', b: b0 + prevY });
    else ops.push({ op: 'delete', a: a0 + prevX });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ op: 'equal', a: a0 + x, b: b0 + y });
  }
  return ops.reverse();
}
