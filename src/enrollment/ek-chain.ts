/**
 * EK certificate validation: is this the certificate of a genuine TPM's endorsement key?
 *
 * The chain must reach one of the configured EK roots (pkijs does path building and signature
 * checks, with the roots as anchors and any supplied intermediates as candidates), every
 * certificate on it must be valid at `now`, and the leaf must look like an EK certificate:
 * not a CA, an RSA (>= 2048) or NIST P-256/P-384 key, key usage (when present) allowing key
 * encipherment or key agreement, and extended key usage (when present) naming
 * tcg-kp-EKCertificate. Vendor encoding quirks tolerated are listed in ek-cert-quirks.ts.
 *
 * Policy on a missing extendedKeyUsage: accepted. The TCG EK Credential Profile puts the EK
 * purpose in the chain (only a TPM manufacturer CA issues under these roots), and several
 * shipped vendor EK certificates omit the extension; a present EKU without the EK purpose is
 * refused, since the issuer then says the key is for something else.
 */
import type { KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { describeChainGap } from './ek-chain-gap.ts';
import { EK_CERT_QUIRKS, type EkCertQuirkId, unwrapNvCertificate } from './ek-cert-quirks.ts';
import type { EkRoots } from './ek-roots.ts';
import {
  CertificateDecodeError,
  attributeValue,
  certSubject,
  certificatePublicKey,
  looksLikePem,
  nameToString,
  parseCertificateDer,
  pemCertificates,
  sha256Hex,
  spkiDer,
} from './x509.ts';

export type EkCertFailureCode = 'ek_cert_malformed' | 'ek_cert_untrusted' | 'ek_cert_expired' | 'ek_cert_not_yet_valid' | 'ek_cert_not_ek';

export interface EkTpmInfo {
  /** TPMManufacturer (2.23.133.2.1), e.g. "id:49465800" (IFX). */
  manufacturer?: string;
  /** TPMModel (2.23.133.2.2). */
  model?: string;
  /** TPMVersion (2.23.133.2.3), e.g. "id:000F0003". */
  version?: string;
}

export interface EkCertValid {
  ok: true;
  /** Subjects from the EK certificate up to the trust anchor. */
  chain: string[];
  tpm: EkTpmInfo;
  publicKey: KeyObject;
  keyType: 'rsa' | 'ecc';
  /** RSA modulus bits, or the ECC curve. */
  rsaBits?: number;
  curve?: 'P-256' | 'P-384';
  /** Canonical DER SubjectPublicKeyInfo of the EK. */
  spki: Uint8Array;
  /** Hex SHA-256 of `spki`: the EK's identity across re-enrollments. */
  ekFingerprint: string;
  serialNumber: string;
  notAfter: Date;
  /** Vendor quirks that were needed to read this certificate (ids from EK_CERT_QUIRKS). */
  quirks: EkCertQuirkId[];
}

export interface EkCertInvalid {
  ok: false;
  code: EkCertFailureCode;
  message: string;
}

export type EkCertValidation = EkCertValid | EkCertInvalid;

export interface EkCertInput {
  /** The EK certificate, DER or PEM. A PEM with several certificates is the EK followed by intermediates. */
  ekCert: Uint8Array;
  roots: EkRoots;
  /** Extra intermediate CA certificates (DER or PEM each). */
  intermediates?: Uint8Array[];
  now: Date;
}

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  tcgKpEkCertificate: '2.23.133.8.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
  tpmManufacturer: '2.23.133.2.1',
  tpmModel: '2.23.133.2.2',
  tpmVersion: '2.23.133.2.3',
} as const;

/** Extensions an EK certificate may mark critical; RFC 5280 §4.2 says to refuse any other critical one. */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  '2.5.29.32', // certificatePolicies: informational for EK certificates
  '2.5.29.9', // subjectDirectoryAttributes: TPM specification / security assertions
  '2.5.29.35',
  '2.5.29.14',
]);

/** KeyUsage bits as they appear in the first octet of the BIT STRING (bit 0 = 0x80). */
const KU = { keyEncipherment: 0x20, keyAgreement: 0x08, keyCertSign: 0x04, cRLSign: 0x02 } as const;

function fail(code: EkCertFailureCode, message: string): EkCertInvalid {
  return { ok: false, code, message };
}

/**
 * Real EK certificates are 0.5-2 KB (NV indices hold at most a few KB); a PEM bundle adds a few
 * intermediates. Bounding the input keeps PEM scanning and ASN.1 decoding cheap for hostile input.
 */
export const MAX_EK_CERT_INPUT_BYTES = 32 * 1024;
const MAX_CERTS_PER_INPUT = 8;

