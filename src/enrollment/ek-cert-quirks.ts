/**
 * EK certificate encodings that real TPMs ship and that a strict X.509 parser refuses.
 *
 * This is the ONE place such tolerance lives. Each entry names where it was seen and what is
 * accepted. Anything a quirk does not explicitly cover stays malformed. None of these relaxes
 * a cryptographic check: signatures are always verified over the bytes the issuer signed.
 */

export interface EkCertQuirk {
  id: string;
  /** Where the encoding comes from. */
  seenOn: string;
  /** What bootgate accepts because of it. */
  accepts: string;
}

export const EK_CERT_QUIRKS = {
  nvPadding: {
    id: 'nv-padding',
    seenOn:
      'STMicroelectronics ST33HTPHF2ENIST (certificates padded with 0xFF to a fixed 1600-byte NV index, tpm2-tools issue #3474); ' +
      'other TPMs whose EK certificate NV index is larger than the certificate (NSA HIRS issue #23)',
    accepts: 'bytes after the certificate SEQUENCE when every one of them is 0x00 or every one is 0xFF; they are dropped',
  },
  nvStoredHeader: {
    id: 'nv-stored-header',
    seenOn: 'TPMs that store the EK certificate with the TCG PC Client "stored certificate" prefix 0x10 0x01 0x00 ‖ u16 length (go-attestation PR #38)',
    accepts: 'the 5-byte prefix when its length field matches the certificate that follows; the prefix is dropped',
  },
  rsaesOaepKeyOid: {
    id: 'rsaes-oaep-key-oid',
    seenOn: 'EK certificates following the TPM 1.2-era TCG profile, which label the RSA EK key id-RSAES-OAEP (1.2.840.113549.1.1.7)',
    accepts: 'an RSAES-OAEP SubjectPublicKeyInfo, read as the plain RSA public key it carries',
  },
  nonDerEncoding: {
    id: 'non-der-encoding',
    seenOn:
      'STMicroelectronics certificates with non-minimal INTEGER serial numbers (go-tspi issue #30); Nuvoton names whose multi-valued RDN ' +
      'SETs are not in DER order (keylime issue #944)',
    accepts: 'BER-valid but non-DER encodings; the signature is still checked over the original to-be-signed bytes',
  },
  criticalSanEmptySubject: {
    id: 'critical-san-empty-subject',
    seenOn: 'TCG EK Credential Profile certificates (all vendors, and swtpm): empty or placeholder subject with a critical subjectAltName directoryName',
    accepts: 'a critical subjectAltName carrying the TPM manufacturer, model and version attributes',
  },
  missingEku: {
    id: 'missing-eku',
    seenOn: 'older vendor EK certificates (e.g. early Infineon and Nuvoton TPM 2.0 certificates) that carry no extendedKeyUsage',
    accepts: 'an EK certificate without extendedKeyUsage; when the extension is present it must list tcg-kp-EKCertificate (2.23.133.8.1)',
  },
} as const satisfies Record<string, EkCertQuirk>;

export type EkCertQuirkId = (typeof EK_CERT_QUIRKS)[keyof typeof EK_CERT_QUIRKS]['id'];

/** Length of the DER/BER element at the start of `b` (tag, length, content), or null if it is not a definite-length element. */
export function leadingElementLength(b: Uint8Array): number | null {
  if (b.length < 2) return null;
  const first = b[1] ?? 0;
  if (first < 0x80) return 2 + first <= b.length ? 2 + first : null;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || 2 + n > b.length) return null; // indefinite or absurd lengths
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (b[2 + i] ?? 0);
  const total = 2 + n + len;
  return total <= b.length ? total : null;
}

/**
 * Strips the NV storage wrapping listed above from raw DER. Returns the certificate bytes and the
 * quirks applied, or null when the bytes are not one certificate with at most that wrapping.
 */
export function unwrapNvCertificate(input: Uint8Array): { der: Uint8Array; applied: EkCertQuirkId[] } | null {
  const applied: EkCertQuirkId[] = [];
  let b = input;
  if (b.length > 5 && b[0] === 0x10 && b[1] === 0x01 && b[2] === 0x00) {
    const len = ((b[3] ?? 0) << 8) | (b[4] ?? 0);
    if (len > 0 && 5 + len <= b.length && b[5] === 0x30) {
      b = b.subarray(5, 5 + len);
      applied.push(EK_CERT_QUIRKS.nvStoredHeader.id);
    }
  }
  if (b[0] !== 0x30) return null;
  const total = leadingElementLength(b);
  if (total === null) return null;
  if (total < b.length) {
    const rest = b.subarray(total);
    const pad = rest[0];
    if ((pad !== 0x00 && pad !== 0xff) || !rest.every((x) => x === pad)) return null;
    b = b.subarray(0, total);
    applied.push(EK_CERT_QUIRKS.nvPadding.id);
  }
  return { der: b, applied };
}
