/**
 * Nothing secret reaches the logs, even at trace level: API keys, attestation tokens, nonces,
 * the activation secret, the credential blob, released secret values and JWEs. Every string of 16+
 * characters that crossed the wire in a header or a JSON body of a full flow (enroll, activate,
 * nonce, attest with a binding key, secret PUT and release, introspect, revoke, errors) is looked
 * for in the captured log stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { simulatedFleetEnv, SIM_PROFILE } from '../src/demo/verifier.ts';
import { startService, type RunningService } from '../src/service.ts';
import { toBase64 } from '../src/util/encoding.ts';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';

const keys = { admin: `adm-${randomBytes(16).toString('hex')}`, scheduler: `sch-${randomBytes(16).toString('hex')}`, broker: `brk-${randomBytes(16).toString('hex')}` };
const logLines: string[] = [];
const wire = new Set<string>();
let service: RunningService;
let dataDir: string;

function collect(v: unknown): void {
  if (typeof v === 'string') {
    if (v.length >= 16) wire.add(v);
  } else if (Array.isArray(v)) v.forEach(collect);
  else if (v !== null && typeof v === 'object') Object.values(v).forEach(collect);
}

/** fetch that records every header value and JSON string it sends and receives. */
const recordingFetch: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  headers.forEach((v) => collect(v.replace(/^Bearer /i, '')));
  if (typeof init?.body === 'string') collect(JSON.parse(init.body));
  const res = await fetch(input, init);
  const text = await res.clone().text();
  try {
    collect(JSON.parse(text));
  } catch {
    /* not JSON */
  }
  return res;
};

async function call(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; json: any }> {
  const res = await recordingFetch(new URL(path, service.url), {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bootgate-logs-'));
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  service = await startService({
    config: loadConfig({ ...simulatedFleetEnv(dataDir, keys), BOOTGATE_LOG_LEVEL: 'trace' }),
    logger: pino({ level: 'trace' }, stream),
  });
});

afterAll(async () => {
  await service?.stop(2000);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('logs at trace level', () => {
  it('hold no key, token, nonce, credential or secret that crossed the wire', async () => {
    const host = createSimHost({ ekType: 'ecc', akType: 'ecc', hostId: `logs-${process.pid}` });
    const agent = new HostAgent(host, service.url, { bindingKey: 'ec', fetch: recordingFetch });
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const pass = await agent.attest();
    expect(pass.verdict).toBe('pass');

    const secretValue = toBase64(randomBytes(48));
    expect((await call('PUT', '/v1/secrets/disk-key', { value: secretValue, policy: { hosts: [host.hostId] } }, keys.admin)).status).toBeLessThan(300);
    expect(await agent.release('disk-key')).toHaveLength(48);
    expect((await call('POST', '/v1/tokens/introspect', { token: agent.token }, keys.broker)).json.active).toBe(true);
    expect((await call('GET', `/v1/hosts/${host.hostId}`, undefined, keys.scheduler)).status).toBe(200);
    expect((await call('GET', '/v1/events?after=0&timeout=0', undefined, keys.scheduler)).status).toBe(200);
    // Refusals and errors take other paths through the code: a wrong key, a replayed nonce, a bad token.
    expect((await call('GET', '/v1/hosts', undefined, `${keys.admin}x`)).status).toBe(401);
    expect((await call('POST', '/v1/secrets/disk-key/release', {}, `${agent.token ?? ''}x`)).status).toBe(401);
    await expect(agent.submit(await agent.collectEvidence())).resolves.toMatchObject({ verdict: 'pass' });
    const payload = JSON.parse(Buffer.from((agent.token ?? '').split('.')[1] ?? '', 'base64url').toString()) as { jti: string };
    expect((await call('POST', '/v1/tokens/revoke', { jti: payload.jti }, keys.admin)).status).toBeLessThan(300);
    await expect(agent.release('disk-key')).rejects.toThrow();

    const logs = logLines.join('');
    expect(logLines.length).toBeGreaterThan(10);
    // The access log (pino-http) names the route pattern, status and request id, and no headers.
    const access = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((j) => j.msg === 'request');
    expect(access.some((j) => j.method === 'POST' && j.route === '/v1/hosts/:hostId/attestations' && j.status === 200 && typeof j.reqId === 'string')).toBe(true);
    expect(access.every((j) => j.req === undefined && j.res === undefined && j.headers === undefined)).toBe(true);
    for (const k of Object.values(keys)) wire.add(k);
    wire.add(secretValue);
    // Identifiers and timestamps may be logged (appraisal ids, host ids); everything else may not.
    const ids = new Set([host.hostId, `${SIM_PROFILE}@1`, 'tpm-sim-reference@1']);
    const isIdentifier = (s: string): boolean =>
      ids.has(s) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s) || /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(s);
    const leaked = [...wire].filter((s) => !isIdentifier(s) && logs.includes(s));
    expect(leaked).toEqual([]);
    // The sweep covered the things that matter.
    expect([...wire].some((s) => s === agent.token)).toBe(true);
    for (const k of [...Object.values(keys), secretValue]) expect(isIdentifier(k)).toBe(false);
    expect(wire.size).toBeGreaterThan(20);
  }, 60_000);
});