/** Decodes the EK certificate input into the EK certificate plus any bundled intermediates. */
function decodeEkInput(bytes: Uint8Array): { leaf: pkijs.Certificate; bundled: pkijs.Certificate[]; quirks: EkCertQuirkId[] } {
  if (bytes.length > MAX_EK_CERT_INPUT_BYTES) throw new CertificateDecodeError(`${bytes.length} bytes is larger than any EK certificate (limit ${MAX_EK_CERT_INPUT_BYTES})`);
  if (looksLikePem(bytes)) {
    const ders = pemCertificates(bytes);
    if (ders.length > MAX_CERTS_PER_INPUT) throw new CertificateDecodeError(`PEM input holds ${ders.length} certificates; at most ${MAX_CERTS_PER_INPUT} are accepted`);
    const [leaf, ...rest] = ders.map(parseCertificateDer);
    if (!leaf) throw new CertificateDecodeError('no certificate');
    return { leaf, bundled: rest, quirks: [] };
  }
  const unwrapped = unwrapNvCertificate(bytes);
  if (!unwrapped) throw new CertificateDecodeError('not a DER certificate (or one with NV padding bootgate recognises)');
  return { leaf: parseCertificateDer(unwrapped.der), bundled: [], quirks: unwrapped.applied };
}

function decodeIntermediates(list: Uint8Array[]): pkijs.Certificate[] {
  if (list.length > MAX_CERTS_PER_INPUT) throw new CertificateDecodeError(`${list.length} intermediates is more than the ${MAX_CERTS_PER_INPUT} accepted`);
  for (const b of list) if (b.length > MAX_EK_CERT_INPUT_BYTES) throw new CertificateDecodeError(`intermediate of ${b.length} bytes exceeds ${MAX_EK_CERT_INPUT_BYTES}`);
  return list.flatMap((b) => (looksLikePem(b) ? pemCertificates(b) : [b]).map(parseCertificateDer));
}

function extension(cert: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  return cert.extensions?.find((e) => e.extnID === oid);
}

/** TPM manufacturer/model/version from the subjectAltName directoryName, falling back to the subject. */
export function ekTpmInfo(cert: pkijs.Certificate): EkTpmInfo {
  const info: EkTpmInfo = {};
  const take = (tvs: pkijs.AttributeTypeAndValue[]): void => {
    for (const tv of tvs) {
      const v = attributeValue(tv.value);
      if (tv.type === OID.tpmManufacturer && info.manufacturer === undefined) info.manufacturer = v;
      if (tv.type === OID.tpmModel && info.model === undefined) info.model = v;
      if (tv.type === OID.tpmVersion && info.version === undefined) info.version = v;
    }
  };
  const san = extension(cert, OID.subjectAltName)?.parsedValue;
  if (san instanceof pkijs.AltName) {
    for (const gn of san.altNames) {
      if (gn.type === 4 && gn.value instanceof pkijs.RelativeDistinguishedNames) take(gn.value.typesAndValues);
    }
  }
  take(cert.subject.typesAndValues);
  return info;
}

/** Leaf checks that make a certificate an EK certificate; null when it is one. */
function checkEkProfile(cert: pkijs.Certificate): EkCertInvalid | null {
  for (const ext of cert.extensions ?? []) {
    if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.extnID)) {
      return fail('ek_cert_not_ek', `EK certificate has an unhandled critical extension ${ext.extnID}`);
    }
  }
  const bc = extension(cert, OID.basicConstraints)?.parsedValue;
  if (bc instanceof pkijs.BasicConstraints && bc.cA) return fail('ek_cert_not_ek', 'certificate is a CA certificate (basicConstraints cA=TRUE), not an EK certificate');
  const kuExt = extension(cert, OID.keyUsage);
  if (kuExt) {
    const ku = kuExt.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
    const bits = ku?.valueBlock?.valueHexView?.[0];
    if (bits === undefined) return fail('ek_cert_malformed', 'keyUsage extension cannot be decoded');
    if (bits & (KU.keyCertSign | KU.cRLSign)) return fail('ek_cert_not_ek', 'keyUsage allows certificate or CRL signing, which an EK certificate must not');
    if (!(bits & (KU.keyEncipherment | KU.keyAgreement))) {
      return fail('ek_cert_not_ek', 'keyUsage allows neither keyEncipherment nor keyAgreement, so this is not an EK certificate');
    }
  }
  const ekuExt = extension(cert, OID.extKeyUsage);
  if (ekuExt) {
    const eku = ekuExt.parsedValue;
    if (!(eku instanceof pkijs.ExtKeyUsage)) return fail('ek_cert_malformed', 'extendedKeyUsage extension cannot be decoded');
    if (!eku.keyPurposes.includes(OID.tcgKpEkCertificate)) {
      return fail('ek_cert_not_ek', `extendedKeyUsage [${eku.keyPurposes.join(', ')}] does not include tcg-kp-EKCertificate (2.23.133.8.1)`);
    }
  }
  return null;
}

