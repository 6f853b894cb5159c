/**
 * `bootgate verify-quote`: offline TPM2_Quote check (contract §5).
 * Exit 0 valid, 1 not valid, 2 unusable input (unreadable or malformed files, bad hex).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Finding } from '../../appraisal/types.ts';
import { resolveQuotedPcrs } from '../../appraisal/quoted-pcrs.ts';
import { parseEventLog, replayEventLog } from '../../eventlog/index.ts';
import {
  type PcrBanks,
  type QuoteVerification,
  type TPMT_PUBLIC,
  attestTypeName,
  describeObjectAttributes,
  parsePcrFile,
  parsePublic,
  parseTpmsAttest,
  pcrBanksToJson,
  tpmObjectName,
  verifyQuote,
} from '../../tpm/index.ts';
import { fromHex, toHex } from '../../util/encoding.ts';
import { ParseError, malformedCode } from '../../util/errors.ts';
import { CliError } from '../output.ts';

interface VerifyQuoteOptions {
  ak: string;
  quote: string;
  signature: string;
  nonce: string;
  pcrs?: string;
  eventlog?: string;
  json?: boolean;
}

function readInput(file: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new CliError('file_unreadable', `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Input the command cannot use is reported (exit 2) with a code naming the file's structure. */
function decode<T>(what: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ParseError) throw new CliError(malformedCode(err), `${what} ${file} is malformed: ${err.message}`);
    throw err;
  }
}

export interface VerifyQuoteReport {
  valid: boolean;
  failures: Finding[];
  ak: { type: string; nameAlg: string; name: string; objectAttributes: string[] };
  quote: {
    magic: string;
    type: string;
    qualifiedSigner: string;
    extraData: string;
    clockInfo: { clock: string; resetCount: number; restartCount: number; safe: boolean };
    firmwareVersion: string;
    pcrSelection: { hash: string; pcrs: number[] }[];
    pcrDigest?: string;
    signature: { alg: string; hash: string };
  };
  /** How the pcrDigest was checked: against --pcrs, against the log (+ --pcrs), or not at all. */
  pcrCheck: 'pcrs' | 'eventlog' | 'none';
  pcrFileFormat?: string;
  pcrs?: Record<string, Record<string, string>>;
  pcrSources?: Record<string, Record<string, string>>;
}

