/**
 * Test helper (engineer ENROLL): synthetic TPM manufacturer PKIs built with @peculiar/x509,
 * for EK chain tests: root -> intermediate -> EK certificate, with knobs for the ways an EK
 * certificate can be wrong.
 */
import { webcrypto } from 'node:crypto';
import { x509 } from './x509.ts';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestCa {
  name: string;
  cert: x509.X509Certificate;
  der: Uint8Array;
  keys: CryptoKeyPair;
  /** Algorithm this CA signs with. */
  signing: Record<string, unknown>;
}

/** CA key types: ECDSA P-256/SHA-256 (default), and the RSA signatures older vendor CAs use. */
export type CaAlgorithm = 'ecdsa-sha256' | 'rsa-sha1' | 'rsa-pss-sha256';

const CA_ALGS: Record<CaAlgorithm, { keyGen: Record<string, unknown>; signing: Record<string, unknown> }> = {
  'ecdsa-sha256': { keyGen: EC, signing: SIGN },
  'rsa-sha1': {
    keyGen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-1' },
    signing: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' },
  },
  'rsa-pss-sha256': {
    keyGen: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    signing: { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 },
  },
};

let serial = 1;
const nextSerial = (): string => (serial++).toString(16).padStart(4, '0');

export async function makeCa(name: string, opts: { issuer?: TestCa; notBefore?: Date; notAfter?: Date; alg?: CaAlgorithm } = {}): Promise<TestCa> {
  const alg = CA_ALGS[opts.alg ?? 'ecdsa-sha256'];
  const keys = (await webcrypto.subtle.generateKey(alg.keyGen as never, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions = [
    new x509.BasicConstraintsExtension(true, opts.issuer ? 0 : 1, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
  ];
  const common = {
    serialNumber: nextSerial(),
    notBefore: opts.notBefore ?? new Date(Date.now() - 365 * DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 20 * 365 * DAY),
    signingAlgorithm: (opts.issuer?.signing ?? alg.signing) as never,
  };
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: `CN=${name}, O=Test TPM Vendor`,
        issuer: opts.issuer.cert.subject,
        publicKey: keys.publicKey as never,
        signingKey: opts.issuer.keys.privateKey as never,
        extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(opts.issuer.keys.publicKey as never)],
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: `CN=${name}, O=Test TPM Vendor`, keys: keys as never, extensions });
  return { name, cert, der: new Uint8Array(cert.rawData), keys, signing: alg.signing };
}

export interface EkCertOptions {
  /** The EK's public key; default a fresh P-256 key. */
  publicKey?: CryptoKey;
  notBefore?: Date;
  notAfter?: Date;
  /** Extended key usages; null = no EKU extension. Default tcg-kp-EKCertificate. */
  eku?: string[] | null;
  /** KeyUsageFlags; null = no keyUsage extension. Default keyAgreement|keyEncipherment. */
  keyUsage?: number | null;
  /** Mark the certificate as a CA (which an EK certificate must not be). */
  ca?: boolean;
  /** Add a critical extension bootgate does not understand. */
  unknownCritical?: boolean;
  /** Authority Information Access caIssuers URL (where the issuer's certificate is published). */
  caIssuers?: string;
}

export async function makeEkCert(issuer: TestCa, opts: EkCertOptions = {}): Promise<Uint8Array> {
  const publicKey = opts.publicKey ?? ((await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair).publicKey;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(opts.ca ?? false, undefined, true)];
  const ku = opts.keyUsage === undefined ? x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.keyEncipherment : opts.keyUsage;
  if (ku !== null) extensions.push(new x509.KeyUsagesExtension(ku, true));
  const eku = opts.eku === undefined ? ['2.23.133.8.1'] : opts.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  if (opts.unknownCritical) extensions.push(new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00])));
  if (opts.caIssuers !== undefined) extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: opts.caIssuers }));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey as never));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: '',
    issuer: issuer.cert.subject,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 10 * 365 * DAY),
    publicKey: publicKey as never,
    signingKey: issuer.keys.privateKey as never,
    signingAlgorithm: issuer.signing as never,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): Uint8Array {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return new Uint8Array(Buffer.from(`-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`));
}
