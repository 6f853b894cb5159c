/**
 * PCR value files: bootgate's JSON (`{"sha256": {"0": hex}}`) and what `tpm2_quote -o` / `tpm2_pcrread -o` write.
 *
 * tpm2-tools formats (checked against files tpm2_quote wrote against swtpm):
 * - `-F serialized` (the default): the in-memory TSS structs, little-endian. A TPML_PCR_SELECTION
 *   (u32 count, then 16 TPMS_PCR_SELECTION slots of 8 bytes: u16 hash, u8 sizeofSelect, u8[4] pcrSelect,
 *   1 pad byte) = 132 bytes; a u32 count of TPML_DIGEST; then that many TPML_DIGEST structs of 532 bytes
 *   (u32 count, 8 × TPM2B_DIGEST of u16 size + 64-byte buffer). The digests follow the selection order.
 * - `-F marshaled`: TPML_PCR_SELECTION marshaled (big-endian), u32 count, that many marshaled TPML_DIGEST.
 * - `-F values`: the raw PCR values concatenated in selection order; the quote's selection says how to split them.
 */
import { z } from 'zod';
import { ByteReader } from '../util/bytes.ts';
import { fromHex, toHex } from '../util/encoding.ts';
import { ParseError } from '../util/errors.ts';
import { DIGEST_SIZE, type HashAlg, type PcrBanks, hashAlgFromId, isHashAlg } from './alg.ts';
import { algName } from './alg-names.ts';
import { type TPML_PCR_SELECTION, readPcrSelectionList } from './pcr-selection.ts';

export type PcrFileFormat = 'json' | 'serialized' | 'marshaled' | 'values';

const SERIALIZED_SELECTION_BYTES = 4 + 16 * 8;
const SERIALIZED_TPML_DIGEST_BYTES = 4 + 8 * (2 + 64);
/** Highest PCR index accepted anywhere (PCR_SELECT_MAX bytes of bitmap). */
const MAX_PCR_INDEX = 255;

const PcrJsonSchema = z.record(z.string(), z.record(z.string(), z.string()));

/** Assigns a flat list of digests to a selection, bank by bank as listed, PCR index ascending. */
function assignInSelectionOrder(sel: TPML_PCR_SELECTION, digests: Uint8Array[], structure: string): PcrBanks {
  const total = sel.reduce((n, s) => n + s.pcrs.length, 0);
  if (digests.length !== total) {
    throw new ParseError(structure, 'digests', 0, `${digests.length} PCR values for a selection of ${total} PCRs`);
  }
  const out: PcrBanks = {};
  let i = 0;
  for (const s of sel) {
    const bank = out[s.hash] ?? new Map<number, Uint8Array>();
    out[s.hash] = bank;
    for (const pcr of [...s.pcrs].sort((a, b) => a - b)) {
      const d = digests[i++] as Uint8Array;
      if (d.length !== DIGEST_SIZE[s.hash]) {
        throw new ParseError(structure, `digests[${i - 1}]`, 0, `PCR ${pcr} value is ${d.length} bytes, a ${s.hash} PCR has ${DIGEST_SIZE[s.hash]}`);
      }
      bank.set(pcr, d);
    }
  }
  return out;
}

