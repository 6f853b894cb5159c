/** tpm-sim EK certificates: TCG EK Credential Profile fields, readable by @peculiar/x509, trusted by default. */
import { X509Certificate as NodeX509 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { x509 } from './helpers/x509.ts';

const DEV_ROOT = new URL('../tpm-sim/ca/dev-root.crt.pem', import.meta.url).pathname;
import { validateEkCertificate } from '../src/enrollment/ek-chain.ts';
import { loadEkRoots } from '../src/enrollment/ek-roots.ts';
import { parsePublic } from '../src/tpm/index.ts';
import { SIM_TPM_MANUFACTURER, SIM_TPM_MODEL, SIM_TPM_VERSION, createSimHost, devCa } from '../tpm-sim/index.ts';

describe.each(['rsa', 'ecc'] as const)('%s EK certificate', (ekType) => {
  const host = createSimHost({ ekType, akType: 'ecc' });

  it('parses with @peculiar/x509 and carries the TCG EKU, key usage and SAN directoryName', () => {
    const cert = new x509.X509Certificate(host.ekCertDer);
    expect(cert.subject).toBe('');
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.usages).toContain('2.23.133.8.1');
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(ekType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement);
    expect(ku?.critical).toBe(true);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.critical).toBe(true);
    const dn = san?.names.items.find((n) => n.type === 'dn')?.value ?? '';
    expect(dn).toContain(`2.23.133.2.1=${SIM_TPM_MANUFACTURER}`);
    expect(dn).toContain(`2.23.133.2.2=${SIM_TPM_MODEL}`);
    expect(dn).toContain(`2.23.133.2.3=${SIM_TPM_VERSION}`);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  it('certifies the EK public key in ekPub and is signed by the dev root', () => {
    const cert = new NodeX509(host.ekCertDer);
    expect(cert.verify(new NodeX509(devCa().certDer).publicKey)).toBe(true);
    const ek = parsePublic(host.ekPub);
    const jwk = cert.publicKey.export({ format: 'jwk' });
    if (ekType === 'rsa') expect(Buffer.from(jwk.n ?? '', 'base64url')).toEqual(Buffer.from(ek.unique.rsa ?? []));
    else expect(Buffer.from(jwk.x ?? '', 'base64url')).toEqual(Buffer.from(ek.unique.ecc?.x ?? []));
  });

  it('chains to the tpm-sim dev root when it is configured as the EK roots', async () => {
    const v = await validateEkCertificate({ ekCert: host.ekCertDer, roots: loadEkRoots(DEV_ROOT), now: new Date() });
    expect(v.ok ? v.tpm : v).toEqual({ manufacturer: SIM_TPM_MANUFACTURER, model: SIM_TPM_MODEL, version: SIM_TPM_VERSION });
  });

  it('is refused by the shipped default roots: a committed dev key is never trusted by default', async () => {
    const v = await validateEkCertificate({ ekCert: host.ekCertDer, roots: loadEkRoots(), now: new Date() });
    expect(v.ok ? 'trusted' : v.code).toBe('ek_cert_untrusted');
  });
});

it('the committed dev root certificate is the one tpm-sim signs with', () => {
  const committed = new NodeX509(readFileSync(DEV_ROOT));
  expect(committed.fingerprint256).toBe(new NodeX509(devCa().certDer).fingerprint256);
  expect(committed.subject).toContain('DEV-ONLY');
});
