/**
 * EK certificates from the simulated manufacturer, following the TCG EK Credential Profile: empty
 * subject, critical SAN directoryName with tpmManufacturer / tpmModel / tpmVersion, EKU
 * tcg-kp-EKCertificate (2.23.133.8.1), keyEncipherment for RSA EKs and keyAgreement for ECC EKs.
 * Issued directly by the fixed DEV-ONLY root in tpm-sim/ca (loaded once per process).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY_USAGE, OID, issueCertificate } from '../ca/cert-builder.ts';
import type { EkType } from './templates.ts';

const caDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'ca');

/** "SIMU": a vendor ID outside the TCG registry, so it can never be mistaken for a real manufacturer. */
export const SIM_TPM_MANUFACTURER = 'id:53494D55';
export const SIM_TPM_MODEL = 'tpm-sim';
export const SIM_TPM_VERSION = 'id:00020008';

interface DevCa {
  key: KeyObject;
  publicKey: KeyObject;
  certPem: string;
  certDer: Uint8Array;
  subject: [string, string][];
}

let cached: DevCa | undefined;

export function devCa(): DevCa {
  if (cached) return cached;
  const certPem = readFileSync(join(caDir, 'dev-root.crt.pem'), 'utf8');
  const key = createPrivateKey(readFileSync(join(caDir, 'dev-root.key.pem'), 'utf8'));
  const b64 = certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  cached = {
    key,
    publicKey: createPublicKey(key),
    certPem,
    certDer: new Uint8Array(Buffer.from(b64, 'base64')),
    subject: [
      [OID.organization, 'bootgate tpm-sim DEV-ONLY NOT FOR PRODUCTION'],
      [OID.commonName, 'tpm-sim DEV-ONLY EK Root CA'],
    ],
  };
  return cached;
}

export function issueEkCertificate(type: EkType, ekPublicKey: KeyObject, serialSeed: Uint8Array): Uint8Array {
  const ca = devCa();
  const serial = createHash('sha256').update(serialSeed).digest().subarray(0, 16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive INTEGER
  if (serial[0] === 0) serial[0] = 1;
  return issueCertificate({
    serial: new Uint8Array(serial),
    subject: [],
    issuer: ca.subject,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2049-12-31T23:59:59Z'),
    publicKey: createPublicKey(ekPublicKey),
    signingKey: ca.key,
    issuerPublicKey: ca.publicKey,
    ca: false,
    keyUsage: type === 'rsa' ? KEY_USAGE.keyEncipherment : KEY_USAGE.keyAgreement,
    extKeyUsage: [OID.ekCertificate],
    sanDirectoryName: [
      [OID.tpmManufacturer, SIM_TPM_MANUFACTURER],
      [OID.tpmModel, SIM_TPM_MODEL],
      [OID.tpmVersion, SIM_TPM_VERSION],
    ],
  });
}
