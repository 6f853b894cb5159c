/**
 * Default EK templates (TCG EK Credential Profile for TPM Family 2.0, §2.1.5): the public area a
 * TPM creates its EK from, completed with the key from the EK certificate. MakeCredential only
 * depends on the key, nameAlg and symmetric definition, but the whole template is built so the
 * result has the same Name as the TPM's own EK.
 *
 * - L-1  RSA 2048, SHA-256, AES-128-CFB  (tpm2_createek -G rsa; NV cert 0x01c00002)
 * - L-2  ECC P-256, SHA-256, AES-128-CFB (tpm2_createek -G ecc; NV cert 0x01c0000a)
 * - H-4  ECC P-384, SHA-384, AES-256-CFB (swtpm 0.7 persists it at 0x81010016, cert 0x01c00016)
 * - H-5  RSA 3072, SHA-384, AES-256-CFB  (cert 0x01c0001c)
 */
import type { KeyObject } from 'node:crypto';
import { TPM_ALG } from '../tpm/alg.ts';
import { TPMA_OBJECT, TPM_ECC_CURVE, type TPMT_PUBLIC, encodeTpmtPublic, parseTpmtPublic } from '../tpm/index.ts';

/** PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the low-range templates' authPolicy. */
const POLICY_A_SHA256 = '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa';
/** PolicyOR(PolicySecret(TPM_RH_ENDORSEMENT), PolicyAuthorizeNV) with SHA-384: the high-range SHA-384 templates' authPolicy. */
const POLICY_B_SHA384 = 'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12';

const LOW_RANGE_ATTRS =
  TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.adminWithPolicy | TPMA_OBJECT.restricted | TPMA_OBJECT.decrypt;
/** High-range templates add userWithAuth (their policy allows a password-free use). */
const HIGH_RANGE_ATTRS = LOW_RANGE_ATTRS | TPMA_OBJECT.userWithAuth;

const NULL_SCHEME = { scheme: TPM_ALG.NULL };

function b64uToBytes(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

export class EkTemplateError extends Error {
  override readonly name = 'EkTemplateError';
}

/** The EK public area a TPM derives from the default template for this certificate key. */
export function ekPublicFromCertificateKey(key: KeyObject): TPMT_PUBLIC {
  const jwk = key.export({ format: 'jwk' });
  const aes = (keyBits: number) => ({ algorithm: TPM_ALG.AES, keyBits, mode: TPM_ALG.CFB });
  if (jwk.kty === 'RSA') {
    const n = b64uToBytes(jwk.n);
    const e = b64uToBytes(jwk.e);
    if (!(e.length === 3 && e[0] === 1 && e[1] === 0 && e[2] === 1)) throw new EkTemplateError('the default EK templates use exponent 65537; send ekPub for this key');
    const high = n.length === 384;
    if (n.length !== 256 && !high) throw new EkTemplateError(`no default EK template for RSA-${n.length * 8}; send ekPub`);
    return parseTpmtPublic(
      encodeTpmtPublic({
        type: 'rsa',
        nameAlg: high ? 'sha384' : 'sha256',
        objectAttributes: high ? HIGH_RANGE_ATTRS : LOW_RANGE_ATTRS,
        authPolicy: new Uint8Array(Buffer.from(high ? POLICY_B_SHA384 : POLICY_A_SHA256, 'hex')),
        parameters: { rsa: { symmetric: aes(high ? 256 : 128), scheme: NULL_SCHEME, keyBits: n.length * 8, exponent: 0 } },
        unique: { rsa: n },
      }),
    );
  }
  if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384')) {
    const high = jwk.crv === 'P-384';
    return parseTpmtPublic(
      encodeTpmtPublic({
        type: 'ecc',
        nameAlg: high ? 'sha384' : 'sha256',
        objectAttributes: high ? HIGH_RANGE_ATTRS : LOW_RANGE_ATTRS,
        authPolicy: new Uint8Array(Buffer.from(high ? POLICY_B_SHA384 : POLICY_A_SHA256, 'hex')),
        parameters: {
          ecc: { symmetric: aes(high ? 256 : 128), scheme: NULL_SCHEME, curveId: high ? TPM_ECC_CURVE.NIST_P384 : TPM_ECC_CURVE.NIST_P256, kdf: { scheme: TPM_ALG.NULL } },
        },
        unique: { ecc: { x: b64uToBytes(jwk.x), y: b64uToBytes(jwk.y) } },
      }),
    );
  }
  throw new EkTemplateError(`no default EK template for a ${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ''} key; send ekPub`);
}
