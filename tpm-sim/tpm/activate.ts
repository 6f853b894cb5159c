/**
 * TPM2_ActivateCredential: recover the seed with the EK private key, then check and decrypt the
 * credential for the activated object's Name. The seed is protected as the TPM does it:
 * RSA EK: RSA-OAEP(SHA-256, label "IDENTITY\0"); ECC EK: ECDH with the ephemeral point, then
 * KDFe(nameAlg, Z.x, "IDENTITY", ephemeral.x, ek.x).
 */
import { createPublicKey, diffieHellman, privateDecrypt, constants, type KeyObject } from 'node:crypto';
import { DIGEST_SIZE } from '../../src/tpm/alg.ts';
import { parseCredentialFile, unwrapCredential } from '../../src/tpm/credential.ts';
import { kdfe } from '../../src/tpm/kdf.ts';
import type { TPMT_PUBLIC } from '../../src/tpm/public.ts';
import { ByteReader } from '../../src/util/bytes.ts';

export class ActivateCredentialError extends Error {
  constructor(
    /** TPM_RC name the real TPM would return. */
    readonly rc: 'TPM_RC_INTEGRITY' | 'TPM_RC_VALUE' | 'TPM_RC_SIZE',
    message: string,
  ) {
    super(`TPM2_ActivateCredential failed (${rc}): ${message}`);
  }
}

function recoverSeed(ekPub: TPMT_PUBLIC, ekKey: KeyObject, encryptedSecret: Uint8Array): Uint8Array {
  const outer = new ByteReader(encryptedSecret, 'TPM2B_ENCRYPTED_SECRET');
  const secret = outer.tpm2b('secret');
  outer.expectEnd();
  if (ekPub.type === 'rsa') {
    try {
      return new Uint8Array(
        privateDecrypt(
          { key: ekKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: ekPub.nameAlg, oaepLabel: Buffer.from('IDENTITY\0', 'latin1') },
          secret,
        ),
      );
    } catch {
      throw new ActivateCredentialError('TPM_RC_VALUE', 'the encrypted seed does not decrypt with this EK');
    }
  }
  const r = new ByteReader(secret, 'TPMS_ECC_POINT');
  const x = r.tpm2b('x', 66);
  const y = r.tpm2b('y', 66);
  r.expectEnd();
  const ekPoint = ekPub.unique.ecc;
  if (!ekPoint) throw new ActivateCredentialError('TPM_RC_VALUE', 'the EK has no ECC point');
  let z: Uint8Array;
  try {
    const ephemeral = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(x).toString('base64url'), y: Buffer.from(y).toString('base64url') },
      format: 'jwk',
    });
    z = new Uint8Array(diffieHellman({ privateKey: ekKey, publicKey: ephemeral }));
  } catch {
    throw new ActivateCredentialError('TPM_RC_VALUE', 'the ephemeral point is not on the EK curve');
  }
  return kdfe(ekPub.nameAlg, z, 'IDENTITY', x, ekPoint.x, DIGEST_SIZE[ekPub.nameAlg] * 8);
}

export function activateCredential(ekPub: TPMT_PUBLIC, ekKey: KeyObject, objectName: Uint8Array, credentialFile: Uint8Array): Uint8Array {
  const { credentialBlob, encryptedSecret } = parseCredentialFile(credentialFile);
  const seed = recoverSeed(ekPub, ekKey, encryptedSecret);
  const sym = ekPub.type === 'rsa' ? ekPub.parameters.rsa?.symmetric : ekPub.parameters.ecc?.symmetric;
  if (!sym) throw new ActivateCredentialError('TPM_RC_VALUE', 'the EK is not a storage key');
  try {
    return unwrapCredential(ekPub.nameAlg, sym.keyBits, seed, objectName, credentialBlob);
  } catch (err) {
    throw new ActivateCredentialError(
      'TPM_RC_INTEGRITY',
      `the credential was not made for this EK and object name (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}
