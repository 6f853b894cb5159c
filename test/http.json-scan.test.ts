/** The duplicate/forbidden-key scanner against a model: 10,000 generated documents, escapes and whitespace included. */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scanJson, type JsonScanProblem } from '../src/http/json-scan.ts';

type Node = { kind: 'obj'; pairs: Array<[string, Node]> } | { kind: 'arr'; items: Node[] } | { kind: 'leaf'; value: string | number | boolean | null };

const keyArb = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'a"b', 'a\\b', 'é', '\u2028', '', '__proto__', 'constructor', 'x\ny'),
  fc.string({ maxLength: 4 }),
);
const leafArb: fc.Arbitrary<Node> = fc
  .oneof(fc.string({ maxLength: 6 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.constantFrom('"', '\\', '\\"', '{', '[', ','))
  .map((value) => ({ kind: 'leaf', value }));
const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(fc.tuple(keyArb, tie('node')), { maxLength: 4 }).map((pairs) => ({ kind: 'obj' as const, pairs })),
    fc.array(tie('node'), { maxLength: 4 }).map((items) => ({ kind: 'arr' as const, items })),
  ),
}));

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function modelProblem(n: Node): JsonScanProblem['code'] | null {
  if (n.kind === 'arr') {
    for (const i of n.items) {
      const p = modelProblem(i);
      if (p) return p;
    }
  } else if (n.kind === 'obj') {
    const seen = new Set<string>();
    for (const [k, v] of n.pairs) {
      if (FORBIDDEN.has(k)) return 'forbidden_json_key';
      if (seen.has(k)) return 'duplicate_json_key';
      seen.add(k);
      const p = modelProblem(v);
      if (p) return p;
    }
  }
  return null;
}

/** Serialises with optional whitespace and \u-escaped keys, so equal keys may be spelled differently. */
function serialize(n: Node, ws: string, escapeKeys: boolean): string {
  if (n.kind === 'leaf') return JSON.stringify(n.value);
  if (n.kind === 'arr') return `[${ws}${n.items.map((i) => serialize(i, ws, escapeKeys)).join(`${ws},${ws}`)}${ws}]`;
  const key = (k: string) => (escapeKeys ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(k));
  return `{${ws}${n.pairs.map(([k, v]) => `${key(k)}${ws}:${ws}${serialize(v, ws, escapeKeys)}`).join(`${ws},${ws}`)}${ws}}`;
}

describe('scanJson', () => {
  it('finds exactly the model\'s first duplicate or forbidden key (10,000 documents)', () => {
    fc.assert(
      fc.property(node, fc.constantFrom('', ' ', '\n\t '), fc.boolean(), (doc, ws, esc) => {
        const text = serialize(doc, ws, esc);
        JSON.parse(text); // the generator only makes valid JSON
        expect(scanJson(text)?.code ?? null).toBe(modelProblem(doc));
      }),
      { numRuns: 10_000 },
    );
  });

  it('names the path and refuses nesting deeper than the limit', () => {
    expect(scanJson('{"a":[1,{"b":{"c":1,"c":2}}]}')).toEqual({ code: 'duplicate_json_key', key: 'c', path: '$.a[1].b' });
    expect(scanJson('{"a":{"__proto__":1}}')).toEqual({ code: 'forbidden_json_key', key: '__proto__', path: '$.a' });
    expect(scanJson('['.repeat(65) + ']'.repeat(65))?.code).toBe('json_too_deep');
    expect(scanJson('['.repeat(64) + ']'.repeat(64))).toBeNull();
    expect(scanJson('"just a string with \\" and {"')).toBeNull();
  });
});