/** `tpm2_quote -o` default (serialized) output. */
export function parsePcrSerialized(bytes: Uint8Array): PcrBanks {
  const S = 'tpm2_pcrs(serialized)';
  const r = new ByteReader(bytes, S, 'le');
  const count = r.u32('pcrSelection.count');
  if (count > 16) r.fail('pcrSelection.count', `${count} banks exceeds the 16 slots of the structure`, 0);
  const sel: TPML_PCR_SELECTION = [];
  for (let i = 0; i < 16; i++) {
    const slot = r.sub(8, `pcrSelections[${i}]`);
    if (i >= count) continue;
    const hashId = slot.u16(`pcrSelections[${i}].hash`);
    const hash = hashAlgFromId(hashId) ?? slot.fail(`pcrSelections[${i}].hash`, `unsupported PCR bank ${algName(hashId)}`, 0);
    if (sel.some((s) => s.hash === hash)) slot.fail(`pcrSelections[${i}].hash`, `bank ${hash} listed twice`, 0);
    const sizeofSelect = slot.u8(`pcrSelections[${i}].sizeofSelect`);
    if (sizeofSelect > 4) slot.fail(`pcrSelections[${i}].sizeofSelect`, `sizeofSelect ${sizeofSelect} exceeds 4`, 2);
    const bitmap = slot.bytesView(sizeofSelect, `pcrSelections[${i}].pcrSelect`);
    const pcrs: number[] = [];
    bitmap.forEach((b, byte) => {
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) pcrs.push(byte * 8 + bit);
    });
    sel.push({ hash, pcrs, sizeofSelect: Math.max(sizeofSelect, 3) });
  }
  const lists = r.u32('pcrs.count');
  if (lists * SERIALIZED_TPML_DIGEST_BYTES !== r.remaining) {
    r.fail('pcrs.count', `${lists} TPML_DIGEST need ${lists * SERIALIZED_TPML_DIGEST_BYTES} bytes, ${r.remaining} remain`, r.offset - 4);
  }
  const digests: Uint8Array[] = [];
  for (let l = 0; l < lists; l++) {
    const list = r.sub(SERIALIZED_TPML_DIGEST_BYTES, `pcr_values[${l}]`);
    const n = list.u32(`pcr_values[${l}].count`);
    if (n > 8) list.fail(`pcr_values[${l}].count`, `${n} digests exceeds 8`, 0);
    for (let d = 0; d < 8; d++) {
      const size = list.u16(`pcr_values[${l}].digests[${d}].size`);
      if (size > 64) list.fail(`pcr_values[${l}].digests[${d}].size`, `size ${size} exceeds 64`, list.offset - 2);
      const buf = list.bytesView(64, `pcr_values[${l}].digests[${d}].buffer`);
      if (d < n) digests.push(new Uint8Array(buf.subarray(0, size)));
    }
  }
  return assignInSelectionOrder(sel, digests, S);
}

/** `-F marshaled`: TSS-marshaled TPML_PCR_SELECTION, u32 count, TPML_DIGEST[count] (big-endian). */
export function parsePcrMarshaled(bytes: Uint8Array): PcrBanks {
  const S = 'tpm2_pcrs(marshaled)';
  const r = new ByteReader(bytes, S);
  const sel = readPcrSelectionList(r, 'pcrSelection');
  const lists = r.u32('pcrs.count');
  // Each TPML_DIGEST is at least 4 bytes: bounds the loop by the input.
  if (lists * 4 > r.remaining) r.fail('pcrs.count', `${lists} TPML_DIGEST cannot fit in ${r.remaining} bytes`, r.offset - 4);
  const digests: Uint8Array[] = [];
  for (let l = 0; l < lists; l++) {
    const n = r.u32(`pcr_values[${l}].count`);
    if (n > 8) r.fail(`pcr_values[${l}].count`, `${n} digests exceeds 8`, r.offset - 4);
    for (let d = 0; d < n; d++) digests.push(new Uint8Array(r.tpm2b(`pcr_values[${l}].digests[${d}]`, 64)));
  }
  r.expectEnd();
  return assignInSelectionOrder(sel, digests, S);
}

/** `-F values`: concatenated values, split by the quote's selection. */
export function parsePcrValues(bytes: Uint8Array, selection: TPML_PCR_SELECTION): PcrBanks {
  const S = 'tpm2_pcrs(values)';
  const expected = selection.reduce((n, s) => n + s.pcrs.length * DIGEST_SIZE[s.hash], 0);
  if (bytes.length !== expected) {
    throw new ParseError(S, 'values', 0, `${bytes.length} bytes, but the quoted selection needs ${expected}`);
  }
  const r = new ByteReader(bytes, S);
  const digests: Uint8Array[] = [];
  for (const s of selection) for (let i = 0; i < s.pcrs.length; i++) digests.push(new Uint8Array(r.bytesView(DIGEST_SIZE[s.hash], `${s.hash}`)));
  return assignInSelectionOrder(selection, digests, S);
}

