/** TCG_EfiSpecIdEvent: the header event of a crypto-agile log, declaring its digest algorithms. */
import { ByteReader } from '../util/bytes.ts';
import { DIGEST_SIZE, hashAlgFromId } from '../tpm/alg.ts';
import type { SpecIdEvent } from './types.ts';

const SPEC_ID_03 = 'Spec ID Event03\0';
const SPEC_ID_00 = 'Spec ID Event00\0';

function hasSignature(data: Uint8Array, sig: string): boolean {
  if (data.length < 16) return false;
  for (let i = 0; i < 16; i++) if (data[i] !== sig.charCodeAt(i)) return false;
  return true;
}

/** The first event of a crypto-agile log carries this signature (PC Client PFP, TCG_EfiSpecIdEvent). */
export function isSpecIdEvent03(data: Uint8Array): boolean {
  return hasSignature(data, SPEC_ID_03);
}

/** TPM 1.2-era TCG_EfiSpecIdEventStruct: the log stays in the SHA-1 TCG_PCR_EVENT format. */
export function isSpecIdEvent00(data: Uint8Array): boolean {
  return hasSignature(data, SPEC_ID_00);
}

export interface ParsedSpecId {
  specId: Omit<SpecIdEvent, 'vendorInfo'>;
  /** vendorInfo bytes found inside EventSize. */
  vendorInfoInside: Uint8Array;
  /** vendorInfoSize minus the bytes EventSize left for it (> 0 only for the vendorInfo-outside-EventSize quirk). */
  vendorInfoMissing: number;
}

/**
 * Parses the event data of the Spec ID event. `baseOffset` is the data's offset in the log.
 * Every declared algorithm keeps its digestSize so unknown algorithms can be skipped later.
 */
export function parseSpecIdData(data: Uint8Array, baseOffset: number): ParsedSpecId {
  const r = new ByteReader(data, 'TCG_EfiSpecIdEvent', 'le', baseOffset);
  r.skip(16, 'signature');
  const platformClass = r.u32('platformClass');
  const minor = r.u8('specVersionMinor');
  const major = r.u8('specVersionMajor');
  const errata = r.u8('specErrata');
  const uintnSize = r.u8('uintnSize');
  const count = r.u32('numberOfAlgorithms');
  if (count === 0) r.fail('numberOfAlgorithms', 'a crypto-agile log must declare at least one algorithm', r.offset - 4);
  r.need(count * 4, 'digestSizes');
  const algorithms: SpecIdEvent['algorithms'] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const algorithmId = r.u16(`digestSizes[${i}].algorithmId`);
    const digestSize = r.u16(`digestSizes[${i}].digestSize`);
    if (seen.has(algorithmId)) r.fail(`digestSizes[${i}].algorithmId`, `algorithm 0x${algorithmId.toString(16)} declared twice`, r.offset - 4);
    seen.add(algorithmId);
    const hashAlg = hashAlgFromId(algorithmId);
    if (hashAlg !== undefined && DIGEST_SIZE[hashAlg] !== digestSize) {
      r.fail(`digestSizes[${i}].digestSize`, `${hashAlg} digests are ${DIGEST_SIZE[hashAlg]} bytes, header says ${digestSize}`, r.offset - 2);
    }
    algorithms.push(hashAlg === undefined ? { algorithmId, digestSize } : { algorithmId, digestSize, hashAlg });
  }
  const vendorInfoSize = r.u8('vendorInfoSize');
  const inside = Math.min(vendorInfoSize, r.remaining);
  const vendorInfoInside = r.bytesView(inside, 'vendorInfo');
  // Bytes after vendorInfo inside EventSize are tolerated (the size field is authoritative for the walk).
  return {
    specId: { platformClass, specVersion: { major, minor, errata }, uintnSize, algorithms },
    vendorInfoInside,
    vendorInfoMissing: vendorInfoSize - inside,
  };
}
