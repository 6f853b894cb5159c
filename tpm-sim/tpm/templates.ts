/**
 * TPMT_PUBLIC areas exactly as a TPM builds them: the default EK templates of the TCG EK Credential
 * Profile (L-1: RSA 2048, L-2: ECC NIST P-256), and the AK templates tpm2_createak uses.
 * Checked byte for byte against swtpm + tpm2_createek / tpm2_createak output.
 */
import type { KeyObject } from 'node:crypto';
import { TPM_ALG, digest, type HashAlg } from '../../src/tpm/alg.ts';
import { TPMA_OBJECT, TPM_ECC_CURVE } from '../../src/tpm/attributes.ts';
import { encodeTpmtPublic, tpmObjectName, type TPMT_PUBLIC } from '../../src/tpm/public.ts';

/** PolicySecret(TPM_RH_ENDORSEMENT): the authPolicy of the default EK templates. */
export const EK_AUTH_POLICY = new Uint8Array(
  Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex'),
);

export const EK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.adminWithPolicy |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.decrypt;

export const AK_ATTRIBUTES =
  TPMA_OBJECT.fixedTPM |
  TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin |
  TPMA_OBJECT.userWithAuth |
  TPMA_OBJECT.restricted |
  TPMA_OBJECT.sign;

const AES_128_CFB = { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB };

export type EkType = 'rsa' | 'ecc';
export type AkType = 'rsa' | 'rsapss' | 'ecc';

function withBytes(p: Omit<TPMT_PUBLIC, 'bytes'>): TPMT_PUBLIC {
  return { ...p, bytes: encodeTpmtPublic(p) };
}

function rsaModulus(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.n) throw new Error('not an RSA key');
  return new Uint8Array(Buffer.from(jwk.n, 'base64url'));
}

/** Fixed-size (32-byte) affine coordinates of a P-256 key. */
export function p256Point(key: KeyObject): { x: Uint8Array; y: Uint8Array } {
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new Error('not an EC key');
  return { x: new Uint8Array(Buffer.from(jwk.x, 'base64url')), y: new Uint8Array(Buffer.from(jwk.y, 'base64url')) };
}

export function ekPublic(type: EkType, key: KeyObject): TPMT_PUBLIC {
  const common = { nameAlg: 'sha256' as HashAlg, objectAttributes: EK_ATTRIBUTES, authPolicy: EK_AUTH_POLICY };
  if (type === 'rsa') {
    return withBytes({
      ...common,
      type: 'rsa',
      parameters: { rsa: { symmetric: AES_128_CFB, scheme: { scheme: TPM_ALG.NULL }, keyBits: 2048, exponent: 0 } },
      unique: { rsa: rsaModulus(key) },
    });
  }
  return withBytes({
    ...common,
    type: 'ecc',
    parameters: {
      ecc: { symmetric: AES_128_CFB, scheme: { scheme: TPM_ALG.NULL }, curveId: TPM_ECC_CURVE.NIST_P256, kdf: { scheme: TPM_ALG.NULL } },
    },
    unique: { ecc: p256Point(key) },
  });
}

export function akPublic(type: AkType, key: KeyObject): TPMT_PUBLIC {
  const common = { nameAlg: 'sha256' as HashAlg, objectAttributes: AK_ATTRIBUTES, authPolicy: new Uint8Array(0) };
  if (type === 'ecc') {
    return withBytes({
      ...common,
      type: 'ecc',
      parameters: {
        ecc: {
          symmetric: null,
          scheme: { scheme: TPM_ALG.ECDSA, hashAlg: 'sha256' },
          curveId: TPM_ECC_CURVE.NIST_P256,
          kdf: { scheme: TPM_ALG.NULL },
        },
      },
      unique: { ecc: p256Point(key) },
    });
  }
  return withBytes({
    ...common,
    type: 'rsa',
    parameters: {
      rsa: {
        symmetric: null,
        scheme: { scheme: type === 'rsapss' ? TPM_ALG.RSAPSS : TPM_ALG.RSASSA, hashAlg: 'sha256' },
        keyBits: 2048,
        exponent: 0,
      },
    },
    unique: { rsa: rsaModulus(key) },
  });
}

/** TPM_RH_ENDORSEMENT: the hierarchy the EK is a primary of; its handle is its qualified name. */
const TPM_RH_ENDORSEMENT = Uint8Array.of(0x40, 0x00, 0x00, 0x0b);

/**
 * Qualified Name (Part 1, 16): QN(child) = nameAlg ‖ H(QN(parent) ‖ Name(child)). The AK is a child of
 * the EK, as tpm2_createak makes it; TPM2_Quote puts the signer's qualified name in qualifiedSigner.
 */
export function qualifiedName(ek: TPMT_PUBLIC, ak: TPMT_PUBLIC): Uint8Array {
  const q = (parentQn: Uint8Array, name: Uint8Array, alg: HashAlg): Uint8Array => {
    const out = new Uint8Array(name.length);
    out.set(name.subarray(0, 2));
    out.set(digest(alg, parentQn, name), 2);
    return out;
  };
  const ekQn = q(TPM_RH_ENDORSEMENT, tpmObjectName(ek), ek.nameAlg);
  return q(ekQn, tpmObjectName(ak), ak.nameAlg);
}
