/**
 * `bootgate eventlog <file> [--json]`: parse and replay a binary TCG event log.
 * Exit 0 when the log parses (findings such as digest mismatches are printed, not fatal),
 * 2 when the input is unusable (unreadable file, malformed structure: the message names it; main reports it).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ParseError } from '../../util/errors.ts';
import { CliError } from '../output.ts';
import { toHex } from '../../util/encoding.ts';
import {
  checkDigestConsistencyDetailed,
  describeEvent,
  eventLogToJson,
  parseEventLog,
  replayEventLog,
  type ConsistencyReport,
  type EventLog,
  type ReplayResult,
} from '../../eventlog/index.ts';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatEventLogText(file: string, log: EventLog, replay: ReplayResult, consistency: ConsistencyReport): string {
  const out: string[] = [];
  const spec = log.specId ? ` (TCG_EfiSpecIdEvent v${log.specId.specVersion.major}.${log.specId.specVersion.minor}.${log.specId.specVersion.errata})` : '';
  out.push(`${file}: ${log.format} event log${spec}, ${log.events.length} events, banks: ${log.banks.join(', ')}`);
  const shown = log.banks.includes('sha256') ? 'sha256' : (log.banks[0] ?? 'sha1');
  out.push('');
  out.push(`${pad('#', 5)}${pad('PCR', 5)}${pad('TYPE', 35)}${pad(shown.toUpperCase(), 14)}DETAILS`);
  for (const e of log.events) {
    const d = e.digests[shown];
    const pcr = e.pcr === 0xffffffff ? '-1' : String(e.pcr);
    out.push(`${pad(String(e.index), 5)}${pad(pcr, 5)}${pad(e.typeName, 35)}${pad(d ? `${toHex(d).slice(0, 12)}` : '(none)', 14)}${describeEvent(e)}`);
  }
  out.push('');
  out.push('Replayed PCRs');
  for (const [bank, values] of Object.entries(replay.pcrs)) {
    if (values === undefined) continue;
    out.push(`  ${bank}`);
    for (const pcr of [...values.keys()].sort((a, b) => a - b)) out.push(`    ${pad(String(pcr), 4)}${toHex(values.get(pcr)!)}`);
  }
  if (replay.startupLocality !== undefined) out.push(`  (PCR 0 initialised for StartupLocality ${replay.startupLocality})`);
  out.push('');
  if (replay.unreplayable.length > 0) {
    out.push('Unreplayable (an event lacks this bank\'s digest; the value cannot be trusted from the log):');
    for (const u of replay.unreplayable) out.push(`  ${u.bank} PCR ${u.pcr}: event ${u.eventIndex} carries no ${u.bank} digest`);
  }
  if (consistency.mismatches.length === 0) out.push('Event data: every checkable digest verifies its data');
  else {
    out.push(`Event data UNVERIFIED in ${consistency.mismatches.length} digest(s): no golden rule may read it; a profile can still pin the digest`);
    for (const m of consistency.mismatches) {
      const why = m.knownDeviation !== undefined ? ` (known deviation ${m.knownDeviation})` : '';
      out.push(`  event ${m.eventIndex} PCR ${m.pcr} ${m.typeName} ${m.bank}: logged ${m.logged}, hash of event data ${m.computed}${why}`);
    }
  }
  const byQuirk = new Map<string, Set<number>>();
  for (const q of consistency.quirksApplied) byQuirk.set(q.quirkId, (byQuirk.get(q.quirkId) ?? new Set()).add(q.eventIndex));
  for (const [id, events] of byQuirk) out.push(`  accepted by firmware quirk ${id}: events ${[...events].join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function registerEventlog(program: Command, setExit: (code: number) => void): void {
  program
    .command('eventlog')
    .description('Parse and replay a binary TCG event log (crypto-agile or legacy SHA-1)')
    .argument('<file>', 'event log, e.g. /sys/kernel/security/tpm0/binary_bios_measurements')
    .option('--json', 'print the contract JSON form')
    .action((file: string, opts: { json?: boolean }) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (err) {
        throw new CliError('file_unreadable', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      let log: EventLog;
      try {
        log = parseEventLog(bytes);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        throw new CliError('malformed_event_log', `${file} is not a usable TCG event log: ${err.message}`);
      }
      const replay = replayEventLog(log);
      const consistency = checkDigestConsistencyDetailed(log);
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(eventLogToJson(log, replay, consistency), null, 2)}\n`);
      } else {
        process.stdout.write(formatEventLogText(file, log, replay, consistency));
      }
      setExit(0);
    });
}
