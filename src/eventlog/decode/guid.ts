/** EFI_GUID: mixed-endian (Data1 u32 LE, Data2/Data3 u16 LE, Data4 8 bytes as stored). */
import type { ByteReader } from '../../util/bytes.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Canonical lower-case text form of the 16 GUID bytes at `at`. Caller guarantees the length. */
export function guidToString(b: Uint8Array, at = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    // Data1 (u32) and Data2/Data3 (u16) are little-endian; Data4 is stored as is.
    const j = i < 4 ? 3 - i : i < 6 ? 9 - i : i < 8 ? 13 - i : i;
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[at + j] ?? 0];
  }
  return s;
}

export function readGuid(r: ByteReader, field: string): string {
  return guidToString(r.bytesView(16, field));
}

/** Well-known GUIDs (UEFI spec, shim). */
export const GUID = {
  EFI_GLOBAL_VARIABLE: '8be4df61-93ca-11d2-aa0d-00e098032b8c',
  EFI_IMAGE_SECURITY_DATABASE: 'd719b2cb-3d3a-4596-a3bc-dad00e67656f',
  SHIM_LOCK: '605dab50-e046-4300-abb6-3dd810dd8b23',
  EFI_CERT_X509: 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072',
  EFI_CERT_SHA256: 'c1c41626-504c-4092-aca9-41f936934328',
} as const;

/** EFI_SIGNATURE_LIST SignatureType GUIDs and the short names bootgate reports. */
export const SIGNATURE_TYPE_NAMES: ReadonlyMap<string, string> = new Map([
  [GUID.EFI_CERT_X509, 'x509'],
  [GUID.EFI_CERT_SHA256, 'sha256'],
  ['826ca512-cf10-4ac9-b187-be01496631bd', 'sha1'],
  ['0b6e5233-a65c-44c9-9407-d9ab83bfc8bd', 'sha224'],
  ['ff3e5307-9fd0-48c9-85f1-8ad56c701e01', 'sha384'],
  ['093e0fae-a6c4-4f50-9f1b-d41e2b89c19a', 'sha512'],
  ['3c5766e8-269c-4e34-aa14-ed776e85b3b6', 'rsa2048'],
  ['e2b36190-879b-4a3d-ad8d-f2e7bba32784', 'rsa2048_sha256'],
  ['67f8444f-8743-48f1-a328-1eaab8736080', 'rsa2048_sha1'],
  ['3bd2a492-96c0-4079-b420-fcf98ef103ed', 'x509_sha256'],
  ['7076876e-80c2-4ee6-aad2-28b349a6865b', 'x509_sha384'],
  ['446dbf63-2502-4cda-bcfa-2465d2b0fe9d', 'x509_sha512'],
  ['4aafd29d-68df-49ee-8aa9-347d375665a7', 'pkcs7'],
]);
