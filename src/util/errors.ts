/**
 * Error types shared by the pure core and the shells.
 *
 * The core throws ParseError for bytes it cannot decode. Shells (HTTP, CLI) translate
 * errors into their own vocabulary: the HTTP layer turns a ParseError into a 400 with a
 * code chosen for the request field, and an ApiError into its status and code.
 */

/** Bytes that do not decode as the structure they claim to be. Never a programming error. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    /** TCG name of the structure being decoded, e.g. "TPMS_ATTEST" or "TCG_PCR_EVENT2". */
    readonly structure: string,
    /** Field inside the structure, e.g. "extraData.size". */
    readonly field: string,
    /** Byte offset in the outermost input where the problem was found. */
    readonly offset: number,
    detail: string,
  ) {
    super(`${structure}.${field} at offset ${offset}: ${detail}`);
  }
}

/** A failure with a stable snake_case code and an HTTP status, raised by the service layer. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The snake_case code that names what a ParseError was decoding: the request field (HTTP) or input file (CLI). */
export function malformedCode(err: ParseError): string {
  const s = err.structure;
  if (s.startsWith('TPMS_ATTEST') || s.startsWith('TPML_PCR_SELECTION') || s.startsWith('TPMS_PCR_SELECTION') || s.startsWith('TPMS_CLOCK')) return 'malformed_quote';
  if (s.startsWith('TPMT_SIGNATURE') || s.startsWith('TPMS_SIGNATURE')) return 'malformed_signature';
  if (s.startsWith('TPMT_PUBLIC') || s.startsWith('TPM2B_PUBLIC')) return 'malformed_ak_pub';
  if (s.startsWith('tpm2_pcrs') || s === 'pcrs') return 'malformed_pcrs';
  return 'malformed_event_log';
}
