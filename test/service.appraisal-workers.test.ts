/**
 * The appraisal pipeline on worker threads (startService({appraisalWorkers})) answers exactly
 * as on the event loop: verdicts, failure codes, tokens, and the per-field 400s of malformed
 * evidence (ParseError crosses the thread boundary as ParseError).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { startService, type RunningService } from '../src/service.ts';
import { simulatedFleetEnv } from '../src/demo/verifier.ts';
import { AppraisalPool } from '../src/attestation/appraisal-pool.ts';
import { ParseError } from '../src/util/errors.ts';
import { createSimHost, HostAgent, type ScenarioName } from '../tpm-sim/index.ts';

let dataDir: string;
let service: RunningService;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bootgate-workers-'));
  const keys = { admin: 'adm-0123456789abcdef0123', scheduler: 'sch-0123456789abcdef0123', broker: 'brk-0123456789abcdef0123' };
  service = await startService({ config: loadConfig(simulatedFleetEnv(dataDir, keys)), logger: pino({ level: 'silent' }), appraisalWorkers: 2 });
});
afterAll(async () => {
  await service?.stop(1000);
  rmSync(dataDir, { recursive: true, force: true });
});

async function enrolled(hostId: string, scenario: ScenarioName = 'clean'): Promise<HostAgent> {
  const agent = new HostAgent(createSimHost({ hostId, scenario }), service.url);
  await agent.enroll(['tpm-sim-reference']);
  await agent.activate();
  return agent;
}

describe('appraisal on worker threads', () => {
  it('passes a clean host with a token, and fails tampered hosts with the scenario codes, concurrently', async () => {
    const hosts = await Promise.all([
      enrolled('w-clean'),
      enrolled('w-kernel', 'kernel-swap'),
      enrolled('w-cmdline', 'cmdline-tamper'),
      enrolled('w-clean-2'),
    ]);
    const results = await Promise.all(hosts.map((h) => h.attest()));
    expect(results.map((r) => r.verdict)).toEqual(['pass', 'fail', 'fail', 'pass']);
    expect(typeof results[0]?.token).toBe('string');
    const codes = (r: Record<string, unknown>) => new Set((r.failures as Array<{ code: string }>).map((f) => f.code));
    expect(codes(results[1]!)).toEqual(new Set(['kernel_not_allowed']));
    expect(codes(results[2]!)).toEqual(new Set(['cmdline_not_allowed']));
    // The clock recorded from a worker's verified quote is the host's reference for the next one.
    expect((await hosts[0]!.attest()).verdict).toBe('pass');
  });

  it('answers malformed evidence with the same per-field 400 codes', async () => {
    const agent = await enrolled('w-malformed');
    const post = async (body: unknown) => {
      const res = await fetch(new URL(`/v1/hosts/w-malformed/attestations`, service.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as { error?: { code: string } } };
    };
    const log = await post({ ...(await agent.collectEvidence()), eventLog: 'AAAA' });
    expect(log.status).toBe(400);
    expect(log.json.error?.code).toBe('malformed_event_log');
    const quote = await post({ ...(await agent.collectEvidence()), quote: Buffer.from('garbage').toString('base64') });
    expect(quote.status).toBe(400);
    expect(quote.json.error?.code).toBe('malformed_quote');
  });

  it('revives a worker ParseError as ParseError with its structure, field and offset', async () => {
    const pool = new AppraisalPool(1);
    try {
      const err = await pool
        .appraise({ akPub: new Uint8Array(4), quote: new Uint8Array(4), signature: new Uint8Array(4), expectedExtraData: new Uint8Array(32), eventLog: new Uint8Array(10), profiles: [] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParseError);
      const p = err as ParseError;
      expect(p.structure.length).toBeGreaterThan(0);
      expect(p.message).toBe(`${p.structure}.${p.field} at offset ${p.offset}: ${p.message.split(': ').slice(1).join(': ')}`);
      expect(pool.size).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
