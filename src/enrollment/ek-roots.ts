/**
 * The EK trust anchors (contract §2 BOOTGATE_EK_ROOTS): a PEM bundle file, or a directory of
 * PEM/DER certificates. Default: the manufacturer roots shipped in src/enrollment/ek-roots/.
 *
 * Every certificate loaded here is a trust anchor, including CA certificates that are not
 * self-signed (e.g. "IFX TPM EK Root CA", issued by a retired VeriSign root): putting a
 * certificate in this set is the operator's statement of trust. Configuration errors (a
 * missing path, an undecodable file) throw at load time, naming the file.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as pkijs from 'pkijs';
import { CertificateDecodeError, certSubject, looksLikePem, parseCertificateDer, pemCertificates, sha256Hex } from './x509.ts';

export interface EkRootEntry {
  subject: string;
  /** File the certificate came from. */
  source: string;
  /** Hex SHA-256 of the certificate DER. */
  fingerprint: string;
  notAfter: Date;
}

export interface EkRoots {
  /** Trust anchors for pkijs chain validation. */
  anchors: pkijs.Certificate[];
  entries: EkRootEntry[];
}

export const DEFAULT_EK_ROOTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ek-roots');

const CERT_EXTENSIONS = new Set(['.pem', '.crt', '.cer', '.der']);

export class EkRootsError extends Error {
  override readonly name = 'EkRootsError';
}

function certificatesInFile(file: string): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(file));
  try {
    return looksLikePem(bytes) ? pemCertificates(bytes) : [bytes];
  } catch (err) {
    throw new EkRootsError(`EK root file ${file}: ${(err as Error).message}`);
  }
}

/** Loads a PEM bundle or a directory of certificates (non-recursive; files named *.pem, *.crt, *.cer, *.der). */
export function loadEkRoots(pathOrUndefined?: string): EkRoots {
  const where = pathOrUndefined && pathOrUndefined.length > 0 ? pathOrUndefined : DEFAULT_EK_ROOTS_DIR;
  let files: string[];
  try {
    files = statSync(where).isDirectory()
      ? readdirSync(where)
          .filter((f) => CERT_EXTENSIONS.has(path.extname(f).toLowerCase()))
          .sort()
          .map((f) => path.join(where, f))
      : [where];
  } catch (err) {
    throw new EkRootsError(`EK roots ${where}: ${(err as Error).message}`);
  }
  const roots: EkRoots = { anchors: [], entries: [] };
  const seen = new Set<string>();
  for (const file of files) {
    for (const der of certificatesInFile(file)) {
      let cert: pkijs.Certificate;
      try {
        cert = parseCertificateDer(der);
      } catch (err) {
        if (err instanceof CertificateDecodeError) throw new EkRootsError(`EK root file ${file}: ${err.message}`);
        throw err;
      }
      const fingerprint = sha256Hex(der);
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      roots.anchors.push(cert);
      roots.entries.push({ subject: certSubject(cert), source: file, fingerprint, notAfter: cert.notAfter.value });
    }
  }
  if (roots.anchors.length === 0) throw new EkRootsError(`EK roots ${where}: no certificates found`);
  return roots;
}

/** Roots from certificates already in memory (tests, or a caller that fetched them itself). */
export function ekRootsFromDer(certs: Uint8Array[], source = 'memory'): EkRoots {
  const roots: EkRoots = { anchors: [], entries: [] };
  for (const der of certs) {
    const cert = parseCertificateDer(der);
    roots.anchors.push(cert);
    roots.entries.push({ subject: certSubject(cert), source, fingerprint: sha256Hex(der), notAfter: cert.notAfter.value });
  }
  return roots;
}
