/**
 * Decoding X.509 certificates for EK validation: PEM or DER in, pkijs Certificate out, with
 * every decoding problem turned into one typed error. pkijs/asn1js do the ASN.1 work.
 */
import { type KeyObject, createHash, createPublicKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { fromBase64 } from '../util/encoding.ts';
import { EK_CERT_QUIRKS, type EkCertQuirkId } from './ek-cert-quirks.ts';

export class CertificateDecodeError extends Error {
  override readonly name = 'CertificateDecodeError';
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** True when the bytes look like PEM text (optionally preceded by whitespace or a UTF-8 BOM). */
export function looksLikePem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  return head.startsWith('-----BEGIN');
}

/** The DER bodies of every CERTIFICATE block in PEM text. Throws CertificateDecodeError on bad base64 or no block. */
export function pemCertificates(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== 'CERTIFICATE') continue;
    const der = fromBase64((m[2] ?? '').replace(/[\r\n\t ]/g, ''));
    if (!der || der.length === 0) throw new CertificateDecodeError('PEM CERTIFICATE block is not valid base64');
    out.push(der);
  }
  if (out.length === 0) throw new CertificateDecodeError('no PEM CERTIFICATE block found');
  return out;
}

/** A pkijs Certificate from exactly one BER/DER certificate. */
export function parseCertificateDer(der: Uint8Array): pkijs.Certificate {
  let asn1: ReturnType<typeof asn1js.fromBER>;
  try {
    asn1 = asn1js.fromBER(der);
  } catch (err) {
    throw new CertificateDecodeError(`not ASN.1: ${(err as Error).message}`);
  }
  if (asn1.offset === -1 || asn1.result.error) throw new CertificateDecodeError(`not ASN.1: ${asn1.result.error || 'decoding failed'}`);
  if (asn1.offset !== der.length) throw new CertificateDecodeError(`${der.length - asn1.offset} bytes after the certificate`);
  try {
    return new pkijs.Certificate({ schema: asn1.result });
  } catch (err) {
    throw new CertificateDecodeError(`not an X.509 certificate: ${(err as Error).message}`);
  }
}

const ATTR_SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.23.133.2.1': 'TPMManufacturer',
  '2.23.133.2.2': 'TPMModel',
  '2.23.133.2.3': 'TPMVersion',
};

/** The string value of an attribute, whatever string type the issuer chose. */
export function attributeValue(v: unknown): string {
  const block = (v as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock;
  return typeof block?.value === 'string' ? block.value : '';
}

/** "CN=..., O=..." for display; the order is the certificate's. */
export function nameToString(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues.map((tv) => `${ATTR_SHORT[tv.type] ?? tv.type}=${attributeValue(tv.value)}`).join(', ');
}

export function certSubject(cert: pkijs.Certificate): string {
  return nameToString(cert.subject);
}

export function isSelfIssued(cert: pkijs.Certificate): boolean {
  return cert.subject.isEqual(cert.issuer);
}

const RSAES_OAEP_OID = '1.2.840.113549.1.1.7';

/** The certificate's public key as a Node KeyObject, and which key quirk (if any) was needed. */
export function certificatePublicKey(cert: pkijs.Certificate): { key: KeyObject; applied: EkCertQuirkId[] } {
  const spki = cert.subjectPublicKeyInfo;
  try {
    if (spki.algorithm.algorithmId === RSAES_OAEP_OID) {
      const rsaPublicKey = new Uint8Array(spki.subjectPublicKey.valueBlock.valueHexView);
      const key = createPublicKey({ key: Buffer.from(rsaPublicKey), format: 'der', type: 'pkcs1' });
      return { key, applied: [EK_CERT_QUIRKS.rsaesOaepKeyOid.id] };
    }
    const der = new Uint8Array(spki.toSchema().toBER(false));
    return { key: createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }), applied: [] };
  } catch (err) {
    throw new CertificateDecodeError(`unusable subject public key: ${(err as Error).message}`);
  }
}

/** Canonical SPKI DER of a key (Node re-encodes it, so vendor encoding quirks do not change it). */
export function spkiDer(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