function keyDetails(key: KeyObject): Pick<EkCertValid, 'keyType' | 'rsaBits' | 'curve'> | EkCertInvalid {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) return fail('ek_cert_not_ek', `EK certificate carries an RSA-${bits} key; RSA EKs must be at least 2048 bits`);
    return { keyType: 'rsa', rsaBits: bits };
  }
  if (key.asymmetricKeyType === 'ec') {
    if (d.namedCurve === 'prime256v1') return { keyType: 'ecc', curve: 'P-256' };
    if (d.namedCurve === 'secp384r1') return { keyType: 'ecc', curve: 'P-384' };
    return fail('ek_cert_not_ek', `EK certificate carries an EC key on ${d.namedCurve ?? 'an unknown curve'}; supported: P-256, P-384`);
  }
  return fail('ek_cert_not_ek', `EK certificate carries a ${key.asymmetricKeyType ?? 'unknown'} key; supported: RSA, EC P-256/P-384`);
}

function validityProblem(cert: pkijs.Certificate, now: Date, what: string): EkCertInvalid | null {
  if (cert.notBefore.value.getTime() > now.getTime()) {
    return fail('ek_cert_not_yet_valid', `${what} "${certSubject(cert)}" is not valid before ${cert.notBefore.value.toISOString()}`);
  }
  if (cert.notAfter.value.getTime() < now.getTime()) {
    return fail('ek_cert_expired', `${what} "${certSubject(cert)}" expired at ${cert.notAfter.value.toISOString()}`);
  }
  return null;
}

/** Walks issuer names from the leaf through the candidates to say which CA is out of date. */
function chainValidityProblem(leaf: pkijs.Certificate, candidates: pkijs.Certificate[], now: Date): EkCertInvalid | null {
  let current = leaf;
  for (let depth = 0; depth < 8; depth++) {
    if (current.subject.isEqual(current.issuer) && depth > 0) return null;
    const issuer = candidates.find((c) => c.subject.isEqual(current.issuer) && c !== current);
    if (!issuer) return null;
    const problem = validityProblem(issuer, now, 'issuing CA certificate');
    if (problem) return problem;
    current = issuer;
  }
  return null;
}

/** Validates an EK certificate. Never throws for hostile input: every problem is a typed failure. */
export async function validateEkCertificate(input: EkCertInput): Promise<EkCertValidation> {
  let leaf: pkijs.Certificate;
  let intermediates: pkijs.Certificate[];
  const quirks: EkCertQuirkId[] = [];
  let publicKey: KeyObject;
  try {
    const decoded = decodeEkInput(input.ekCert);
    leaf = decoded.leaf;
    quirks.push(...decoded.quirks);
    intermediates = [...decoded.bundled, ...decodeIntermediates(input.intermediates ?? [])];
    const pk = certificatePublicKey(leaf);
    publicKey = pk.key;
    quirks.push(...pk.applied);
  } catch (err) {
    if (err instanceof CertificateDecodeError) return fail('ek_cert_malformed', `EK certificate cannot be decoded: ${err.message}`);
    return fail('ek_cert_malformed', `EK certificate cannot be decoded: ${(err as Error).message ?? String(err)}`);
  }
  try {
    const details = keyDetails(publicKey);
    if ('ok' in details) return details;
    const profile = checkEkProfile(leaf);
    if (profile) return profile;
    const leafDates = validityProblem(leaf, input.now, 'EK certificate');
    if (leafDates) return leafDates;

    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: input.roots.anchors,
      // pkijs takes the last of trustedCerts+certs as the certificate to validate.
      certs: [...intermediates, leaf],
      checkDate: input.now,
    });
    const result = await engine.verify();
    if (!result.result) {
      const dated = chainValidityProblem(leaf, [...intermediates, ...input.roots.anchors], input.now);
      if (dated) return dated;
      const gap = describeChainGap(leaf, intermediates, input.roots.anchors);
      return fail('ek_cert_untrusted', `EK certificate "${certSubject(leaf)}" (issuer "${nameToString(leaf.issuer)}") does not chain to a configured EK root: ${gap ?? result.resultMessage}`);
    }
    const path = result.certificatePath ?? [leaf];
    if (extension(leaf, OID.subjectAltName)?.critical) quirks.push(EK_CERT_QUIRKS.criticalSanEmptySubject.id);
    if (!extension(leaf, OID.extKeyUsage)) quirks.push(EK_CERT_QUIRKS.missingEku.id);
    const spki = spkiDer(publicKey);
    return {
      ok: true,
      chain: path.map(certSubject),
      tpm: ekTpmInfo(leaf),
      publicKey,
      ...details,
      spki,
      ekFingerprint: sha256Hex(spki),
      serialNumber: Buffer.from(leaf.serialNumber.valueBlock.valueHexView).toString('hex'),
      notAfter: leaf.notAfter.value,
      quirks,
    };
  } catch (err) {
    // pkijs throws for structures it decoded but cannot process (odd algorithms, broken extensions).
    return fail('ek_cert_malformed', `EK certificate cannot be processed: ${(err as Error)?.message ?? String(err)}`);
  }
}
