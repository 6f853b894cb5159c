/**
 * TPM2_Quote verification: AK signature over TPMS_ATTEST, magic/type, nonce (extraData) and,
 * when PCR values are supplied, the pcrDigest. Malformed bytes throw ParseError; well-formed
 * evidence that does not verify answers ok:false with one Finding per failed check.
 */
import { type KeyObject, constants as cryptoConstants, verify as cryptoVerify } from 'node:crypto';
import type { Finding } from '../appraisal/types.ts';
import { constantTimeEqual, toHex } from '../util/encoding.ts';
import { type HashAlg, type PcrBanks, TPM_ALG } from './alg.ts';
import { algName } from './alg-names.ts';
import { type TPMS_ATTEST, type TPMS_CLOCK_INFO, attestTypeName, parseTpmsAttest } from './attest.ts';
import { TPM_GENERATED_VALUE, TPM_ST_ATTEST_QUOTE } from './attributes.ts';
import { PcrValueMissingError, computePcrDigest } from './pcr-digest.ts';
import { type TPML_PCR_SELECTION, formatPcrSelection } from './pcr-selection.ts';
import { ECC_CURVES, fixedWidth, publicKeyFromTpmt } from './public-key.ts';
import type { TPMT_PUBLIC } from './public.ts';
import { type TPMT_SIGNATURE, parseTpmtSignature } from './signature.ts';

export interface VerifyQuoteInput {
  akPub: TPMT_PUBLIC;
  /** TPMS_ATTEST exactly as signed (tpm2_quote -m). */
  quote: Uint8Array;
  /** TPMT_SIGNATURE (tpm2_quote -s, default tss format). */
  signature: Uint8Array;
  /** The nonce the quote must carry as extraData; omit to skip the nonce check (callers that check it elsewhere). */
  expectedExtraData?: Uint8Array;
  /** PCR values to check the pcrDigest against; omit to skip that check (resolveQuotedPcrs does it). */
  pcrValues?: PcrBanks;
  /** A KeyObject already derived from akPub, to save re-deriving it for every quote. */
  akKey?: KeyObject;
}

export interface QuoteVerification {
  ok: boolean;
  failures: Finding[];
  attest: TPMS_ATTEST;
  signature: TPMT_SIGNATURE;
  /** The signature's hash: the one the pcrDigest is computed with. */
  signatureHash: HashAlg;
  /** The quoted selection (empty when the attestation is not a quote). */
  pcrSelection: TPML_PCR_SELECTION;
  clockInfo: TPMS_CLOCK_INFO;
  firmwareVersion: bigint;
}

/**
 * Which signature the AK may produce. A restricted signing key with a fixed scheme signs only with
 * that scheme and hash; with TPM_ALG_NULL the caller picks (RSASSA or RSAPSS for RSA, ECDSA for ECC).
 * Returns a reason when not allowed.
 */
export function signatureSchemeProblem(ak: TPMT_PUBLIC, sig: TPMT_SIGNATURE): string | undefined {
  const scheme = ak.type === 'rsa' ? ak.parameters.rsa?.scheme : ak.type === 'ecc' ? ak.parameters.ecc?.scheme : undefined;
  if (scheme === undefined) return `the AK is a ${ak.type} object, which cannot sign quotes`;
  const allowed = ak.type === 'rsa' ? ['rsassa', 'rsapss'] : ['ecdsa'];
  if (!allowed.includes(sig.sigAlg)) return `a ${ak.type.toUpperCase()} AK cannot produce a ${sig.sigAlg.toUpperCase()} signature`;
  if (scheme.scheme === TPM_ALG.NULL) return undefined;
  const fixed = scheme.scheme === TPM_ALG.RSASSA ? 'rsassa' : scheme.scheme === TPM_ALG.RSAPSS ? 'rsapss' : scheme.scheme === TPM_ALG.ECDSA ? 'ecdsa' : undefined;
  if (fixed === undefined) return `the AK's scheme ${algName(scheme.scheme)} is not a quote signing scheme`;
  if (fixed !== sig.sigAlg) return `the AK is fixed to ${fixed.toUpperCase()} but the quote is signed with ${sig.sigAlg.toUpperCase()}`;
  if (scheme.hashAlg !== undefined && scheme.hashAlg !== sig.hash) {
    return `the AK is fixed to hash ${scheme.hashAlg} but the quote is signed with ${sig.hash}`;
  }
  return undefined;
}

/**
 * Checks the signature over `message`. RSAPSS is verified with the salt length recovered from the
 * signature (RSA_PSS_SALTLEN_AUTO): TPMs use salt = digest length (FIPS 186-4 mode, TPM spec
 * 1.38+), and older TPMs the maximum salt; both must be accepted, as go-tpm does.
 */
