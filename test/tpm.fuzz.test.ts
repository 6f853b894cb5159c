/** Hostile bytes: only ParseError may escape the TPM parsers, never another exception or a hang. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TPM_ALG,
  TPM_ECC_CURVE,
  encodePcrSelectionList,
  encodeTpm2bPublic,
  parsePcrFile,
  parsePcrSelectionList,
  parsePublic,
  publicKeyFromTpmt,
  parseTpmsAttest,
  parseTpmtSignature,
  verifyQuote,
} from '../src/tpm/index.ts';
import { ParseError } from '../src/util/errors.ts';
import { fakePcrs, haveGce, loadGce, makeQuote, softEccAk, softRsaAk, softSign } from './helpers/tpm-fixtures.ts';

const RUNS = 10_000;

/** Mutations of a seed: truncation, bit flips, a u16 size field set to 0xffff/0/random, inserted and deleted bytes. */
function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    seed.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
    seed.chain((s) =>
      fc.array(fc.tuple(fc.nat(Math.max(0, s.length - 1)), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const b = s.slice();
        for (const [at, bit] of flips) if (b.length) b[at]! ^= 1 << bit;
        return b;
      }),
    ),
    seed.chain((s) =>
      fc.tuple(fc.nat(Math.max(0, s.length - 2)), fc.constantFrom(0xffff, 0x0000, 0x8000, 0x0101), fc.integer({ min: 0, max: 0xffff })).map(([at, v, r]) => {
        const b = s.slice();
        const val = v === 0x0101 ? r : v;
        if (b.length >= 2) {
          b[at] = val >> 8;
          b[at + 1] = val & 0xff;
        }
        return b;
      }),
    ),
    seed.chain((s) =>
      fc.tuple(fc.nat(s.length), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, ins]) => Uint8Array.from([...s.subarray(0, at), ...ins, ...s.subarray(at)])),
    ),
    seed.chain((s) => fc.tuple(fc.nat(s.length), fc.integer({ min: 1, max: 8 })).map(([at, n]) => Uint8Array.from([...s.subarray(0, at), ...s.subarray(at + n)]))),
  );
}

const hostile = (seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> => fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated(seeds), mutated(seeds));

function onlyParseError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
  }
}

// Seeds: real GCE structures when the fixtures are present, plus software-made ones of every kind.
const rsa = softRsaAk(TPM_ALG.RSASSA);
const ecc = softEccAk(TPM_ECC_CURVE.NIST_P384, TPM_ALG.NULL);
const selection = [
  { hash: 'sha1' as const, pcrs: [0, 1, 2], sizeofSelect: 3 },
  { hash: 'sha256' as const, pcrs: [0, 7, 23], sizeofSelect: 3 },
];
const pcrs = fakePcrs({ sha1: [0, 1, 2], sha256: [0, 7, 23] });
const quote = makeQuote({ extraData: new Uint8Array(32).fill(1), selection, pcrs, hash: 'sha256' }).bytes;
const sigRsa = softSign(rsa, 'rsassa', 'sha256', quote);
const sigEcc = softSign(ecc, 'ecdsa', 'sha384', quote);
const gce = haveGce ? loadGce() : undefined;
const attestSeeds = [quote, ...(gce?.quotes.map((q) => q.attest) ?? [])];
const sigSeeds = [sigRsa, sigEcc, ...(gce?.quotes.map((q) => q.signature) ?? [])];
const { bytes: _r, ...rsaFields } = rsa.pub;
const { bytes: _e, ...eccFields } = ecc.pub;
const publicSeeds = [encodeTpm2bPublic(rsaFields), encodeTpm2bPublic(eccFields), ...(gce ? [gce.akBytes] : [])];
const selectionSeeds = [encodePcrSelectionList(selection), encodePcrSelectionList([{ hash: 'sha384', pcrs: [...Array(24).keys()], sizeofSelect: 3 }])];

describe('fuzz: hostile bytes only ever raise ParseError', () => {
  it(`TPMS_ATTEST (${RUNS} cases)`, () => {
    fc.assert(fc.property(hostile(attestSeeds), (b) => onlyParseError(() => parseTpmsAttest(b))), { numRuns: RUNS });
  });

  it(`TPMT_SIGNATURE (${RUNS} cases)`, () => {
    fc.assert(fc.property(hostile(sigSeeds), (b) => onlyParseError(() => parseTpmtSignature(b))), { numRuns: RUNS });
  });

  it(`TPM2B_PUBLIC / TPMT_PUBLIC (${RUNS} cases)`, () => {
    // A public area that parses must also give a key or a ParseError (bad point, short modulus, unknown curve).
    fc.assert(fc.property(hostile(publicSeeds), (b) => onlyParseError(() => publicKeyFromTpmt(parsePublic(b)))), { numRuns: RUNS });
  });

  it(`TPML_PCR_SELECTION (${RUNS} cases)`, () => {
    fc.assert(fc.property(hostile(selectionSeeds), (b) => onlyParseError(() => parsePcrSelectionList(b))), { numRuns: RUNS });
  });

  it(`PCR files in every format (${RUNS} cases)`, () => {
    const values = Uint8Array.from(selection.flatMap((s) => s.pcrs.flatMap((p) => [...pcrs[s.hash]!.get(p)!])));
    const json = new TextEncoder().encode(JSON.stringify({ sha256: { '0': '00'.repeat(32) } }));
    fc.assert(
      fc.property(hostile([values, json, selectionSeeds[0]!]), (b) => onlyParseError(() => parsePcrFile(b, selection))),
      { numRuns: RUNS },
    );
  });

  it('verifyQuote over mutated quotes and signatures: ParseError or a verdict, and never ok', () => {
    fc.assert(
      fc.property(mutated([quote]), mutated([sigRsa]), (q, s) => {
        try {
          const r = verifyQuote({ akPub: rsa.pub, quote: q, signature: s, expectedExtraData: new Uint8Array(32).fill(1), pcrValues: pcrs });
          // A mutation that leaves both inputs intact is the only way to pass.
          if (r.ok) expect(Buffer.compare(q, quote) === 0 && Buffer.compare(s, sigRsa) === 0).toBe(true);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
