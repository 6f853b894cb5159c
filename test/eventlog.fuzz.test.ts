/**
 * Hostile input: random bytes and mutated real logs (truncation at every structural boundary,
 * bit flips, length/count fields set to huge values) only ever end in ParseError, never another
 * exception, a hang or an allocation beyond the input; whatever does parse also replays, checks
 * and serialises without throwing. More than 10,000 generated cases per run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDigestConsistency, eventLogToJson, parseEventLog, replayEventLog, type EventLog } from '../src/eventlog/index.ts';
import { ParseError } from '../src/util/errors.ts';
import { SHARED_FIXTURES_MISSING, haveSharedFixtures, readFixture } from './helpers/fixtures.ts';

const have = haveSharedFixtures();
if (!have) console.warn(`eventlog.fuzz (real-log mutations): ${SHARED_FIXTURES_MISSING}`);

/**
 * Runs parse, replay and the digest check (and the JSON form when `json`); returns 'parse-error' or
 * 'ok', rethrowing anything that is not a ParseError. JSON is left to smaller inputs to bound run time.
 */
function survive(bytes: Uint8Array, json = bytes.length <= 4096, parseOnly = false): 'parse-error' | 'ok' {
  let log: EventLog;
  try {
    log = parseEventLog(bytes);
  } catch (err) {
    if (err instanceof ParseError) return 'parse-error';
    throw err;
  }
  // Event data are views into the input, never copies sized by a length field.
  for (const e of log.events) if (e.data.length > 0 && e.data.buffer !== bytes.buffer) throw new Error(`event ${e.index} data was copied`);
  if (parseOnly) return 'ok';
  const replay = replayEventLog(log);
  checkDigestConsistency(log);
  if (json) JSON.stringify(eventLogToJson(log, replay));
  return 'ok';
}

/** A minimal crypto-agile header (Spec ID Event03, sha1 + sha256) so random tails reach TCG_PCR_EVENT2 parsing. */
function specIdHeader(): Uint8Array {
  const sig = new TextEncoder().encode('Spec ID Event03\0');
  const body = new Uint8Array(16 + 4 + 4 + 4 + 8 + 1);
  body.set(sig, 0);
  const v = new DataView(body.buffer);
  v.setUint8(21, 2); // specVersionMajor
  v.setUint8(23, 2); // uintnSize
  v.setUint32(24, 2, true);
  v.setUint16(28, 0x0004, true);
  v.setUint16(30, 20, true);
  v.setUint16(32, 0x000b, true);
  v.setUint16(34, 32, true);
  const head = new Uint8Array(32 + body.length);
  new DataView(head.buffer).setUint32(4, 3, true); // EV_NO_ACTION
  new DataView(head.buffer).setUint32(28, body.length, true);
  head.set(body, 32);
  return head;
}