export function verifyTpmSignature(key: KeyObject, ak: TPMT_PUBLIC, sig: TPMT_SIGNATURE, message: Uint8Array): boolean {
  try {
    if (sig.sigAlg === 'ecdsa') {
      const curve = ak.parameters.ecc ? ECC_CURVES[ak.parameters.ecc.curveId] : undefined;
      if (!curve) return false;
      const r = fixedWidth(sig.r, curve.size);
      const s = fixedWidth(sig.s, curve.size);
      if (!r || !s) return false;
      const p1363 = new Uint8Array(2 * curve.size);
      p1363.set(r, 0);
      p1363.set(s, curve.size);
      return cryptoVerify(sig.hash, message, { key, dsaEncoding: 'ieee-p1363' }, p1363);
    }
    if (sig.sigAlg === 'rsapss') {
      return cryptoVerify(
        sig.hash,
        message,
        { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO },
        sig.sig,
      );
    }
    return cryptoVerify(sig.hash, message, { key, padding: cryptoConstants.RSA_PKCS1_PADDING }, sig.sig);
  } catch {
    // OpenSSL rejects some malformed signatures (wrong length, key/hash mismatch) by throwing.
    return false;
  }
}

export function verifyQuote(input: VerifyQuoteInput): QuoteVerification {
  const attest = parseTpmsAttest(input.quote);
  const signature = parseTpmtSignature(input.signature);
  const failures: Finding[] = [];

  const schemeProblem = signatureSchemeProblem(input.akPub, signature);
  if (schemeProblem !== undefined) {
    failures.push({
      code: 'quote_signature_scheme_invalid',
      message: `Quote signature ${signature.sigAlg.toUpperCase()}-${signature.hash} is not allowed for this AK: ${schemeProblem}.`,
      actual: `${signature.sigAlg}-${signature.hash}`,
    });
  } else {
    const key = input.akKey ?? publicKeyFromTpmt(input.akPub);
    if (!verifyTpmSignature(key, input.akPub, signature, input.quote)) {
      failures.push({
        code: 'quote_signature_invalid',
        message: `The ${signature.sigAlg.toUpperCase()}-${signature.hash} signature over the quote does not verify with the AK public key.`,
      });
    }
  }

  if (attest.magic !== TPM_GENERATED_VALUE) {
    failures.push({
      code: 'quote_magic_invalid',
      message: `TPMS_ATTEST magic is 0x${attest.magic.toString(16).padStart(8, '0')}, not TPM_GENERATED_VALUE 0xff544347: the TPM did not generate this structure.`,
      expected: '0xff544347',
      actual: `0x${attest.magic.toString(16).padStart(8, '0')}`,
    });
  }
  if (attest.type !== TPM_ST_ATTEST_QUOTE || attest.attested.kind !== 'quote') {
    failures.push({
      code: 'quote_type_invalid',
      message: `TPMS_ATTEST type is ${attestTypeName(attest.type)}, not TPM_ST_ATTEST_QUOTE.`,
      expected: 'TPM_ST_ATTEST_QUOTE',
      actual: attestTypeName(attest.type),
    });
  }
  if (input.expectedExtraData !== undefined && !constantTimeEqual(attest.extraData, input.expectedExtraData)) {
    failures.push({
      code: 'nonce_mismatch',
      message: `The quote's extraData (${attest.extraData.length} bytes) is not the expected nonce: the quote was not made for this challenge.`,
      expected: toHex(input.expectedExtraData),
      actual: toHex(attest.extraData),
    });
  }

  const pcrSelection = attest.attested.kind === 'quote' ? attest.attested.pcrSelect : [];
  if (input.pcrValues !== undefined && attest.attested.kind === 'quote') {
    const quoted = attest.attested.pcrDigest;
    try {
      const computed = computePcrDigest(pcrSelection, input.pcrValues, signature.hash);
      if (!constantTimeEqual(computed, quoted)) {
        failures.push({
          code: 'pcr_digest_mismatch',
          message: `The ${signature.hash} digest of the supplied PCR values (${formatPcrSelection(pcrSelection)}) does not match the quote's pcrDigest.`,
          expected: toHex(quoted),
          actual: toHex(computed),
        });
      }
    } catch (err) {
      if (!(err instanceof PcrValueMissingError)) throw err;
      failures.push({
        code: 'pcr_value_missing',
        message: `PCR ${err.pcr} (${err.bank}) is quoted but no value was supplied for it.`,
        pcr: err.pcr,
        bank: err.bank,
      });
    }
  }

  return {
    ok: failures.length === 0,
    failures,
    attest,
    signature,
    signatureHash: signature.hash,
    pcrSelection,
    clockInfo: attest.clockInfo,
    firmwareVersion: attest.firmwareVersion,
  };
}
