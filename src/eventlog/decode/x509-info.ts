/**
 * Subject and SHA-256 of a DER certificate found in Secure Boot variables; tolerant of bad certificates.
 *
 * Uses Node's X509Certificate: @peculiar/x509 as installed cannot load without a reflect-metadata
 * polyfill (its tsyringe dependency throws at import), and the event log only needs the subject.
 */
import { X509Certificate, hash } from 'node:crypto';

export interface CertInfo {
  certSha256: string;
  subject?: string;
}

// The same vendor certificates (Microsoft, distribution CAs) appear in almost every log:
// remember subjects by certificate hash so a parse does not re-decode ASN.1 each time.
const SUBJECTS = new Map<string, string | null>();
const MAX_CACHED = 1024;

export function certInfo(der: Uint8Array): CertInfo {
  const certSha256 = hash('sha256', der, 'hex'); // one-shot: cheaper than a Hash object per certificate
  let subject = SUBJECTS.get(certSha256);
  if (subject === undefined) {
    subject = parseSubject(der);
    if (SUBJECTS.size >= MAX_CACHED) SUBJECTS.clear();
    SUBJECTS.set(certSha256, subject);
  }
  return subject === null ? { certSha256 } : { certSha256, subject };
}

function parseSubject(der: Uint8Array): string | null {
  // A DER certificate starts with a SEQUENCE; skip the ASN.1 decoder for anything else.
  if (der.length < 4 || der[0] !== 0x30) return null;
  try {
    // Node renders the RDNs one per line, in certificate order; join them as "C=US, O=…, CN=…".
    return new X509Certificate(der).subject.split('\n').join(', ');
  } catch {
    return null;
  }
}
