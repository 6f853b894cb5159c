/**
 * What one attestation request may cost. A hostile event log of ~60,000 tiny events (3 MB, under
 * the body limit) used to take seconds of CPU and come back as 60,000 findings, stored, logged,
 * put in the trust event and sent back, tens of megabytes per request; and anyone could send it,
 * with a made-up nonce or one of the host's old quotes, since the log is appraised whatever the
 * nonce and signature say. Now an appraisal lists at most MAX_FINDINGS findings, and only evidence
 * with a live nonce and a quote signed for it by the host's AK has its log appraised.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FINDINGS } from '../src/appraisal/finding.ts';
import { appraiseEvidence } from '../src/appraisal/pipeline.ts';
import { loadProfileFile } from '../src/golden/load.ts';
import { toBase64 } from '../src/util/encoding.ts';
import { createSimHost, digestsOf, encodeEventLog, HostAgent } from '../tpm-sim/index.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { SIM_PROFILE, startTestServer, type TestServer } from './helpers/server.ts';

const reference = loadProfileFile(path.join(repoRoot, 'golden-measurements', 'tpm-sim-reference.json'));
const empty = new Uint8Array(0);
/** EV_POST_CODE events with empty data in PCR 0: each one is event_not_allowed. */
const hostileLog = (n: number): Uint8Array =>
  encodeEventLog(['sha256'], Array.from({ length: n }, () => ({ pcr: 0, type: 1, data: empty, digests: digestsOf(empty) })));

describe('bounded findings', () => {
  it('the pipeline lists at most MAX_FINDINGS findings, then one findings_truncated counting the rest by code', () => {
    const o = appraiseEvidence({ eventLog: hostileLog(MAX_FINDINGS + 500), profiles: [reference] });
    expect(o.verdict).toBe('fail');
    expect(o.failures).toHaveLength(MAX_FINDINGS + 1);
    const last = o.failures.at(-1);
    expect(last?.code).toBe('findings_truncated');
    expect(last?.actual).toBeGreaterThan(MAX_FINDINGS + 500);
    expect(last?.message).toMatch(/firmware_not_allowed/);
  });

  describe('over HTTP', () => {
    let s: TestServer;
    // Built before any request: the client shares the server's event loop here, and seconds of
    // synchronous encoding between two requests would outlast the keep-alive socket (a test artifact).
    const hostileBase64 = toBase64(hostileLog(60_000));
    beforeAll(async () => {
      s = await startTestServer();
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('a fresh quote with a 3 MB log of tiny events answers and stores a bounded appraisal', async () => {
      const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `findings-${process.pid}` });
      const agent = new HostAgent(host, s.baseUrl);
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const nonce = await agent.nonce();
      const q = host.quote(nonce);
      const r = await s.call('POST', `/v1/hosts/${host.hostId}/attestations`, {
        body: { nonce: toBase64(nonce), quote: toBase64(q.quote), signature: toBase64(q.signature), eventLog: hostileBase64 },
      });
      expect(r.status).toBe(200);
      expect(r.json.verdict).toBe('fail');
      expect(r.json.failures.length).toBeLessThanOrEqual(MAX_FINDINGS + 3);
      expect(r.json.failures.map((f: { code: string }) => f.code)).toContain('findings_truncated');
      const h = await s.call('GET', `/v1/hosts/${host.hostId}`, { key: s.schedulerKey });
      expect(h.status).toBe(200);
      expect(h.json.trust.failures.length).toBeLessThanOrEqual(MAX_FINDINGS + 3);
      // Its drift group is named by its failure codes alone: the log is not diffed event by event.
      const group = (await s.call('GET', '/v1/drift', { key: s.schedulerKey })).json.groups.find((g: { hosts: string[] }) => g.hosts.includes(host.hostId));
      expect(group).toMatchObject({ changes: [], blockers: expect.arrayContaining(['findings_truncated']) });
    }, 60_000);

    it('without a live nonce, or with a quote made for another nonce, the attached log is not appraised at all', async () => {
      const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `anon-${process.pid}` });
      const agent = new HostAgent(host, s.baseUrl);
      await agent.enroll([SIM_PROFILE]);
      await agent.activate();
      const log = hostileBase64;
      // Anyone can replay one of the host's old quotes with its (spent or made-up) nonce and any log.
      const made = new Uint8Array(randomBytes(32));
      const q = host.quote(made);
      const replay = await s.call('POST', `/v1/hosts/${host.hostId}/attestations`, {
        body: { nonce: toBase64(made), quote: toBase64(q.quote), signature: toBase64(q.signature), eventLog: log },
      });
      expect(replay.status).toBe(200);
      expect(replay.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_unknown']);
      // Or fetch a fresh nonce (no credentials needed) and attach that old quote.
      const fresh = await agent.nonce();
      const stale = await s.call('POST', `/v1/hosts/${host.hostId}/attestations`, {
        body: { nonce: toBase64(fresh), quote: toBase64(q.quote), signature: toBase64(q.signature), eventLog: log },
      });
      expect(stale.status).toBe(200);
      expect(stale.json.failures.map((f: { code: string }) => f.code)).toEqual(['nonce_mismatch']);
    }, 60_000);
  });
});
