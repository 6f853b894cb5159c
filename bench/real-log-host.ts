/** The real firmware log the service benchmarks attest with, and tpm-sim hosts booted to match it. */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isExtended, parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import type { SimBank, SimHost } from '../tpm-sim/index.ts';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const REAL_LOG = join(repoRoot, '..', 'shared', 'fixtures', 'real-eventlogs', 'go-tpm-tools', 'internal', 'test', 'eventlogs', 'eventlogwithsp800155.bin');

/** Makes the simulated TPM's PCRs those of the real log, so its quotes match the log's replay. */
export function bootWithLog(host: SimHost, logBytes: Uint8Array): void {
  const log = parseEventLog(logBytes);
  const replay = replayEventLog(log);
  host.tpm.reboot(replay.startupLocality ?? 0);
  for (const e of log.events) {
    if (!isExtended(e.pcr, e.type)) continue;
    for (const [bank, d] of Object.entries(e.digests)) {
      if (bank === 'sha1' || bank === 'sha256' || bank === 'sha384') host.tpm.extendBank(e.pcr, bank as SimBank, d);
    }
  }
  host.eventLog = logBytes;
}
