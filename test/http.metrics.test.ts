/** GET /metrics (contract §8): hosts by trust, attestations by verdict and failure code, releases by outcome, latencies. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

async function host(scenario?: 'bios-reflash', bindingKey?: 'ec'): Promise<HostAgent> {
  const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc', ...(scenario ? { scenario } : {}) }), s.baseUrl, bindingKey ? { bindingKey } : {});
  await agent.enroll([SIM_PROFILE]);
  await agent.activate();
  return agent;
}

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts the fleet by trust, attestations by verdict and code, and releases by outcome', async () => {
    const before = (await s.call('GET', '/metrics')).json as string;
    expect(sample(before, 'bootgate_hosts{trust="trusted"}')).toBe(0);

    const good = await host(undefined, 'ec');
    expect((await good.attest()).verdict).toBe('pass');
    const bad = await host('bios-reflash');
    expect((await bad.attest()).verdict).toBe('fail');
    await host(); // enrolled, never attested

    const put = await s.call('PUT', '/v1/secrets/disk-key', { key: s.adminKey, body: { value: Buffer.from('k'.repeat(32)).toString('base64'), policy: { hosts: [good.host.hostId] } } });
    expect(put.status).toBe(201);
    expect((await good.release('disk-key')).length).toBe(32);
    expect((await s.call('POST', '/v1/secrets/disk-key/release')).status).toBe(401);

    const m = await s.call('GET', '/metrics');
    expect(m.headers.get('content-type')).toContain('text/plain');
    const text = m.json as string;
    expect(sample(text, 'bootgate_hosts{trust="trusted"}')).toBe(1);
    expect(sample(text, 'bootgate_hosts{trust="untrusted"}')).toBe(1);
    expect(sample(text, 'bootgate_hosts{trust="unknown"}')).toBe(1);
    expect(sample(text, 'bootgate_hosts{trust="expired"}')).toBe(0);
    expect(sample(text, 'bootgate_appraisals_total{verdict="pass"}')).toBe(1);
    expect(sample(text, 'bootgate_appraisals_total{verdict="fail"}')).toBe(1);
    expect(sample(text, 'bootgate_appraisal_failures_total{code="firmware_not_allowed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'bootgate_releases_total{outcome="released",code="released"}')).toBe(1);
    expect(sample(text, 'bootgate_releases_total{outcome="refused",code="token_missing"}')).toBe(1);
    expect(sample(text, 'bootgate_appraisal_duration_seconds_count{verdict="pass"}')).toBe(1);
    expect(sample(text, 'bootgate_http_request_duration_seconds_count{method="POST",route="/v1/hosts/:hostId/attestations",status="200"}')).toBe(2);
    // Every metric has HELP text (docs/operations.md lists them).
    for (const name of ['bootgate_hosts', 'bootgate_appraisals_total', 'bootgate_appraisal_failures_total', 'bootgate_releases_total', 'bootgate_appraisal_duration_seconds', 'bootgate_http_request_duration_seconds']) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });
});
