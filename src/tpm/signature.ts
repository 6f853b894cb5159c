/** TPMT_SIGNATURE (TPM 2.0 Part 2, 11.3.4) for the schemes a quote can carry. */
import { ByteReader, ByteWriter } from '../util/bytes.ts';
import { copyBytes } from './copy.ts';
import { type HashAlg, TPM_ALG, hashAlgFromId, hashAlgId } from './alg.ts';
import { algName } from './alg-names.ts';
import { TPM2B_MAX } from './attributes.ts';

export type SigAlg = 'rsassa' | 'rsapss' | 'ecdsa';

export type TPMT_SIGNATURE =
  | { sigAlg: 'rsassa' | 'rsapss'; hash: HashAlg; sig: Uint8Array }
  | { sigAlg: 'ecdsa'; hash: HashAlg; r: Uint8Array; s: Uint8Array };

export const SIG_ALG_ID: Record<SigAlg, number> = { rsassa: TPM_ALG.RSASSA, rsapss: TPM_ALG.RSAPSS, ecdsa: TPM_ALG.ECDSA };

export function readTpmtSignature(r: ByteReader): TPMT_SIGNATURE {
  const algAt = r.offset;
  const alg = r.u16('sigAlg');
  if (alg !== TPM_ALG.RSASSA && alg !== TPM_ALG.RSAPSS && alg !== TPM_ALG.ECDSA) {
    r.fail('sigAlg', `unsupported signature algorithm ${algName(alg)} (expected RSASSA, RSAPSS or ECDSA)`, algAt);
  }
  const hashAt = r.offset;
  const hashId = r.u16('signature.hash');
  const hash = hashAlgFromId(hashId);
  if (hash === undefined) r.fail('signature.hash', `unsupported signature hash ${algName(hashId)}`, hashAt);
  if (alg === TPM_ALG.ECDSA) {
    const sr = copyBytes(r.tpm2b('signature.ecdsa.signatureR', TPM2B_MAX.ECC_PARAMETER));
    const ss = copyBytes(r.tpm2b('signature.ecdsa.signatureS', TPM2B_MAX.ECC_PARAMETER));
    return { sigAlg: 'ecdsa', hash, r: sr, s: ss };
  }
  const sig = copyBytes(r.tpm2b('signature.rsa.sig', TPM2B_MAX.PUBLIC_KEY_RSA));
  return { sigAlg: alg === TPM_ALG.RSASSA ? 'rsassa' : 'rsapss', hash, sig };
}

export function parseTpmtSignature(bytes: Uint8Array): TPMT_SIGNATURE {
  const r = new ByteReader(bytes, 'TPMT_SIGNATURE');
  const sig = readTpmtSignature(r);
  r.expectEnd();
  return sig;
}

export function encodeTpmtSignature(s: TPMT_SIGNATURE): Uint8Array {
  const w = new ByteWriter();
  w.u16(SIG_ALG_ID[s.sigAlg]).u16(hashAlgId(s.hash));
  if (s.sigAlg === 'ecdsa') w.tpm2b(s.r).tpm2b(s.s);
  else w.tpm2b(s.sig);
  return w.finish();
}