export function runVerifyQuote(opts: VerifyQuoteOptions): VerifyQuoteReport {
  const nonce = fromHex(opts.nonce);
  if (nonce === null) throw new CliError('invalid_nonce', `--nonce "${opts.nonce}" is not hex (an even number of hex digits, "" for empty extraData)`);
  const akPub: TPMT_PUBLIC = decode('AK public area', opts.ak, () => parsePublic(readInput(opts.ak, 'AK')));
  const quoteBytes = readInput(opts.quote, 'quote');
  const sigBytes = readInput(opts.signature, 'signature');
  const attest = decode('quote', opts.quote, () => parseTpmsAttest(quoteBytes));
  const selection = attest.attested.kind === 'quote' ? attest.attested.pcrSelect : [];

  let claimed: PcrBanks | undefined;
  let pcrFileFormat: string | undefined;
  if (opts.pcrs !== undefined) {
    const pcrFile = opts.pcrs;
    const parsed = decode('PCR file', pcrFile, () => parsePcrFile(readInput(pcrFile, 'PCR'), selection));
    claimed = parsed.values;
    pcrFileFormat = parsed.format;
  }

  let result: QuoteVerification;
  let pcrCheck: VerifyQuoteReport['pcrCheck'] = 'none';
  let usedPcrs: PcrBanks | undefined;
  let pcrSources: VerifyQuoteReport['pcrSources'];
  if (opts.eventlog !== undefined) {
    const logFile = opts.eventlog;
    const log = decode('event log', logFile, () => parseEventLog(readInput(logFile, 'event log')));
    const replay = replayEventLog(log);
    result = decode('quote signature', opts.signature, () => verifyQuote({ akPub, quote: quoteBytes, signature: sigBytes, expectedExtraData: nonce }));
    if (attest.attested.kind === 'quote') {
      const resolved = decode('PCR values', opts.pcrs ?? opts.eventlog, () =>
        resolveQuotedPcrs(selection, replay, claimed, attest.attested.kind === 'quote' ? attest.attested.pcrDigest : new Uint8Array(), result.signatureHash),
      );
      result.failures.push(...resolved.findings);
      result.ok = result.failures.length === 0;
      usedPcrs = resolved.values;
      pcrSources = {};
      for (const [bank, m] of Object.entries(resolved.source)) pcrSources[bank] = Object.fromEntries([...m].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
      pcrCheck = 'eventlog';
    }
  } else {
    result = decode('quote signature', opts.signature, () =>
      verifyQuote({ akPub, quote: quoteBytes, signature: sigBytes, expectedExtraData: nonce, ...(claimed ? { pcrValues: claimed } : {}) }),
    );
    if (claimed) {
      pcrCheck = 'pcrs';
      usedPcrs = claimed;
    }
  }

  const a = result.attest;
  return {
    valid: result.ok,
    failures: result.failures,
    ak: { type: akPub.type, nameAlg: akPub.nameAlg, name: toHex(tpmObjectName(akPub)), objectAttributes: describeObjectAttributes(akPub.objectAttributes) },
    quote: {
      magic: `0x${a.magic.toString(16).padStart(8, '0')}`,
      type: attestTypeName(a.type),
      qualifiedSigner: toHex(a.qualifiedSigner),
      extraData: toHex(a.extraData),
      clockInfo: { ...a.clockInfo, clock: a.clockInfo.clock.toString() },
      firmwareVersion: `0x${a.firmwareVersion.toString(16).padStart(16, '0')}`,
      pcrSelection: result.pcrSelection.map((s) => ({ hash: s.hash, pcrs: s.pcrs })),
      ...(a.attested.kind === 'quote' ? { pcrDigest: toHex(a.attested.pcrDigest) } : {}),
      signature: { alg: result.signature.sigAlg, hash: result.signature.hash },
    },
    pcrCheck,
    ...(pcrFileFormat ? { pcrFileFormat } : {}),
    ...(usedPcrs ? { pcrs: pcrBanksToJson(usedPcrs) as Record<string, Record<string, string>> } : {}),
    ...(pcrSources ? { pcrSources } : {}),
  };
}

function humanReport(r: VerifyQuoteReport): string {
  const lines: string[] = [];
  lines.push(`quote: ${r.valid ? 'VALID' : 'INVALID'}`);
  lines.push(`  AK: ${r.ak.type.toUpperCase()} ${r.ak.nameAlg}, name ${r.ak.name}`);
  lines.push(`  signature: ${r.quote.signature.alg.toUpperCase()}-${r.quote.signature.hash}`);
  lines.push(`  extraData: ${r.quote.extraData || '(empty)'}`);
  lines.push(
    `  clock: ${r.quote.clockInfo.clock} ms, resetCount ${r.quote.clockInfo.resetCount}, restartCount ${r.quote.clockInfo.restartCount}, safe ${r.quote.clockInfo.safe}; firmware ${r.quote.firmwareVersion}`,
  );
  lines.push(`  PCRs quoted: ${r.quote.pcrSelection.map((s) => `${s.hash}:${s.pcrs.join(',')}`).join('+') || '(none)'}`);
  if (r.pcrCheck === 'none') lines.push('  pcrDigest: not checked (no --pcrs or --eventlog given)');
  else lines.push(`  pcrDigest: checked against ${r.pcrCheck === 'eventlog' ? 'the event log replay (and --pcrs for PCRs the log does not cover)' : `--pcrs (${r.pcrFileFormat})`}`);
  for (const f of r.failures) {
    const where = [f.bank, f.pcr !== undefined ? `PCR ${f.pcr}` : undefined].filter(Boolean).join(' ');
    lines.push(`  FAIL ${f.code}${where ? ` [${where}]` : ''}: ${f.message}`);
    if (f.expected !== undefined || f.actual !== undefined) lines.push(`       expected ${String(f.expected) || '(empty)'}, actual ${String(f.actual) || '(empty)'}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerVerifyQuote(program: Command, setExit: (code: number) => void): void {
  program
    .command('verify-quote')
    .description('Verify a TPM2_Quote offline: AK signature, magic/type, nonce, and pcrDigest against PCR values or an event log')
    .requiredOption('--ak <file>', 'AK public area: TPM2B_PUBLIC (tpm2_createak -u) or bare TPMT_PUBLIC')
    .requiredOption('--quote <file>', 'TPMS_ATTEST as signed (tpm2_quote -m)')
    .requiredOption('--signature <file>', 'TPMT_SIGNATURE (tpm2_quote -s)')
    .requiredOption('--nonce <hex>', 'expected extraData in hex; "" for empty')
    .option('--pcrs <file>', 'PCR values: JSON {"sha256": {"0": hex}} or the tpm2_quote -o file (serialized or -F values)')
    .option('--eventlog <file>', 'binary event log to replay; quoted PCRs it covers must equal its replay')
    .option('--json', 'print a structured result')
    .action((opts: VerifyQuoteOptions) => {
      const report = runVerifyQuote(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : humanReport(report));
      setExit(report.valid ? 0 : 1);
    });
}
