/**
 * Contract §3.2 over HTTP: the nonce answer names the PCRs to quote (`pcrSelection`, tpm2_quote -l
 * syntax) from the host's profiles, a host that quotes it verbatim passes, and a quote that leaves out
 * an appraised PCR fails pcr_not_quoted naming the missing PCRs and the selection to use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/learn.ts';
import type { HashAlg } from '../src/tpm/alg.ts';
import { toBase64, toHex } from '../src/util/encoding.ts';
import { createSimHost, HostAgent, type SimHost } from '../tpm-sim/index.ts';
import { SIM_PROFILE, startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.stop();
});

let counter = 0;
async function enrolled(profiles?: string[]): Promise<SimHost> {
  const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `sel-${process.pid}-${counter++}` });
  const agent = new HostAgent(host, s.baseUrl);
  await agent.enroll(profiles);
  await agent.activate();
  return host;
}

async function nonce(host: SimHost): Promise<{ nonce: Uint8Array; pcrSelection: string }> {
  const r = await s.call('POST', `/v1/hosts/${host.hostId}/nonce`);
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  expect(Object.keys(r.json).sort()).toEqual(['expiresAt', 'nonce', 'pcrSelection']);
  return { nonce: new Uint8Array(Buffer.from(r.json.nonce, 'base64')), pcrSelection: r.json.pcrSelection };
}

/** What `tpm2_quote -l` makes of the text. */
function selectionOf(text: string): Array<{ hash: HashAlg; pcrs: number[] }> {
  return text.split('+').map((part) => {
    const [hash, list] = part.split(':') as [HashAlg, string];
    return { hash, pcrs: list.split(',').map(Number) };
  });
}

async function attest(host: SimHost, n: Uint8Array, selection: string) {
  const q = host.quote(n, selectionOf(selection));
  const pcrs = Object.fromEntries(Object.entries(q.pcrs).map(([bank, m]) => [bank, Object.fromEntries([...m!].map(([i, v]) => [String(i), toHex(v)]))]));
  const r = await s.call('POST', `/v1/hosts/${host.hostId}/attestations`, {
    body: { nonce: toBase64(n), quote: toBase64(q.quote), signature: toBase64(q.signature), eventLog: toBase64(host.eventLog), pcrs },
  });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as { verdict: string; profile: string | null; failures: Array<{ code: string; pcr?: number; bank?: string; message: string; expected?: unknown }> };
}

describe('pcrSelection in the nonce answer', () => {
  it('names what the host profile appraises; quoting it verbatim passes', async () => {
    const host = await enrolled([SIM_PROFILE]);
    const n = await nonce(host);
    expect(n.pcrSelection).toBe('sha256:0,1,2,3,4,5,6,7,8,9,11');
    const r = await attest(host, n.nonce, n.pcrSelection);
    expect(r.failures).toEqual([]);
    expect(r.verdict).toBe('pass');
  });

  it('a quote that leaves out an appraised PCR fails pcr_not_quoted, naming the missing PCR and the selection', async () => {
    const host = await enrolled([SIM_PROFILE]);
    const n = await nonce(host);
    const r = await attest(host, n.nonce, 'sha256:0,1,2,3,4,5,6,7,8,9');
    expect(r.verdict).toBe('fail');
    expect(r.failures.map((f) => [f.code, f.pcr, f.bank])).toEqual([['pcr_not_quoted', 11, 'sha256']]);
    expect(r.failures[0]!.message).toContain('(missing sha256 PCRs 11)');
    expect(r.failures[0]!.message).toContain(`quote the pcrSelection of the nonce answer: ${n.pcrSelection}`);
    expect(r.failures[0]!.expected).toBe(n.pcrSelection);
  });

  it('is the union of several profiles, each PCR in its profile bank (sha1 and sha256 joined with +)', async () => {
    const host = await enrolled();
    const log = parseEventLog(host.eventLog);
    const replay = replayEventLog(log);
    const tag = `${process.pid}-${counter}`;
    for (const [name, bank] of [[`sel-sha1-${tag}`, 'sha1'], [`sel-learned-${tag}`, 'sha256']] as const) {
      const put = await s.call('PUT', `/v1/golden/${name}`, { key: s.adminKey, body: JSON.parse(JSON.stringify(learnProfile(log, replay, { name, bank }))) });
      expect(put.status, JSON.stringify(put.json)).toBe(201);
    }
    const set = await s.call('PUT', `/v1/hosts/${host.hostId}`, { key: s.adminKey, body: { profiles: [`sel-sha1-${tag}`, SIM_PROFILE, `sel-learned-${tag}`] } });
    expect(set.status, JSON.stringify(set.json)).toBe(200);

    const n = await nonce(host);
    expect(n.pcrSelection).toBe('sha1:0,1,2,3,4,5,6,7,8,9,14+sha256:0,1,2,3,4,5,6,7,8,9,11,14');
    const r = await attest(host, n.nonce, n.pcrSelection);
    expect(r.failures).toEqual([]);
    expect(r.verdict).toBe('pass');
  });

  it('a host without a profile is asked for every sha256 PCR, and fails with profile_not_found alone', async () => {
    const host = await enrolled();
    const n = await nonce(host);
    expect(n.pcrSelection).toBe(`sha256:${[...Array(24).keys()].join(',')}`);
    const r = await attest(host, n.nonce, n.pcrSelection);
    expect(r.verdict).toBe('fail');
    expect(r.failures.map((f) => f.code)).toEqual(['profile_not_found']);
  });
});
