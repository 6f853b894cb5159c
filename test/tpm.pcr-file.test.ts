import { describe, expect, it } from 'vitest';
import {
  type PcrBanks,
  type TPML_PCR_SELECTION,
  encodePcrSelectionList,
  parsePcrFile,
  parsePcrMarshaled,
  parsePcrSerialized,
  parsePcrValues,
  pcrBanksFromJson,
  pcrBanksToJson,
} from '../src/tpm/index.ts';
import { ByteWriter } from '../src/util/bytes.ts';
import { ParseError } from '../src/util/errors.ts';
import { fakePcrs } from './helpers/tpm-fixtures.ts';

const sel: TPML_PCR_SELECTION = [
  { hash: 'sha1', pcrs: [0, 1], sizeofSelect: 3 },
  { hash: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 16, 23], sizeofSelect: 3 },
];
const values = fakePcrs({ sha1: [0, 1], sha256: [0, 1, 2, 3, 4, 5, 6, 7, 16, 23] });
const flat = (): Uint8Array[] => sel.flatMap((s) => s.pcrs.map((p) => values[s.hash]!.get(p)!));

/** The layout tpm2-tools writes with -F serialized (little-endian TSS structs), built independently here. */
function serialized(digests: Uint8Array[], selection = sel): Uint8Array {
  const w = new ByteWriter('le');
  w.u32(selection.length);
  for (let i = 0; i < 16; i++) {
    const s = selection[i];
    if (!s) {
      w.bytes(new Uint8Array(8));
      continue;
    }
    const bm = new Uint8Array(4);
    for (const p of s.pcrs) bm[p >> 3]! |= 1 << (p & 7);
    w.u16({ sha1: 4, sha256: 11, sha384: 12, sha512: 13 }[s.hash]).u8(3).bytes(bm).u8(0xcc /* padding is garbage */);
  }
  const lists = Math.ceil(digests.length / 8);
  w.u32(lists);
  for (let l = 0; l < lists; l++) {
    const chunk = digests.slice(l * 8, l * 8 + 8);
    w.u32(chunk.length);
    for (let d = 0; d < 8; d++) {
      const v = chunk[d] ?? new Uint8Array();
      const buf = new Uint8Array(64);
      buf.set(v);
      w.u16(v.length).bytes(buf);
    }
  }
  return w.finish();
}

function marshaled(digests: Uint8Array[]): Uint8Array {
  const w = new ByteWriter().bytes(encodePcrSelectionList(sel));
  const lists = Math.ceil(digests.length / 8);
  w.u32(lists);
  for (let l = 0; l < lists; l++) {
    const chunk = digests.slice(l * 8, l * 8 + 8);
    w.u32(chunk.length);
    for (const d of chunk) w.tpm2b(d);
  }
  return w.finish();
}

describe('tpm2-tools PCR files', () => {
  it('serialized: 132-byte selection, u32 count, 532-byte TPML_DIGESTs; values in selection order', () => {
    const bytes = serialized(flat());
    expect(bytes.length).toBe(132 + 4 + 2 * 532);
    expect(pcrBanksToJson(parsePcrSerialized(bytes))).toEqual(pcrBanksToJson(values));
    expect(parsePcrFile(bytes).format).toBe('serialized');
  });

  it('marshaled and values formats', () => {
    expect(pcrBanksToJson(parsePcrMarshaled(marshaled(flat())))).toEqual(pcrBanksToJson(values));
    const raw = Uint8Array.from(flat().flatMap((d) => [...d]));
    expect(pcrBanksToJson(parsePcrValues(raw, sel))).toEqual(pcrBanksToJson(values));
    expect(parsePcrFile(raw, sel).format).toBe('values');
    expect(parsePcrFile(marshaled(flat()), sel).format).toBe('marshaled');
  });

  it('JSON: {"sha256": {"0": hex}} both ways; refuses bad banks, indices and lengths', () => {
    const json = pcrBanksToJson(values);
    expect(json.sha1?.['1']).toMatch(/^[0-9a-f]{40}$/);
    expect(pcrBanksToJson(parsePcrFile(new TextEncoder().encode(` \n${JSON.stringify(json)}`)).values)).toEqual(json);
    expect(() => pcrBanksFromJson({ md5: { '0': '00' } })).toThrow(/unknown PCR bank/);
    expect(() => pcrBanksFromJson({ sha256: { '-1': '00'.repeat(32) } })).toThrow(/PCR index/);
    expect(() => pcrBanksFromJson({ sha256: { '01': '00'.repeat(32) } })).toThrow(/PCR index/);
    expect(() => pcrBanksFromJson({ sha256: { '0': '00'.repeat(20) } })).toThrow(/32 bytes/);
    expect(() => pcrBanksFromJson({ sha256: { '0': 'zz'.repeat(32) } })).toThrow(ParseError);
    expect(() => pcrBanksFromJson([1, 2])).toThrow(ParseError);
    expect(() => parsePcrFile(new TextEncoder().encode('{"sha256": '))).toThrow(/not valid JSON/);
  });

  it('refuses files that do not fit: wrong value count or size, truncation, garbage', () => {
    const short = flat().slice(0, -1);
    expect(() => parsePcrSerialized(serialized(short))).toThrow(/11 PCR values for a selection of 12/);
    const wrongSize = flat();
    wrongSize[0] = new Uint8Array(32);
    expect(() => parsePcrSerialized(serialized(wrongSize))).toThrow(/PCR 0 value is 32 bytes, a sha1 PCR has 20/);
    const ok = serialized(flat());
    expect(() => parsePcrSerialized(ok.subarray(0, ok.length - 1))).toThrow(ParseError);
    expect(() => parsePcrValues(new Uint8Array(10), sel)).toThrow(/needs 360/);
    expect(() => parsePcrFile(new Uint8Array(10), sel)).toThrow(/not a PCR file/);
    expect(() => parsePcrFile(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(ParseError);
    const hugeLists = marshaled(flat());
    const at = encodePcrSelectionList(sel).length;
    hugeLists.set([0xff, 0xff, 0xff, 0xff], at);
    expect(() => parsePcrMarshaled(hugeLists)).toThrow(/cannot fit/);
  });

  it('a PcrBanks map survives JSON round trip exactly', () => {
    const b: PcrBanks = fakePcrs({ sha384: [0, 23], sha512: [7] }, 3);
    expect(pcrBanksFromJson(JSON.parse(JSON.stringify(pcrBanksToJson(b))))).toEqual(b);
  });
});
