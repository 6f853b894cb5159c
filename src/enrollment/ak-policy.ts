/**
 * What an attestation key must be before bootgate binds it to a host (contract §3.1): a
 * restricted signing key (it signs only TPM-generated structures, so a quote cannot be forged
 * with it), created inside the TPM and unable to leave it (fixedTPM, fixedParent,
 * sensitiveDataOrigin), on an algorithm strong enough to trust.
 */
import type { Finding } from '../appraisal/types.ts';
import { TPMA_OBJECT, TPM_ECC_CURVE, describeObjectAttributes } from '../tpm/index.ts';
import type { TPMT_PUBLIC } from '../tpm/index.ts';

export type AkPolicyCode = 'ak_not_restricted' | 'ak_attributes_invalid' | 'ak_algorithm_unsupported';

export interface AkPolicyFinding extends Finding {
  code: AkPolicyCode;
}

const REQUIRED_ORIGIN = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin;
const MIN_RSA_BITS = 2048;
const ALLOWED_CURVES = new Map<number, string>([
  [TPM_ECC_CURVE.NIST_P256, 'NIST P-256'],
  [TPM_ECC_CURVE.NIST_P384, 'NIST P-384'],
]);

/** Every way `akPub` falls short of an acceptable AK; empty when it is one. */
export function checkAkPublic(akPub: TPMT_PUBLIC): AkPolicyFinding[] {
  const findings: AkPolicyFinding[] = [];
  const attrs = akPub.objectAttributes >>> 0;
  const has = (bit: number): boolean => (attrs & bit) !== 0;
  const actualAttrs = describeObjectAttributes(attrs);

  if (!has(TPMA_OBJECT.restricted) || !has(TPMA_OBJECT.sign) || has(TPMA_OBJECT.decrypt)) {
    findings.push({
      code: 'ak_not_restricted',
      message: 'the AK must be a restricted signing key (restricted and sign set, decrypt clear), so it signs only TPM-generated attestation structures',
      expected: ['restricted', 'sign', '!decrypt'],
      actual: actualAttrs,
    });
  }
  if ((attrs & REQUIRED_ORIGIN) !== REQUIRED_ORIGIN) {
    const missing = (['fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const).filter((n) => !has(TPMA_OBJECT[n]));
    findings.push({
      code: 'ak_attributes_invalid',
      message: `the AK must be generated inside the TPM and never leave it; missing ${missing.join(', ')}`,
      expected: ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin'],
      actual: actualAttrs,
    });
  }

  if (akPub.nameAlg === 'sha1') {
    findings.push({ code: 'ak_algorithm_unsupported', message: 'the AK nameAlg must be SHA-256 or stronger', expected: 'sha256|sha384|sha512', actual: akPub.nameAlg });
  }
  if (akPub.type === 'rsa') {
    const bits = akPub.parameters.rsa?.keyBits ?? 0;
    if (bits < MIN_RSA_BITS) {
      findings.push({ code: 'ak_algorithm_unsupported', message: `RSA AKs must be at least ${MIN_RSA_BITS} bits`, expected: `>= ${MIN_RSA_BITS}`, actual: bits });
    }
  } else if (akPub.type === 'ecc') {
    const curve = akPub.parameters.ecc?.curveId ?? -1;
    if (!ALLOWED_CURVES.has(curve)) {
      findings.push({
        code: 'ak_algorithm_unsupported',
        message: 'ECC AKs must be on NIST P-256 or P-384',
        expected: [...ALLOWED_CURVES.values()],
        actual: `curve 0x${curve.toString(16).padStart(4, '0')}`,
      });
    }
  } else {
    findings.push({ code: 'ak_algorithm_unsupported', message: `the AK must be an RSA or ECC key, not ${akPub.type}`, expected: ['rsa', 'ecc'], actual: akPub.type });
  }
  return findings;
}
