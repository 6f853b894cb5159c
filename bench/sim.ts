/**
 * tpm-sim host creation rate: keys, EK certificate, boot (events, PCR extends, log) and one quote per
 * host. ECC hosts derive their keys; RSA hosts draw from a key pool pre-generated on the thread pool
 * (the pool fill is timed separately, as a fleet demo would do it once at start).
 */
import os from 'node:os';
import { createSimHost, prewarmRsaKeys, SCENARIO_NAMES } from '../tpm-sim/index.ts';

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000 * 10) / 10;
}

export async function bench(): Promise<Record<string, unknown>> {
  const nonce = new Uint8Array(32);
  createSimHost({ ekType: 'ecc', akType: 'ecc' }); // load the CA, certificates and reference platform

  const eccHosts = 300;
  let t = performance.now();
  for (let i = 0; i < eccHosts; i++) {
    const h = createSimHost({ ekType: 'ecc', akType: 'ecc', scenario: SCENARIO_NAMES[i % SCENARIO_NAMES.length] });
    h.quote(nonce);
  }
  const eccMs = performance.now() - t;

  const rsaHosts = 10;
  t = performance.now();
  await prewarmRsaKeys(rsaHosts * 2);
  const poolMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < rsaHosts; i++) createSimHost({ ekType: 'rsa', akType: 'rsa' }).quote(nonce);
  const rsaMs = performance.now() - t;

  return {
    eccHostsPerSecond: rate(eccHosts, eccMs),
    eccHosts,
    rsaHostsPerSecondFromPool: rate(rsaHosts, rsaMs),
    rsaKeygenPerSecond: rate(rsaHosts * 2, poolMs),
    rsaHosts,
    loadAverage1m: os.loadavg()[0],
    note: 'per host: EK+AK, EK certificate, reference boot (~60 events, 3 banks), event log, one sha256:0-15 quote',
  };
}
