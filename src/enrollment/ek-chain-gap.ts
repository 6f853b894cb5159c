/**
 * Why an EK certificate did not chain, in words an operator can act on: walking issuer names from
 * the EK certificate through the certificates at hand, which issuer's certificate is missing (with
 * the address the certificate publishes for it, RFC 5280 §4.2.2.1 caIssuers), or which self-signed
 * root is not a configured EK root. Many TPMs (Intel PTT, AMD fTPM, newer discrete TPMs) are
 * certified by an intermediate CA that is not in their NV index; it belongs in BOOTGATE_EK_ROOTS.
 */
import * as pkijs from 'pkijs';
import { isSelfIssued, nameToString } from './x509.ts';

const AIA = '1.3.6.1.5.5.7.1.1';
const CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
const URI = 6;
const MAX_DEPTH = 8;

/** caIssuers URLs of the certificate's Authority Information Access extension. */
function caIssuerUrls(cert: pkijs.Certificate): string[] {
  const ext = cert.extensions?.find((e) => e.extnID === AIA)?.parsedValue;
  if (!(ext instanceof pkijs.InfoAccess)) return [];
  return ext.accessDescriptions
    .filter((d) => d.accessMethod === CA_ISSUERS && d.accessLocation.type === URI && typeof d.accessLocation.value === 'string')
    .map((d) => String(d.accessLocation.value).slice(0, 300));
}

const quoted = (name: pkijs.RelativeDistinguishedNames): string => `"${nameToString(name).slice(0, 300) || '(empty name)'}"`;

const WHERE = 'BOOTGATE_EK_ROOTS (a PEM bundle file or a directory of PEM/DER certificates; intermediate CAs are allowed there)';

/**
 * The missing link of the chain from `leaf`, or undefined when every issuer is at hand (then the
 * chain failed for another reason: a signature that does not verify, a constraint).
 */
export function describeChainGap(leaf: pkijs.Certificate, intermediates: pkijs.Certificate[], anchors: pkijs.Certificate[]): string | undefined {
  const seen = new Set<pkijs.Certificate>();
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    seen.add(current);
    if (anchors.includes(current)) return undefined;
    if (depth > 0 && isSelfIssued(current)) {
      return `the chain ends at the self-signed CA ${quoted(current.subject)}, which is not a configured EK root; if this manufacturer root is trusted, add it to ${WHERE}`;
    }
    const issuer = anchors.find((c) => c.subject.isEqual(current.issuer)) ?? intermediates.find((c) => !seen.has(c) && c.subject.isEqual(current.issuer));
    if (issuer === undefined) {
      const urls = caIssuerUrls(current);
      const published = urls.length > 0 ? ` (the certificate names it at ${urls.join(', ')})` : '';
      const of = depth === 0 ? 'the EK certificate' : `intermediate CA ${quoted(current.subject)}`;
      return `no certificate of ${quoted(current.issuer)}, the issuer of ${of}, among the EK roots${published}; add that CA certificate, and any intermediate between it and the manufacturer root, to ${WHERE}`;
    }
    current = issuer;
  }
  return undefined;
}
