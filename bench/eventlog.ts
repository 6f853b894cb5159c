/**
 * Event-log benchmark on go-tpm-tools' rhel8-uefi.bin (83 events, 3 banks): parse alone, and
 * parse + replay + digest consistency, against a floor of one SHA-256 over the log's bytes.
 * Also the parse time of the largest real log. Figures are µs per operation: the mean over all
 * iterations and the best batch mean (less sensitive to a shared, noisy machine).
 */
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDigestConsistency, parseEventLog, replayEventLog } from '../src/eventlog/index.ts';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'real-eventlogs');
const RHEL8 = 'go-tpm-tools/internal/test/eventlogs/rhel8-uefi.bin';

function measure(fn: () => void, batches = 20, perBatch = 50): { meanUs: number; bestBatchUs: number } {
  for (let i = 0; i < perBatch; i++) fn(); // warm-up
  let total = 0;
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) fn();
    const ms = performance.now() - t0;
    total += ms;
    best = Math.min(best, ms / perBatch);
  }
  const round = (ms: number): number => Math.round(ms * 1000 * 10) / 10;
  return { meanUs: round(total / (batches * perBatch)), bestBatchUs: round(best) };
}

export async function bench(): Promise<Record<string, unknown>> {
  const bytes = new Uint8Array(readFileSync(path.join(fixtures, RHEL8)));
  const log = parseEventLog(bytes);
  const parse = measure(() => parseEventLog(bytes));
  const all = measure(() => {
    const l = parseEventLog(bytes);
    replayEventLog(l);
    checkDigestConsistency(l);
  });
  const replayOnly = measure(() => replayEventLog(log));
  const floor = measure(() => hash('sha256', bytes, 'buffer'), 20, 200);

  const expected = JSON.parse(readFileSync(path.join(fixtures, 'expected-pcrs.json'), 'utf8')) as Record<string, unknown>;
  const largestName = Object.keys(expected).sort((a, b) => statSync(path.join(fixtures, b)).size - statSync(path.join(fixtures, a)).size)[0] ?? RHEL8;
  const largest = new Uint8Array(readFileSync(path.join(fixtures, largestName)));
  const largestParse = measure(() => parseEventLog(largest));

  return {
    log: RHEL8,
    bytes: bytes.length,
    events: log.events.length,
    banks: log.banks,
    parseUs: parse,
    replayUs: replayOnly,
    parseReplayConsistencyUs: all,
    floorSha256OfLogUs: floor,
    ratioParseReplayConsistencyToFloor: Math.round((all.bestBatchUs / Math.max(floor.bestBatchUs, 0.1)) * 10) / 10,
    largest: { log: largestName, bytes: largest.length, parseUs: largestParse },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(JSON.stringify(await bench(), null, 2));
}
