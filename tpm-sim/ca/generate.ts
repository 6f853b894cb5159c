/**
 * DEV-ONLY. Generates the fixed tpm-sim certificate authority and Secure Boot certificates once;
 * the outputs are committed so every run (and the verifier's default EK roots) agree.
 * These private keys are public knowledge: never trust this root outside development and tests.
 *
 *   node --import tsx tpm-sim/ca/generate.ts        (only when rotating the dev CA)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEY_USAGE, OID, issueCertificate, toPem } from './cert-builder.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NOT_BEFORE = new Date('2024-01-01T00:00:00Z');
const NOT_AFTER = new Date('2049-12-31T23:59:59Z');
const ORG = 'bootgate tpm-sim DEV-ONLY NOT FOR PRODUCTION';

function selfSigned(cn: string, serial: number, ca: boolean): { certDer: Uint8Array; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dn: [string, string][] = [
    [OID.organization, ORG],
    [OID.commonName, cn],
  ];
  const certDer = issueCertificate({
    serial: Uint8Array.of(serial),
    subject: dn,
    issuer: dn,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    publicKey,
    signingKey: privateKey,
    issuerPublicKey: publicKey,
    ca,
    keyUsage: ca ? KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign : KEY_USAGE.digitalSignature,
  });
  return { certDer, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

const sbDir = join(here, 'secure-boot');
mkdirSync(sbDir, { recursive: true });
const root = selfSigned('tpm-sim DEV-ONLY EK Root CA', 1, true);
writeFileSync(join(here, 'dev-root.key.pem'), root.keyPem);
writeFileSync(join(here, 'dev-root.crt.pem'), toPem('CERTIFICATE', root.certDer));

// Secure Boot: PK, KEK, the db signing CA, shim's vendor certificate, and a rogue key for db-key-added.
const secureBoot: [string, string, number][] = [
  ['pk', 'tpm-sim Platform Key', 0x10],
  ['kek', 'tpm-sim KEK CA', 0x11],
  ['db', 'tpm-sim UEFI CA', 0x12],
  ['shim-vendor', 'tpm-sim Secure Boot Signing', 0x13],
  ['db-rogue', 'Rogue Signing Key', 0x14],
];
for (const [file, cn, serial] of secureBoot) {
  writeFileSync(join(sbDir, `${file}.crt.pem`), toPem('CERTIFICATE', selfSigned(cn, serial, file !== 'shim-vendor').certDer));
}
process.stdout.write(`wrote the dev CA and Secure Boot certificates under ${here}\n`);
