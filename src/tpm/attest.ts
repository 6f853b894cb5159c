/** TPMS_ATTEST (TPM 2.0 Part 2, 10.12.12): the structure a TPM signs for quotes and other attestations. */
import { ByteReader, ByteWriter } from '../util/bytes.ts';
import { copyBytes } from './copy.ts';
import { TPM2B_MAX, TPM_ST } from './attributes.ts';
import { type TPML_PCR_SELECTION, readPcrSelectionList, writePcrSelectionList } from './pcr-selection.ts';

export interface TPMS_CLOCK_INFO {
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
}

export type TPMU_ATTEST =
  | { kind: 'quote'; pcrSelect: TPML_PCR_SELECTION; pcrDigest: Uint8Array }
  /** Any other attestation type, checked for shape but kept as its raw TPMU_ATTEST bytes. */
  | { kind: 'other'; raw: Uint8Array };

export interface TPMS_ATTEST {
  magic: number;
  /** TPMI_ST_ATTEST */
  type: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clockInfo: TPMS_CLOCK_INFO;
  firmwareVersion: bigint;
  attested: TPMU_ATTEST;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(TPM_ST).map(([k, v]) => [v, `TPM_ST_${k}`]));

export function attestTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `0x${type.toString(16).padStart(4, '0')}`;
}

export function readClockInfo(r: ByteReader, field = 'clockInfo'): TPMS_CLOCK_INFO {
  const clock = r.u64(`${field}.clock`);
  const resetCount = r.u32(`${field}.resetCount`);
  const restartCount = r.u32(`${field}.restartCount`);
  const safeAt = r.offset;
  const safe = r.u8(`${field}.safe`);
  if (safe > 1) r.fail(`${field}.safe`, `TPMI_YES_NO value ${safe} is neither 0 nor 1`, safeAt);
  return { clock, resetCount, restartCount, safe: safe === 1 };
}

/** Walks the TPMU_ATTEST member for a non-quote type so malformed bodies are still refused. */
function skimOtherBody(r: ByteReader, type: number): void {
  switch (type) {
    case TPM_ST.ATTEST_CERTIFY:
      r.tpm2b('attested.certify.name', TPM2B_MAX.NAME);
      r.tpm2b('attested.certify.qualifiedName', TPM2B_MAX.NAME);
      return;
    case TPM_ST.ATTEST_CREATION:
      r.tpm2b('attested.creation.objectName', TPM2B_MAX.NAME);
      r.tpm2b('attested.creation.creationHash', TPM2B_MAX.DIGEST);
      return;
    case TPM_ST.ATTEST_NV:
      r.tpm2b('attested.nv.indexName', TPM2B_MAX.NAME);
      r.u16('attested.nv.offset');
      r.tpm2b('attested.nv.nvContents', TPM2B_MAX.MAX_NV_BUFFER);
      return;
    case TPM_ST.ATTEST_NV_DIGEST:
      r.tpm2b('attested.nvDigest.indexName', TPM2B_MAX.NAME);
      r.tpm2b('attested.nvDigest.nvDigest', TPM2B_MAX.DIGEST);
      return;
    case TPM_ST.ATTEST_TIME:
      r.u64('attested.time.time.time');
      readClockInfo(r, 'attested.time.time.clockInfo');
      r.u64('attested.time.firmwareVersion');
      return;
    case TPM_ST.ATTEST_COMMAND_AUDIT:
      r.u64('attested.commandAudit.auditCounter');
      r.u16('attested.commandAudit.digestAlg');
      r.tpm2b('attested.commandAudit.auditDigest', TPM2B_MAX.DIGEST);
      r.tpm2b('attested.commandAudit.commandDigest', TPM2B_MAX.DIGEST);
      return;
    case TPM_ST.ATTEST_SESSION_AUDIT: {
      const at = r.offset;
      const exclusive = r.u8('attested.sessionAudit.exclusiveSession');
      if (exclusive > 1) r.fail('attested.sessionAudit.exclusiveSession', `TPMI_YES_NO value ${exclusive}`, at);
      r.tpm2b('attested.sessionAudit.sessionDigest', TPM2B_MAX.DIGEST);
      return;
    }
    default:
      r.fail('type', `unknown attestation type ${attestTypeName(type)}`, r.offset);
  }
}

/**
 * Parses the exact bytes a TPM signed. A wrong magic is not a parse error (verifyQuote reports
 * it as quote_magic_invalid); an unknown type is, because its body cannot be delimited.
 */
export function parseTpmsAttest(bytes: Uint8Array): TPMS_ATTEST {
  const r = new ByteReader(bytes, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  const typeAt = r.offset;
  const type = r.u16('type');
  if (!TYPE_NAMES.has(type)) r.fail('type', `unknown attestation type ${attestTypeName(type)}`, typeAt);
  const qualifiedSigner = copyBytes(r.tpm2b('qualifiedSigner', TPM2B_MAX.NAME));
  const extraData = copyBytes(r.tpm2b('extraData', TPM2B_MAX.DATA));
  const clockInfo = readClockInfo(r);
  const firmwareVersion = r.u64('firmwareVersion');
  let attested: TPMU_ATTEST;
  if (type === TPM_ST.ATTEST_QUOTE) {
    const pcrSelect = readPcrSelectionList(r, 'attested.quote.pcrSelect');
    const pcrDigest = copyBytes(r.tpm2b('attested.quote.pcrDigest', TPM2B_MAX.DIGEST));
    attested = { kind: 'quote', pcrSelect, pcrDigest };
  } else {
    const start = r.offset;
    skimOtherBody(r, type);
    attested = { kind: 'other', raw: copyBytes(r.bytes.subarray(start, r.offset)) };
  }
  r.expectEnd();
  return { magic, type, qualifiedSigner, extraData, clockInfo, firmwareVersion, attested };
}

export function encodeTpmsAttest(a: TPMS_ATTEST): Uint8Array {
  const w = new ByteWriter();
  w.u32(a.magic).u16(a.type).tpm2b(a.qualifiedSigner).tpm2b(a.extraData);
  w.u64(a.clockInfo.clock).u32(a.clockInfo.resetCount).u32(a.clockInfo.restartCount).u8(a.clockInfo.safe ? 1 : 0);
  w.u64(a.firmwareVersion);
  if (a.attested.kind === 'quote') {
    writePcrSelectionList(w, a.attested.pcrSelect);
    w.tpm2b(a.attested.pcrDigest);
  } else {
    w.bytes(a.attested.raw);
  }
  return w.finish();
}
