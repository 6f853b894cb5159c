/**
 * The PCR file `tpm2_quote -o` writes and `tpm2_checkquote -f` reads in its default "serialized"
 * form: the TSS2 C structs dumped in host (little-endian) order. TPML_PCR_SELECTION is u32 count +
 * 16 TPMS_PCR_SELECTION slots of 8 bytes (u16 hash, u8 sizeofSelect, u8[4] pcrSelect, 1 pad byte);
 * then a u32 count of TPML_DIGEST structs, each u32 count + 8 TPM2B_DIGEST slots of 66 bytes
 * (u16 size, u8[64]). Values follow the selection order, at most 8 per TPML_DIGEST.
 * Layout checked against a file written by tpm2_quote 5.4 against swtpm.
 */
import { hashAlgId, type HashAlg, type PcrBanks } from '../src/tpm/alg.ts';

const SELECTION_SLOTS = 16;
const SELECTION_SLOT = 8;
const DIGEST_SLOTS = 8;
const DIGEST_SLOT = 66;

export function writeTpm2ToolsPcrs(selection: { hash: HashAlg; pcrs: number[] }[], values: PcrBanks): Uint8Array {
  if (selection.length > SELECTION_SLOTS) throw new RangeError('too many PCR banks');
  const ordered: Uint8Array[] = [];
  for (const { hash, pcrs } of selection) {
    for (const p of [...new Set(pcrs)].sort((a, b) => a - b)) {
      const v = values[hash]?.get(p);
      if (!v) throw new RangeError(`no ${hash} value for PCR ${p}`);
      ordered.push(v);
    }
  }
  const lists = Math.ceil(ordered.length / DIGEST_SLOTS);
  const size = 4 + SELECTION_SLOTS * SELECTION_SLOT + 4 + lists * (4 + DIGEST_SLOTS * DIGEST_SLOT);
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(selection.length, 0);
  selection.forEach(({ hash, pcrs }, i) => {
    const at = 4 + i * SELECTION_SLOT;
    buf.writeUInt16LE(hashAlgId(hash), at);
    buf.writeUInt8(3, at + 2);
    for (const p of pcrs) {
      if (p < 0 || p > 23) throw new RangeError(`PCR ${p} out of range`);
      buf[at + 3 + (p >> 3)] = (buf[at + 3 + (p >> 3)] ?? 0) | (1 << (p & 7));
    }
  });
  let at = 4 + SELECTION_SLOTS * SELECTION_SLOT;
  buf.writeUInt32LE(lists, at);
  at += 4;
  for (let l = 0; l < lists; l++) {
    const chunk = ordered.slice(l * DIGEST_SLOTS, (l + 1) * DIGEST_SLOTS);
    buf.writeUInt32LE(chunk.length, at);
    chunk.forEach((v, i) => {
      const slot = at + 4 + i * DIGEST_SLOT;
      buf.writeUInt16LE(v.length, slot);
      buf.set(v, slot + 2);
    });
    at += 4 + DIGEST_SLOTS * DIGEST_SLOT;
  }
  return new Uint8Array(buf);
}
