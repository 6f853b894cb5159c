/**
 * Synchronous X.509 issuance for the simulator: the ASN.1 classes of @peculiar/asn1-x509 (the layer
 * under @peculiar/x509) plus a Node crypto signature. createSimHost() is synchronous, and
 * @peculiar/x509's own generator is WebCrypto-based and therefore async.
 */
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

/** KeyUsage bits as DER BIT STRING positions (RFC 5280 4.2.1.3). */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  keyEncipherment: 1 << 2,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

export interface CertRequest {
  serial: Uint8Array;
  /** RDNs as [oid, value] pairs; empty for the TCG EK profile's empty subject. */
  subject: [string, string][];
  issuer: [string, string][];
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The issuer's ECDSA P-256 private key. */
  signingKey: KeyObject;
  issuerPublicKey: KeyObject;
  ca: boolean;
  keyUsage: number;
  extKeyUsage?: string[];
  /** directoryName SAN (critical when the subject is empty, as RFC 5280 requires). */
  sanDirectoryName?: [string, string][];
}

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  tpmManufacturer: '2.23.133.2.1',
  tpmModel: '2.23.133.2.2',
  tpmVersion: '2.23.133.2.3',
  ekCertificate: '2.23.133.8.1',
} as const;

function name(rdns: [string, string][]): Name {
  return new Name(
    rdns.map(
      ([type, value]) =>
        new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]),
    ),
  );
}

function ext(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(key: KeyObject): Uint8Array {
  return spkiKeyIdentifier(AsnConvert.parse(key.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo));
}

function spkiKeyIdentifier(spki: SubjectPublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest());
}

/** Issuer key identifiers, computed once per CA key (the same CA signs every EK certificate). */
const issuerKeyIds = new WeakMap<KeyObject, Uint8Array>();
function issuerKeyIdentifier(key: KeyObject): Uint8Array {
  let id = issuerKeyIds.get(key);
  if (!id) issuerKeyIds.set(key, (id = keyIdentifier(key)));
  return id;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}

export function issueCertificate(req: CertRequest): Uint8Array {
  const spki = AsnConvert.parse(req.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const extensions: Extension[] = [
    ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: req.ca })),
    ext(id_ce_keyUsage, true, new KeyUsage(req.keyUsage)),
    ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(spkiKeyIdentifier(spki))),
    ext(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyIdentifier(req.issuerPublicKey)) }),
    ),
  ];
  if (req.extKeyUsage) extensions.push(ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage(req.extKeyUsage)));
  if (req.sanDirectoryName) {
    extensions.push(
      ext(
        id_ce_subjectAltName,
        req.subject.length === 0,
        new SubjectAlternativeName([new GeneralName({ directoryName: name(req.sanDirectoryName) })]),
      ),
    );
  }
  const sigAlg = new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(req.serial),
    signature: sigAlg,
    issuer: name(req.issuer),
    validity: new Validity({ notBefore: req.notBefore, notAfter: req.notAfter }),
    subject: name(req.subject),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(extensions),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = sign('sha256', tbsDer, req.signingKey);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlg, signatureValue: toArrayBuffer(new Uint8Array(signature)) });
  return new Uint8Array(AsnConvert.serialize(cert));
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
