/** TPMS_PCR_SELECTION / TPML_PCR_SELECTION (TPM 2.0 Part 2, 10.6.2 and 10.9.7). */
import { ByteReader, ByteWriter } from '../util/bytes.ts';
import { type HashAlg, hashAlgFromId, hashAlgId } from './alg.ts';
import { algName } from './alg-names.ts';

export interface TPMS_PCR_SELECTION {
  hash: HashAlg;
  /** Selected PCR indices, ascending. */
  pcrs: number[];
  /** Bytes in the pcrSelect bitmap (>= 3, PCR_SELECT_MIN). Kept so encoding reproduces the input. */
  sizeofSelect: number;
}

export type TPML_PCR_SELECTION = TPMS_PCR_SELECTION[];

/** PCR_SELECT_MIN for PC Client TPMs (24 PCRs). */
export const PCR_SELECT_MIN = 3;
/** Bound on sizeofSelect: 256 PCRs is far beyond any TPM and keeps bitmaps small. */
export const PCR_SELECT_MAX = 32;
/** Bound on the bank count (HASH_COUNT): one entry per distinct hash algorithm bootgate knows. */
export const PCR_SELECTION_MAX_BANKS = 4;

export function readPcrSelectionList(r: ByteReader, field = 'pcrSelect'): TPML_PCR_SELECTION {
  const countAt = r.offset;
  const count = r.u32(`${field}.count`);
  if (count > PCR_SELECTION_MAX_BANKS) r.fail(`${field}.count`, `${count} banks exceeds ${PCR_SELECTION_MAX_BANKS}`, countAt);
  const out: TPML_PCR_SELECTION = [];
  for (let i = 0; i < count; i++) {
    const f = `${field}.pcrSelections[${i}]`;
    const hashAt = r.offset;
    const hashId = r.u16(`${f}.hash`);
    const hash = hashAlgFromId(hashId);
    if (hash === undefined) r.fail(`${f}.hash`, `unsupported PCR bank ${algName(hashId)}`, hashAt);
    if (out.some((s) => s.hash === hash)) r.fail(`${f}.hash`, `bank ${hash} selected twice`, hashAt);
    const sizeAt = r.offset;
    const sizeofSelect = r.u8(`${f}.sizeofSelect`);
    if (sizeofSelect < PCR_SELECT_MIN || sizeofSelect > PCR_SELECT_MAX) {
      r.fail(`${f}.sizeofSelect`, `sizeofSelect ${sizeofSelect} outside ${PCR_SELECT_MIN}..${PCR_SELECT_MAX}`, sizeAt);
    }
    const bitmap = r.bytesView(sizeofSelect, `${f}.pcrSelect`);
    const pcrs: number[] = [];
    for (let byte = 0; byte < bitmap.length; byte++) {
      const b = bitmap[byte] ?? 0;
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) pcrs.push(byte * 8 + bit);
    }
    out.push({ hash, pcrs, sizeofSelect });
  }
  return out;
}

export function writePcrSelectionList(w: ByteWriter, sel: TPML_PCR_SELECTION): void {
  w.u32(sel.length);
  for (const s of sel) {
    const maxPcr = s.pcrs.reduce((m, p) => Math.max(m, p), -1);
    if (maxPcr >= PCR_SELECT_MAX * 8) throw new RangeError(`PCR ${maxPcr} is beyond the ${PCR_SELECT_MAX * 8} PCRs a selection can hold`);
    const size = Math.max(s.sizeofSelect, PCR_SELECT_MIN, Math.floor(maxPcr / 8) + 1);
    const bitmap = new Uint8Array(size);
    for (const p of s.pcrs) {
      if (!Number.isInteger(p) || p < 0) throw new RangeError(`invalid PCR index ${p}`);
      bitmap[p >> 3] = (bitmap[p >> 3] ?? 0) | (1 << (p & 7));
    }
    w.u16(hashAlgId(s.hash)).u8(size).bytes(bitmap);
  }
}

export function parsePcrSelectionList(bytes: Uint8Array): TPML_PCR_SELECTION {
  const r = new ByteReader(bytes, 'TPML_PCR_SELECTION');
  const sel = readPcrSelectionList(r, 'pcrSelections');
  r.expectEnd();
  return sel;
}

export function encodePcrSelectionList(sel: TPML_PCR_SELECTION): Uint8Array {
  const w = new ByteWriter();
  writePcrSelectionList(w, sel);
  return w.finish();
}

/** "sha1:0,1+sha256:0,1" — the tpm2-tools spelling, for messages. */
export function formatPcrSelection(sel: readonly { hash: HashAlg; pcrs: readonly number[] }[]): string {
  return sel.map((s) => `${s.hash}:${s.pcrs.join(',')}`).join('+');
}