/** `{"sha256": {"0": "hex", ...}, ...}` (the contract's pcrs object). */
export function pcrBanksFromJson(value: unknown, structure = 'pcrs'): PcrBanks {
  const parsed = PcrJsonSchema.safeParse(value);
  if (!parsed.success) throw new ParseError(structure, '', 0, 'expected {"<bank>": {"<pcr>": "<hex>"}}');
  const out: PcrBanks = {};
  for (const [bank, pcrs] of Object.entries(parsed.data)) {
    if (!isHashAlg(bank)) throw new ParseError(structure, bank, 0, `unknown PCR bank "${bank}" (sha1, sha256, sha384, sha512)`);
    const m = new Map<number, Uint8Array>();
    for (const [idx, hex] of Object.entries(pcrs)) {
      if (!/^(0|[1-9]\d{0,2})$/.test(idx) || Number(idx) > MAX_PCR_INDEX) throw new ParseError(structure, `${bank}.${idx}`, 0, 'PCR index must be 0..255');
      const v = fromHex(hex);
      if (v === null || v.length !== DIGEST_SIZE[bank]) {
        throw new ParseError(structure, `${bank}.${idx}`, 0, `expected ${DIGEST_SIZE[bank]} bytes of hex for a ${bank} PCR`);
      }
      m.set(Number(idx), v);
    }
    out[bank] = m;
  }
  return out;
}

export function pcrBanksToJson(banks: PcrBanks): Partial<Record<HashAlg, Record<string, string>>> {
  const out: Partial<Record<HashAlg, Record<string, string>>> = {};
  for (const [bank, m] of Object.entries(banks) as [HashAlg, Map<number, Uint8Array>][]) {
    const o: Record<string, string> = {};
    for (const pcr of [...m.keys()].sort((a, b) => a - b)) o[String(pcr)] = toHex(m.get(pcr) as Uint8Array);
    out[bank] = o;
  }
  return out;
}

/**
 * Any PCR file bootgate accepts, format detected from the bytes. `selection` (the quote's) is needed
 * only for the `values` format. Throws ParseError when nothing fits.
 */
export function parsePcrFile(bytes: Uint8Array, selection?: TPML_PCR_SELECTION): { format: PcrFileFormat; values: PcrBanks } {
  let firstByte = 0;
  while (firstByte < bytes.length && [0x20, 0x09, 0x0a, 0x0d, 0xef, 0xbb, 0xbf].includes(bytes[firstByte] ?? 0)) firstByte++;
  if (bytes[firstByte] === 0x7b /* { */) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      throw new ParseError('pcrs(json)', '', 0, `not valid JSON: ${(err as Error).message}`);
    }
    return { format: 'json', values: pcrBanksFromJson(json, 'pcrs(json)') };
  }
  const attempts: { format: PcrFileFormat; parse: () => PcrBanks }[] = [];
  if (bytes.length >= SERIALIZED_SELECTION_BYTES + 4 && (bytes.length - SERIALIZED_SELECTION_BYTES - 4) % SERIALIZED_TPML_DIGEST_BYTES === 0) {
    attempts.push({ format: 'serialized', parse: () => parsePcrSerialized(bytes) });
  }
  if (selection !== undefined) attempts.push({ format: 'values', parse: () => parsePcrValues(bytes, selection) });
  attempts.push({ format: 'marshaled', parse: () => parsePcrMarshaled(bytes) });
  const errors: string[] = [];
  for (const a of attempts) {
    try {
      return { format: a.format, values: a.parse() };
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(`${a.format}: ${err.message}`);
    }
  }
  throw new ParseError('pcrs', '', 0, `not a PCR file bootgate understands (JSON, tpm2-tools serialized, marshaled or values): ${errors.join('; ')}`);
}
