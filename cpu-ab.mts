import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from './src/config.ts';
import { startService } from './src/service.ts';
import { createSimHost, HostAgent } from './tpm-sim/index.ts';
import { bootWithLog, REAL_LOG } from './bench/real-log-host.ts';
import { parseEventLog, replayEventLog } from './src/eventlog/index.ts';
import { learnProfile } from './src/golden/index.ts';

const which = process.argv[2]!;
const dir = mkdtempSync(join(tmpdir(), 'cpuab-'));
const env: Record<string, string> = { BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: dir, BOOTGATE_GOLDEN_DIR: 'golden-measurements', BOOTGATE_EK_ROOTS: 'tpm-sim/ca/dev-root.crt.pem', BOOTGATE_API_KEYS: 'admin:aaaaaaaaaaaaaaaaaaaa', BOOTGATE_RATE_LIMIT: '0', BOOTGATE_LOG_LEVEL: 'silent' };
if (which !== 'sqlite') { env.BOOTGATE_DATABASE_URL = which; env.BOOTGATE_MASTER_KEY = Buffer.alloc(32, 7).toString('base64'); }
const s = await startService({ config: loadConfig(env), logger: pino({ level: 'silent' }) });
const bytes = new Uint8Array(readFileSync(REAL_LOG));
const log = parseEventLog(bytes);
const profile = learnProfile(log, replayEventLog(log), { name: 'bench-real-log' });
await s.context.profiles.put('bench-real-log', profile, new Date());
const sims = [];
for (let i = 0; i < 16; i++) { const h = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `ab-${i}-${Math.random().toString(36).slice(2,6)}` }); bootWithLog(h, bytes); const a = new HostAgent(h, s.url); await a.enroll(['bench-real-log']); await a.activate(); sims.push(h); }
const att = s.context.attestation;
let quoteCpu = 0;
const loop = async (n: number) => {
  let done = 0;
  await Promise.all(sims.map(async (h) => { while (done < n) { done++; const { nonce } = await att.issueNonce(h.hostId, new Date()); const q0 = process.cpuUsage(); const q = h.quote(new Uint8Array(Buffer.from(nonce, 'base64'))); const qc = process.cpuUsage(q0); quoteCpu += (qc.user + qc.system) / 1000; const r = await att.attest(h.hostId, { nonce: new Uint8Array(Buffer.from(nonce, 'base64')), quote: q.quote, signature: q.signature, eventLog: bytes, pcrs: { sha256: q.pcrs.sha256! } }, new Date()); if (r.verdict !== 'pass') throw new Error(JSON.stringify(r.failures)); } }));
};
await loop(600);
quoteCpu = 0;
const c0 = process.cpuUsage(); const t0 = performance.now();
await loop(2000);
const c = process.cpuUsage(c0);
console.log(which.slice(0, 10), 'cpu ms/attestation (excl quote):', (((c.user + c.system) / 1000 - quoteCpu) / 2000).toFixed(3), 'wall/s', (2000 / (performance.now() - t0) * 1000).toFixed(0));
await s.stop();
