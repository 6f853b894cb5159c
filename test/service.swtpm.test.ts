/**
 * The whole service against a real TPM software stack: swtpm with an EK certificate from its local
 * CA, tpm2-tools doing what a host agent does (createek, createak, nvread, activatecredential,
 * pcrextend, quote), and the service answering over HTTP.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootEvents, encodeEventLog, referencePlatform, EV } from '../tpm-sim/index.ts';
import { toBase64, toHex } from '../src/util/encoding.ts';
import { haveSwtpm, startSwtpm, type SwtpmHandle } from './helpers/swtpm.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';

const read = (tpm: SwtpmHandle, f: string): Uint8Array => new Uint8Array(readFileSync(join(tpm.dir, f)));
const QUOTED = 'sha256:0,1,2,3,4,5,6,7,8,9,11';

describe.skipIf(!haveSwtpm())('service with swtpm + tpm2-tools (swtpm, swtpm_setup or tpm2-tools not installed)', () => {
  let tpm: SwtpmHandle;
  let s: TestServer;
  const hostId = 'swtpm-host-1';

  beforeAll(async () => {
    tpm = await startSwtpm({ createEkCerts: true, privateCa: true });
    const roots = join(tpm.dir, 'ek-roots.pem');
    writeFileSync(roots, tpm.caCerts.map((f) => readFileSync(f, 'utf8')).join('\n'));
    s = await startTestServer({ env: { BOOTGATE_EK_ROOTS: roots } });

    // The reference boot chain, started at locality 0 as swtpm is, measured into the TPM in log order.
    const events = bootEvents({ ...referencePlatform(), startupLocality: 0 });
    writeFileSync(join(tpm.dir, 'eventlog.bin'), encodeEventLog(['sha1', 'sha256'], events));
    const specs = events
      .filter((e) => e.type !== EV.EV_NO_ACTION)
      .map((e) => `${e.pcr}:sha1=${toHex(e.digests.sha1!)},sha256=${toHex(e.digests.sha256!)}`);
    for (let i = 0; i < specs.length; i += 8) await tpm.tpm2('tpm2_pcrextend', specs.slice(i, i + 8));
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await tpm?.stop();
  });

  /** Quote plus what an agent claims: the sha256 values of the quoted PCRs, as tpm2_pcrread writes them. */
  async function quote(nonce: Uint8Array, selection = QUOTED): Promise<Record<string, unknown>> {
    await tpm.tpm2('tpm2_quote', ['-c', 'ak.ctx', '-l', selection, '-q', toHex(nonce), '-m', 'quote.msg', '-s', 'quote.sig', '-g', 'sha256']);
    await tpm.tpm2('tpm2_pcrread', [QUOTED, '-o', 'pcrs.bin']);
    const values = read(tpm, 'pcrs.bin');
    const indexes = QUOTED.split(':')[1]!.split(',').map(Number);
    const sha256 = Object.fromEntries(indexes.map((pcr, i) => [String(pcr), toHex(values.subarray(i * 32, i * 32 + 32))]));
    return { quote: toBase64(read(tpm, 'quote.msg')), signature: toBase64(read(tpm, 'quote.sig')), eventLog: toBase64(read(tpm, 'eventlog.bin')), pcrs: { sha256 } };
  }

  async function nonce(): Promise<Uint8Array> {
    const r = await s.call('POST', `/v1/hosts/${hostId}/nonce`);
    expect(r.status).toBe(201);
    return new Uint8Array(Buffer.from(r.json.nonce, 'base64'));
  }

  it('enrolls with the EK certificate from NV, activates the credential, attests, and gets a token', async () => {
    await tpm.tpm2('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
    await tpm.tpm2('tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'rsa', '-g', 'sha256', '-s', 'rsassa', '-u', 'ak.pub', '-n', 'ak.name']);
    await tpm.tpm2('tpm2_nvread', ['0x1c00002', '-o', 'ekcert.der']);

    const enr = await s.call('POST', '/v1/enrollments', {
      body: { hostId, ekCert: toBase64(read(tpm, 'ekcert.der')), ekPub: toBase64(read(tpm, 'ek.pub')), akPub: toBase64(read(tpm, 'ak.pub')), profiles: [SIM_PROFILE] },
    });
    expect(enr.status, JSON.stringify(enr.json)).toBe(201);
    writeFileSync(join(tpm.dir, 'cred.bin'), Buffer.from(enr.json.credentialBlob, 'base64'));

    await tpm.tpm2('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
    await tpm.tpm2('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
    await tpm.tpm2('tpm2_activatecredential', ['-c', 'ak.ctx', '-C', 'ek.ctx', '-i', 'cred.bin', '-o', 'secret.bin', '-P', 'session:session.ctx']);
    await tpm.tpm2('tpm2_flushcontext', ['session.ctx']);

    const act = await s.call('POST', `/v1/enrollments/${enr.json.enrollmentId}/activate`, { body: { secret: toBase64(read(tpm, 'secret.bin')) } });
    expect(act.status, JSON.stringify(act.json)).toBe(200);
    expect(act.json.akName).toBe(toHex(read(tpm, 'ak.name')));

    const n = await nonce();
    const r = await s.call('POST', `/v1/hosts/${hostId}/attestations`, { body: { nonce: toBase64(n), ...(await quote(n)) } });
    expect(r.status).toBe(200);
    expect(r.json.failures).toEqual([]);
    expect(r.json.verdict).toBe('pass');
    const { payload } = await jwtVerify(r.json.token, createRemoteJWKSet(new URL('/.well-known/jwks.json', s.baseUrl)));
    expect(payload.sub).toBe(hostId);
    expect(payload.ak).toBe(toHex(read(tpm, 'ak.name')));
  });

  it('accepts a multi-bank quote (sha1 and sha256 selections)', async () => {
    const n = await nonce();
    const r = await s.call('POST', `/v1/hosts/${hostId}/attestations`, { body: { nonce: toBase64(n), ...(await quote(n, `sha1:0,1,2+${QUOTED}`)) } });
    expect(r.json.failures).toEqual([]);
    expect(r.json.verdict).toBe('pass');
  });

  it('an unlogged extend of PCR 4 after boot ends untrusted with pcr_replay_mismatch', async () => {
    await tpm.tpm2('tpm2_pcrextend', [`4:sha1=${'11'.repeat(20)},sha256=${'22'.repeat(32)}`]);
    const n = await nonce();
    const r = await s.call('POST', `/v1/hosts/${hostId}/attestations`, { body: { nonce: toBase64(n), ...(await quote(n)) } });
    expect(r.json.verdict).toBe('fail');
    expect(r.json.failures).toEqual([expect.objectContaining({ code: 'pcr_replay_mismatch', pcr: 4, bank: 'sha256' })]);
    const view = await s.call('GET', `/v1/hosts/${hostId}`, { key: s.schedulerKey });
    expect(view.json.trust.status).toBe('untrusted');
  });
});
