/**
 * Enrollment preparation (contract §3.1), the pure part of POST /v1/enrollments: validate the
 * EK certificate, tie ekPub to it, check the AK, and wrap a fresh secret with MakeCredential.
 * The HTTP route and storage (engineer SERVICE) call this and persist the result.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, ParseError } from '../util/errors.ts';
import { bytesEqual, toHex } from '../util/encoding.ts';
import { type TPMT_PUBLIC, TPMA_OBJECT, encodeCredentialFile, makeCredential, parsePublic, publicKeyFromTpmt, tpmObjectName } from '../tpm/index.ts';
import { checkAkPublic } from './ak-policy.ts';
import { type EkCertFailureCode, type EkCertValid, validateEkCertificate } from './ek-chain.ts';
import type { EkRoots } from './ek-roots.ts';
import { EkTemplateError, ekPublicFromCertificateKey } from './ek-template.ts';
import { spkiDer } from './x509.ts';

export const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Bytes of the secret wrapped for the TPM; the host proves possession of EK+AK by returning it. */
export const ENROLLMENT_SECRET_BYTES = 32;

export interface EnrollmentInput {
  hostId: string;
  /** EK certificate, DER or PEM. */
  ekCert: Uint8Array;
  /** TPM2B_PUBLIC (or bare TPMT_PUBLIC) of the EK, as `tpm2_createek -u` writes it. */
  ekPub?: Uint8Array;
  /** TPM2B_PUBLIC (or bare TPMT_PUBLIC) of the AK, as `tpm2_createak -u` writes it. */
  akPub: Uint8Array;
  roots: EkRoots;
  /** Extra intermediate CA certificates for the EK chain. */
  intermediates?: Uint8Array[];
  now: Date;
}

/** What the EK certificate said, in a JSON-friendly shape for storage and logs. */
export interface EkInfo {
  chain: string[];
  tpmManufacturer?: string;
  tpmModel?: string;
  tpmVersion?: string;
  keyType: 'rsa' | 'ecc';
  rsaBits?: number;
  curve?: 'P-256' | 'P-384';
  serialNumber: string;
  notAfter: string;
  quirks: string[];
  /** Where the EK public area used for MakeCredential came from. */
  ekPublicSource: 'ekPub' | 'default-template';
}

export interface PreparedEnrollment {
  hostId: string;
  /** Hex SHA-256 of the EK's (canonical DER) SubjectPublicKeyInfo: the TPM's identity. */
  ekFingerprint: string;
  /** AK Name (u16 nameAlg ‖ digest); contract responses carry it as hex. */
  akName: Uint8Array;
  akNameHex: string;
  akPublic: TPMT_PUBLIC;
  /** The EK public area MakeCredential used. */
  ekPublic: TPMT_PUBLIC;
  /** The fresh secret. Keep only a hash of it (never log it); compare with constantTimeEqual on activation. */
  secret: Uint8Array;
  /** tpm2-tools credential file (contract §1 credentialBlob). */
  credentialFile: Uint8Array;
  ekInfo: EkInfo;
}

/** HTTP status and code for each EK certificate failure. */
export const EK_CERT_FAILURE_STATUS: Record<EkCertFailureCode, { status: 400 | 403; code: string }> = {
  ek_cert_malformed: { status: 400, code: 'malformed_ek_cert' },
  ek_cert_untrusted: { status: 403, code: 'ek_cert_untrusted' },
  ek_cert_expired: { status: 403, code: 'ek_cert_expired' },
  ek_cert_not_yet_valid: { status: 403, code: 'ek_cert_not_yet_valid' },
  ek_cert_not_ek: { status: 403, code: 'ek_cert_not_ek' },
};

function parseTpmPublic(bytes: Uint8Array, code: 'malformed_ak_pub' | 'malformed_ek_pub', what: string): TPMT_PUBLIC {
  try {
    return parsePublic(bytes);
  } catch (err) {
    const detail = err instanceof ParseError ? err.message : String((err as Error)?.message ?? err);
    throw new ApiError(400, code, `${what} is not a TPM2B_PUBLIC: ${detail}`);
  }
}

