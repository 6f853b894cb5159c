/**
 * HTTPS material from BOOTGATE_TLS_CERT and BOOTGATE_TLS_KEY (contract §2). Checked before the
 * service opens anything: an unreadable file, a file that is not PEM, or a key that does not
 * belong to the certificate stops start-up with a message naming the variable and the problem.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

function readPem(variable: string, file: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!bytes.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(`${variable}: ${file} is not a PEM file (expected ${what})`);
  return bytes;
}

export function loadTlsMaterial(certFile: string, keyFile: string): TlsMaterial {
  const cert = readPem('BOOTGATE_TLS_CERT', certFile, 'a certificate chain');
  const key = readPem('BOOTGATE_TLS_KEY', keyFile, 'a private key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`BOOTGATE_TLS_CERT: ${certFile} holds no readable X.509 certificate`);
  }
  let publicOfKey: string;
  try {
    publicOfKey = createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    throw new ConfigError(`BOOTGATE_TLS_KEY: ${keyFile} holds no readable unencrypted private key`);
  }
  if (publicOfKey !== leaf.publicKey.export({ type: 'spki', format: 'pem' }).toString()) {
    throw new ConfigError(`BOOTGATE_TLS_KEY: the key in ${keyFile} does not match the certificate in ${certFile} (subject ${leaf.subject.replace(/\n/g, ', ')})`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`BOOTGATE_TLS_CERT/BOOTGATE_TLS_KEY: OpenSSL refuses the pair: ${(err as Error).message}`);
  }
  return { cert, key };
}