describe('random bytes', () => {
  it('bare random bytes end in ParseError or a valid log (4,000 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => void survive(b)), { numRuns: 4000 });
  });

  it('random TCG_PCR_EVENT2 streams after a valid Spec ID header (3,000 cases)', () => {
    const head = specIdHeader();
    expect(survive(head)).toBe('ok');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (tail) => {
        const b = new Uint8Array(head.length + tail.length);
        b.set(head);
        b.set(tail, head.length);
        survive(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('a 3 GB event size is a clean ParseError', () => {
    const b = new Uint8Array(32);
    new DataView(b.buffer).setUint32(4, 8, true);
    new DataView(b.buffer).setUint32(28, 0xc0000000, true);
    expect(() => parseEventLog(b)).toThrow(ParseError);
    expect(() => parseEventLog(b)).toThrow(/TCG_PCR_EVENT\.event at offset 32: needs 3221225472 bytes/);
  });

  it('an empty input is a ParseError', () => {
    expect(() => parseEventLog(new Uint8Array())).toThrow(ParseError);
  });
});

interface Boundaries {
  /** Offsets where a field starts (truncation points). */
  cuts: number[];
  /** Offsets of u32 length/count fields (event sizes, digest counts). */
  u32Fields: number[];
  /** Offsets of u64 lengths inside event data (UEFI_VARIABLE_DATA, UEFI_IMAGE_LOAD_EVENT). */
  u64Fields: number[];
  /** Offset of the Spec ID vendorInfoSize byte, if any. */
  vendorInfoSize?: number;
}

function boundariesOf(bytes: Uint8Array): Boundaries {
  const log = parseEventLog(bytes);
  const cuts = new Set<number>();
  const u32Fields: number[] = [];
  const u64Fields: number[] = [];
  for (const e of log.events) {
    const dataAt = e.data.byteOffset - bytes.byteOffset;
    for (const o of [e.offset, e.offset + 4, e.offset + 8, e.offset + 10, e.offset + 12, dataAt - 4, dataAt, dataAt + 16, dataAt + e.data.length - 1]) cuts.add(o);
    u32Fields.push(dataAt - 4);
    if (log.format === 'crypto-agile' && e.index > 0) u32Fields.push(e.offset + 8);
    if (e.decoded.kind === 'efi_variable') u64Fields.push(dataAt + 16, dataAt + 24);
    if (e.decoded.kind === 'image_load') u64Fields.push(dataAt + 24);
  }
  const out: Boundaries = { cuts: [...cuts].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), u32Fields, u64Fields };
  if (log.specId) out.vendorInfoSize = 32 + 16 + 12 + log.specId.algorithms.length * 4;
  return out;
}

describe.skipIf(!have)('mutations of real logs', () => {
  const names = [
    'go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin',
    'go-tpm-tools/internal/test/eventlogs/debian-10.bin',
    'tpm2-tools/test/integration/fixtures/event-sd-boot-fedora37.bin',
    'tpm2-tools/test/integration/fixtures/event-uefivar.bin',
    'tpm2-tools/test/integration/fixtures/specid-vendordata.bin',
  ];
  const logs = have ? names.map((n) => ({ name: n, bytes: readFixture(n), b: boundariesOf(readFixture(n)) })) : [];

  it('truncation at every structural boundary (and one byte either side) is a ParseError', () => {
    let cases = 0;
    for (const { bytes, b } of logs) {
      for (const cut of b.cuts) {
        for (const at of [cut - 1, cut, cut + 1]) {
          if (at <= 0 || at >= bytes.length) continue;
          // Prefixes hold nothing new for replay: parse only (a cut between events is a valid shorter log).
          const outcome = survive(bytes.slice(0, at), false, true);
          if (outcome === 'ok') expect(b.cuts.includes(at) || at === bytes.length).toBe(true);
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('bit flips anywhere (3,000 cases)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: logs.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 4 }), (li, pos, bit, flips) => {
        const { bytes } = logs[li]!;
        const m = bytes.slice();
        for (let k = 0; k < flips; k++) {
          const p = (pos + k * 7919) % m.length;
          m[p] = (m[p] ?? 0) ^ (1 << ((bit + k) % 8));
        }
        survive(m);
      }),
      { numRuns: 3000 },
    );
  });

  it('event sizes, digest counts and inner u64 lengths set to huge values (2,000 cases)', () => {
    const huge = fc.constantFrom(0xc0000000, 0xffffffff, 0x7fffffff, 0x10000, 0xffff, 1 << 24);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: logs.length - 1 }), fc.nat(), huge, fc.boolean(), (li, pick, value, inner) => {
        const { bytes, b } = logs[li]!;
        const m = bytes.slice();
        const v = new DataView(m.buffer);
        if (inner && b.u64Fields.length > 0) {
          const at = b.u64Fields[pick % b.u64Fields.length]!;
          v.setBigUint64(at, BigInt(value) << 8n, true);
        } else {
          const at = b.u32Fields[pick % b.u32Fields.length]!;
          v.setUint32(at, value, true);
        }
        expect(survive(m)).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('vendorInfoSize set to every value does not read past the input', () => {
    for (const { bytes, b } of logs) {
      if (b.vendorInfoSize === undefined) continue;
      for (let size = 0; size <= 255; size++) {
        const m = bytes.slice();
        m[b.vendorInfoSize] = size;
        survive(m);
      }
    }
  });

  it('random splices of real-log bytes (1,000 cases)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: logs.length - 1 }), fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 64 }), (li, a, len, insert) => {
        const { bytes } = logs[li]!;
        const start = a % bytes.length;
        const end = Math.min(bytes.length, start + (len % 128));
        const m = new Uint8Array(bytes.length - (end - start) + insert.length);
        m.set(bytes.subarray(0, start));
        m.set(insert, start);
        m.set(bytes.subarray(end), start + insert.length);
        survive(m);
      }),
      { numRuns: 1000 },
    );
  });
});
