/**
 * `bootgate appraise`: offline appraisal of an event log (and optionally a quote) against golden
 * profiles, through the same appraiseEvidence pipeline as the service. Exit 0 pass, 1 fail, 2 unusable input.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { appraiseEvidence, type AppraisalOutcome } from '../../appraisal/pipeline.ts';
import { loadProfileDir, loadProfileFile } from '../../golden/load.ts';
import type { GoldenProfile } from '../../golden/schema.ts';
import { parseTpmsAttest } from '../../tpm/attest.ts';
import { parsePcrFile } from '../../tpm/pcr-file.ts';
import { fromHex, toHex } from '../../util/encoding.ts';
import { CliError } from '../output.ts';

interface AppraiseOptions {
  golden: string[];
  eventlog: string;
  ak?: string;
  quote?: string;
  signature?: string;
  nonce?: string;
  pcrs?: string;
  json?: boolean;
}

function readBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}

function loadProfiles(paths: string[]): GoldenProfile[] {
  return paths.flatMap((p) => (statSync(p).isDirectory() ? loadProfileDir(p) : [loadProfileFile(p)]));
}

/** JSON with bigint as decimal strings and bytes as hex. */
export function outcomeJson(o: AppraisalOutcome): string {
  const { verdict, profile, failures, pcrs, clockInfo, timings, unverifiedData } = o;
  return JSON.stringify({ verdict, profile, failures, pcrs, ...(unverifiedData !== undefined ? { unverifiedData } : {}), ...(clockInfo !== undefined ? { clockInfo } : {}), timings }, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v, 2);
}

function human(o: AppraisalOutcome): string {
  const lines = [`verdict: ${o.verdict}${o.profile !== null ? ` (profile ${o.profile})` : ''}`];
  for (const f of o.failures) lines.push(`  ${f.code}: ${f.message}`);
  for (const u of o.unverifiedData ?? []) {
    lines.push(`  note: PCR ${u.pcr} event ${u.eventIndex} (${u.eventType}) was decided by its ${u.bank} digest alone; its data is unverified${u.knownDeviation !== undefined ? ` (known deviation ${u.knownDeviation})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerAppraise(program: Command, setExit: (code: number) => void): void {
  program
    .command('appraise')
    .description('Appraise an event log (and optionally a quote) against golden profiles, offline')
    .requiredOption('--golden <path>', 'golden profile file or directory (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .requiredOption('--eventlog <file>', 'binary event log')
    .option('--ak <file>', 'AK public (TPM2B_PUBLIC or TPMT_PUBLIC)')
    .option('--quote <file>', 'TPMS_ATTEST (tpm2_quote -m)')
    .option('--signature <file>', 'TPMT_SIGNATURE (tpm2_quote -s)')
    .option('--nonce <hex>', 'expected quote extraData, hex ("" for empty)')
    .option('--pcrs <file>', 'claimed PCR values: JSON {"sha256": {"10": hex}} or a tpm2_quote -o file')
    .option('--json', 'print the outcome as JSON')
    .action((opts: AppraiseOptions) => {
      const quoteGiven = [opts.ak, opts.quote, opts.signature, opts.nonce].filter((x) => x !== undefined).length;
      if (quoteGiven !== 0 && quoteGiven !== 4) throw new CliError('usage_error', '--ak, --quote, --signature and --nonce go together');
      let nonce: Uint8Array | undefined;
      if (opts.nonce !== undefined) {
        const n = fromHex(opts.nonce);
        if (n === null) throw new CliError('invalid_nonce', '--nonce must be hex');
        nonce = n;
      }
      const profiles = loadProfiles(opts.golden);
      const quote = opts.quote !== undefined ? readBytes(opts.quote) : undefined;
      let claimedPcrs;
      if (opts.pcrs !== undefined) {
        const att = quote !== undefined ? parseTpmsAttest(quote) : undefined;
        const sel = att?.attested.kind === 'quote' ? att.attested.pcrSelect : undefined;
        claimedPcrs = parsePcrFile(readBytes(opts.pcrs), sel).values;
      }
      const outcome = appraiseEvidence({
        eventLog: readBytes(opts.eventlog),
        profiles,
        ...(opts.ak !== undefined ? { akPub: readBytes(opts.ak) } : {}),
        ...(quote !== undefined ? { quote } : {}),
        ...(opts.signature !== undefined ? { signature: readBytes(opts.signature) } : {}),
        ...(nonce !== undefined ? { expectedExtraData: nonce } : {}),
        ...(claimedPcrs !== undefined ? { claimedPcrs } : {}),
      });
      process.stdout.write(opts.json === true ? `${outcomeJson(outcome)}\n` : human(outcome));
      setExit(outcome.verdict === 'pass' ? 0 : 1);
    });
}