/** The EK public area must be a storage key MakeCredential can target, carrying exactly the certificate's key. */
function ekPublicFromEkPub(ekPubBytes: Uint8Array, ek: EkCertValid): TPMT_PUBLIC {
  const ekPub = parseTpmPublic(ekPubBytes, 'malformed_ek_pub', 'ekPub');
  if (ekPub.type !== 'rsa' && ekPub.type !== 'ecc') throw new ApiError(400, 'malformed_ek_pub', `ekPub is a ${ekPub.type} object, not an RSA or ECC EK`);
  const attrs = ekPub.objectAttributes >>> 0;
  const sym = ekPub.type === 'rsa' ? ekPub.parameters.rsa?.symmetric : ekPub.parameters.ecc?.symmetric;
  if (!(attrs & TPMA_OBJECT.restricted) || !(attrs & TPMA_OBJECT.decrypt) || attrs & TPMA_OBJECT.sign || !sym) {
    throw new ApiError(400, 'malformed_ek_pub', 'ekPub is not a restricted decryption (storage) key with a symmetric definition, as an EK is');
  }
  let ekPubSpki: Uint8Array;
  try {
    ekPubSpki = spkiDer(publicKeyFromTpmt(ekPub));
  } catch (err) {
    throw new ApiError(400, 'malformed_ek_pub', `ekPub does not hold a usable public key: ${(err as Error).message}`);
  }
  if (!bytesEqual(ekPubSpki, ek.spki)) {
    throw new ApiError(403, 'ek_pub_mismatch', 'ekPub does not carry the public key of the EK certificate');
  }
  return ekPub;
}

/**
 * Validates an enrollment request and prepares its credential. Throws ApiError with the
 * contract's status and a stable code for every refusal; never anything else for hostile input.
 */
export async function prepareEnrollment(input: EnrollmentInput): Promise<PreparedEnrollment> {
  if (typeof input.hostId !== 'string' || !HOST_ID_RE.test(input.hostId)) {
    throw new ApiError(400, 'invalid_host_id', 'hostId must be 1-128 characters from [A-Za-z0-9._:-]');
  }
  // Cheap structural checks first, so a malformed AK is reported before any chain work.
  const akPublic = parseTpmPublic(input.akPub, 'malformed_ak_pub', 'akPub');
  const akFindings = checkAkPublic(akPublic);
  const firstAk = akFindings[0];
  if (firstAk) throw new ApiError(400, firstAk.code, akFindings.map((f) => f.message).join('; '));
  if (input.ekPub !== undefined) parseTpmPublic(input.ekPub, 'malformed_ek_pub', 'ekPub');

  const ek = await validateEkCertificate({
    ekCert: input.ekCert,
    roots: input.roots,
    now: input.now,
    ...(input.intermediates ? { intermediates: input.intermediates } : {}),
  });
  if (!ek.ok) {
    const mapped = EK_CERT_FAILURE_STATUS[ek.code];
    throw new ApiError(mapped.status, mapped.code, ek.message);
  }

  let ekPublic: TPMT_PUBLIC;
  if (input.ekPub !== undefined) {
    ekPublic = ekPublicFromEkPub(input.ekPub, ek);
  } else {
    try {
      ekPublic = ekPublicFromCertificateKey(ek.publicKey);
    } catch (err) {
      if (err instanceof EkTemplateError) throw new ApiError(400, 'ek_pub_required', err.message);
      throw err;
    }
  }

  const akName = tpmObjectName(akPublic);
  const secret = new Uint8Array(randomBytes(ENROLLMENT_SECRET_BYTES));
  let credentialFile: Uint8Array;
  try {
    credentialFile = encodeCredentialFile(makeCredential(ekPublic, akName, secret));
  } catch (err) {
    // makeCredential refuses EK parameters it cannot serve (e.g. a non-AES symmetric definition).
    throw new ApiError(400, 'malformed_ek_pub', `cannot make a credential for this EK: ${(err as Error).message}`);
  }
  return {
    hostId: input.hostId,
    ekFingerprint: ek.ekFingerprint,
    akName,
    akNameHex: toHex(akName),
    akPublic,
    ekPublic,
    secret,
    credentialFile,
    ekInfo: {
      chain: ek.chain,
      ...(ek.tpm.manufacturer !== undefined ? { tpmManufacturer: ek.tpm.manufacturer } : {}),
      ...(ek.tpm.model !== undefined ? { tpmModel: ek.tpm.model } : {}),
      ...(ek.tpm.version !== undefined ? { tpmVersion: ek.tpm.version } : {}),
      keyType: ek.keyType,
      ...(ek.rsaBits !== undefined ? { rsaBits: ek.rsaBits } : {}),
      ...(ek.curve !== undefined ? { curve: ek.curve } : {}),
      serialNumber: ek.serialNumber,
      notAfter: ek.notAfter.toISOString(),
      quirks: ek.quirks,
      ekPublicSource: input.ekPub !== undefined ? 'ekPub' : 'default-template',
    },
  };
}
