/** EFI_SIGNATURE_LIST / EFI_SIGNATURE_DATA (UEFI spec, Secure Boot databases PK, KEK, db, dbx). */
import { ByteReader } from '../../util/bytes.ts';
import type { EfiSignatureList } from '../types.ts';
import { GUID, SIGNATURE_TYPE_NAMES, guidToString, readGuid } from './guid.ts';
import { certInfo } from './x509-info.ts';

const LIST_HEADER_SIZE = 28; // SignatureType GUID + three u32 sizes

/** The whole variable content: a sequence of EFI_SIGNATURE_LISTs. */
export function parseSignatureLists(data: Uint8Array, baseOffset: number): EfiSignatureList[] {
  const r = new ByteReader(data, 'EFI_SIGNATURE_LIST', 'le', baseOffset);
  const lists: EfiSignatureList[] = [];
  while (r.remaining > 0) {
    const listAt = r.offset;
    const signatureType = readGuid(r, 'SignatureType');
    const listSize = r.u32('SignatureListSize');
    const headerSize = r.u32('SignatureHeaderSize');
    const sigSize = r.u32('SignatureSize');
    if (listSize < LIST_HEADER_SIZE) r.fail('SignatureListSize', `${listSize} is smaller than the ${LIST_HEADER_SIZE}-byte header`, listAt + 16);
    r.need(listSize - LIST_HEADER_SIZE, 'SignatureListSize');
    if (sigSize < 16) r.fail('SignatureSize', `${sigSize} cannot hold the 16-byte SignatureOwner`, listAt + 24);
    const body = listSize - LIST_HEADER_SIZE;
    if (headerSize > body) r.fail('SignatureHeaderSize', `${headerSize} exceeds the list body of ${body}`, listAt + 20);
    r.skip(headerSize, 'SignatureHeader');
    const sigBytes = body - headerSize;
    if (sigBytes % sigSize !== 0) r.fail('SignatureSize', `list body of ${sigBytes} bytes is not a multiple of ${sigSize}`, listAt + 24);
    const name = SIGNATURE_TYPE_NAMES.get(signatureType) ?? 'unknown';
    const signatures: EfiSignatureList['signatures'] = [];
    // The signatures fill the list body, whose length was checked above: read them as views
    // directly (dbx holds hundreds; a checked read per field would only repeat that check).
    const body0 = r.offset;
    r.skip(sigBytes, 'Signatures');
    // Entries of one list mostly share their owner (dbx: hundreds of one vendor's): reuse its text.
    let prevAt = -1;
    let prevOwner = '';
    for (let at = body0; at < body0 + sigBytes; at += sigSize) {
      const owner = prevAt >= 0 && sameGuid(data, prevAt, at) ? prevOwner : guidToString(data, at);
      prevAt = at;
      prevOwner = owner;
      const sigData = data.subarray(at + 16, at + sigSize);
      signatures.push(signatureType === GUID.EFI_CERT_X509 ? { owner, data: sigData, ...certInfo(sigData) } : { owner, data: sigData });
    }
    lists.push({ signatureType, signatureTypeName: name, signatures });
  }
  return lists;
}

function sameGuid(b: Uint8Array, x: number, y: number): boolean {
  for (let i = 0; i < 16; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

/**
 * The VariableData of an EV_EFI_VARIABLE_AUTHORITY event. Firmware logs the EFI_SIGNATURE_DATA
 * (owner GUID + certificate or hash) of the db entry that verified an image; shim logs its
 * vendor certificate (and db certificates it matched itself) as a bare DER certificate, for
 * which `owner` is the empty string.
 */
export function parseSignatureData(data: Uint8Array): { owner: string; data: Uint8Array; certSha256?: string; subject?: string } | null {
  if (derElementLength(data) === data.length) return { owner: '', data, ...certInfo(data) };
  if (data.length <= 16) return null;
  const owner = guidToString(data, 0);
  const payload = data.subarray(16);
  const derLen = derElementLength(payload);
  if (derLen === null || derLen > payload.length) return { owner, data: payload };
  return { owner, data: payload, ...certInfo(payload.subarray(0, derLen)) };
}

/** Length of the DER element at the start of `b` (from its header), or null if the header is not DER. */
export function derElementLength(b: Uint8Array): number | null {
  if (b.length < 2 || b[0] !== 0x30) return null;
  const l0 = b[1] ?? 0;
  if (l0 < 0x80) return 2 + l0;
  const n = l0 & 0x7f;
  if (n === 0 || n > 3 || b.length < 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (b[2 + i] ?? 0);
  return 2 + n + len;
}
