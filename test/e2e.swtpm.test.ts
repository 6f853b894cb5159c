/**
 * End to end (issue 5): real software TPMs (swtpm, driven only by tpm2-tools) play two hosts — one with
 * an RSA-2048 EK and RSASSA AK, one with an ECC P-256 EK and ECDSA AK — against a real bootgate server
 * over HTTP. Enrollment (EK certificate from NV, TPM2_ActivateCredential), a measured boot whose event log
 * replays to the TPM's real PCRs, a golden profile learned from that log and installed through the admin
 * API, quotes (single- and two-bank), tokens checked with the JWKS alone, a binding key through the nonce,
 * and the failures an operator must see: an unlogged extend, a reused nonce, a wrong credential secret.
 *
 * PCR 0: tpm-sim's reference platform is a locality-3 (TXT / Boot Guard) machine whose log opens with a
 * StartupLocality=3 EV_NO_ACTION event. Instead of editing the platform, each swtpm is reset and
 * started with TPM2_Startup at locality 3 (swtpm_ioctl), so PCR 0 really starts at 00..03 and the
 * unmodified reference boot log replays to it.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLog, replayEventLog } from '../src/eventlog/index.ts';
import { learnProfile } from '../src/golden/learn.ts';
import { parsePublic, parseTpmsAttest } from '../src/tpm/index.ts';
import { concatBytes, fromBase64, toBase64, toHex } from '../src/util/encoding.ts';
import { bootEvents, encodeEventLog, referencePlatform } from '../tpm-sim/index.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { haveSwtpm, startSwtpm, type SwtpmHandle } from './helpers/swtpm.ts';
import {
  activateCredential,
  createKeys,
  measureBoot,
  provisionP256EkCert,
  quote,
  startupAtLocality3,
  type HostKeys,
  type SwtpmQuote,
} from './helpers/swtpm-host.ts';

const BANKS = ['sha1', 'sha256'] as const;
const PROFILE = 'swtpm-host';
const TOKEN_TTL = 600;
const TPM_ECC_NIST_P256 = 0x0003;
/** The learned profile appraises every PCR the log covers: 0-9 and 14 (shim's MokList events). */
const PCRS = '0,1,2,3,4,5,6,7,8,9,14';
const SHA256_SELECTION = `sha256:${PCRS}`;
const TWO_BANK_SELECTION = `sha1:${PCRS}+sha256:${PCRS}`;

interface Host {
  id: string;
  tpm: SwtpmHandle;
  keys: HostKeys;
}

const codes = (failures: { code: string }[]): string[] => failures.map((f) => f.code).sort();
const bytes = (b64: string): Uint8Array => {
  const out = fromBase64(b64);
  if (!out) throw new Error(`not base64: ${b64.slice(0, 40)}`);
  return out;
};

describe.skipIf(!haveSwtpm())('e2e: swtpm hosts (RSA and ECC EKs) against a live bootgate (swtpm, swtpm_setup or tpm2-tools not installed)', () => {
  const tpms: SwtpmHandle[] = [];
  let rootsDir = '';
  let server: TestServer;
  let rsa: Host;
  let ecc: Host;
  let eventLog: Uint8Array;
  let learned: ReturnType<typeof learnProfile>;

  beforeAll(async () => {
    // Two TPMs, each with its own swtpm local CA (so concurrent test files never share CA state).
    const [tRsa, tEcc] = await Promise.all([
      startSwtpm({ createEkCerts: true, privateCa: true, pcrBanks: [...BANKS] }),
      startSwtpm({ createEkCerts: true, privateCa: true, pcrBanks: [...BANKS] }),
    ]);
    tpms.push(tRsa, tEcc);

    // Firmware logs the banks the TPM has active.
    const events = bootEvents(referencePlatform());
    eventLog = encodeEventLog(BANKS, events);

    const bootHost = async (tpm: SwtpmHandle, kind: 'rsa' | 'ecc'): Promise<HostKeys> => {
      await startupAtLocality3(tpm);
      if (kind === 'ecc') await provisionP256EkCert(tpm);
      await measureBoot(tpm, events, BANKS);
      return createKeys(tpm, kind);
    };
    const [kRsa, kEcc] = await Promise.all([bootHost(tRsa, 'rsa'), bootHost(tEcc, 'ecc')]);
    rsa = { id: 'swtpm-rsa-host', tpm: tRsa, keys: kRsa };
    ecc = { id: 'swtpm-ecc-host', tpm: tEcc, keys: kEcc };

    // EK roots: both TPMs' local CAs (root and issuer each), one PEM per file.
    rootsDir = mkdtempSync(path.join(tmpdir(), 'bootgate-e2e-roots-'));
    [...tRsa.caCerts, ...tEcc.caCerts].forEach((f, i) => writeFileSync(path.join(rootsDir, `ca-${i}.pem`), readFileSync(f)));
    server = await startTestServer({ env: { BOOTGATE_EK_ROOTS: rootsDir, BOOTGATE_TOKEN_TTL: String(TOKEN_TTL) } });

    const log = parseEventLog(eventLog);
    learned = learnProfile(log, replayEventLog(log), { name: PROFILE });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await Promise.all(tpms.map((t) => t.stop()));
    if (rootsDir) rmSync(rootsDir, { recursive: true, force: true });
  });

  async function enroll(host: Host): Promise<{ enrollmentId: string; secret: Uint8Array }> {
    const r = await server.call('POST', '/v1/enrollments', {
      body: { hostId: host.id, ekCert: toBase64(host.keys.ekCert), ekPub: toBase64(host.keys.ekPub), akPub: toBase64(host.keys.akPub) },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(Date.parse(r.json.expiresAt)).toBeGreaterThan(Date.now());
    const secret = await activateCredential(host.tpm, host.keys, bytes(r.json.credentialBlob));
    return { enrollmentId: r.json.enrollmentId, secret };
  }

  async function nonce(host: Host): Promise<Uint8Array> {
    const r = await server.call('POST', `/v1/hosts/${host.id}/nonce`);
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const n = bytes(r.json.nonce);
    expect(n.length).toBe(32);
    // The verifier names what the learned profile appraises, PCR 14 (MokList) included (contract §3.2).
    expect(r.json.pcrSelection).toBe(SHA256_SELECTION);
    return n;
  }

  function attest(host: Host, n: Uint8Array, q: SwtpmQuote, extra: Record<string, unknown> = {}) {
    return server.call('POST', `/v1/hosts/${host.id}/attestations`, {
      body: { nonce: toBase64(n), quote: toBase64(q.quote), signature: toBase64(q.signature), eventLog: toBase64(eventLog), pcrs: q.pcrs, ...extra },
    });
  }

  async function trust(host: Host): Promise<string> {
    const r = await server.call('GET', `/v1/hosts/${host.id}`, { key: server.schedulerKey });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json.trust.status;
  }

  const jwks = () => createRemoteJWKSet(new URL('/.well-known/jwks.json', server.baseUrl));

  function pcrDigestHex(q: SwtpmQuote): string {
    const a = parseTpmsAttest(q.quote);
    if (a.attested.kind !== 'quote') throw new Error('not a quote');
    return toHex(a.attested.pcrDigest);
  }

  it('the reference boot log replays to the PCRs of both TPMs, PCR 0 included (started at locality 3)', async () => {
    const replay = replayEventLog(parseEventLog(eventLog));
    for (const host of [rsa, ecc]) {
      const { stdout } = await host.tpm.tpm2('tpm2_pcrread', [SHA256_SELECTION]);
      for (const pcr of PCRS.split(',').map(Number)) {
        const m = new RegExp(`^\\s*${pcr}\\s*:\\s*0x([0-9A-F]{64})\\s*$`, 'mi').exec(stdout);
        expect(m?.[1]?.toLowerCase(), `PCR ${pcr}`).toBe(toHex(replay.pcrs.sha256!.get(pcr)!));
      }
    }
  });

  it('enrolls the RSA-2048 EK host: a wrong secret is refused (403), the one tpm2_activatecredential recovered enrolls it', async () => {
    expect(rsa.keys.ekCert.length).toBeGreaterThan(0);
    const { enrollmentId, secret } = await enroll(rsa);
    const wrong = Uint8Array.from(secret);
    wrong[0]! ^= 0x01;
    const bad = await server.call('POST', `/v1/enrollments/${enrollmentId}/activate`, { body: { secret: toBase64(wrong) } });
    expect(bad.status, JSON.stringify(bad.json)).toBe(403);
    expect(typeof bad.json.error.code).toBe('string');
    const ok = await server.call('POST', `/v1/enrollments/${enrollmentId}/activate`, { body: { secret: toBase64(secret) } });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json).toMatchObject({ hostId: rsa.id, akName: toHex(rsa.keys.akName), status: 'enrolled' });
  });

  it('enrolls the ECC P-256 EK host (certificate read from NV 0x1c0000a); an ekPub that is not the certificate\'s key is refused', async () => {
    const cert = new X509Certificate(ecc.keys.ekCert);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new X509Certificate(rsa.keys.ekCert).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const ekPub = parsePublic(ecc.keys.ekPub);
    expect(ekPub.parameters.ecc?.curveId).toBe(TPM_ECC_NIST_P256);
    const mismatch = await server.call('POST', '/v1/enrollments', {
      body: { hostId: 'swtpm-mismatch', ekCert: toBase64(ecc.keys.ekCert), ekPub: toBase64(rsa.keys.ekPub), akPub: toBase64(ecc.keys.akPub) },
    });
    expect(mismatch.status, JSON.stringify(mismatch.json)).toBe(403);
    expect(mismatch.json.error.code).toBe('ek_pub_mismatch');

    const { enrollmentId, secret } = await enroll(ecc);
    const ok = await server.call('POST', `/v1/enrollments/${enrollmentId}/activate`, { body: { secret: toBase64(secret) } });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json).toMatchObject({ hostId: ecc.id, akName: toHex(ecc.keys.akName), status: 'enrolled' });
  });

  it('installs the profile learned from the boot log through the admin API and assigns it to both hosts', async () => {
    expect(learned.pcrs).toEqual(PCRS.split(',').map(Number));
    const put = await server.call('PUT', `/v1/golden/${PROFILE}`, { key: server.adminKey, body: JSON.parse(JSON.stringify(learned)) });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    expect(put.json.name).toBe(PROFILE);
    const got = await server.call('GET', `/v1/golden/${PROFILE}`, { key: server.adminKey });
    expect(got.status).toBe(200);
    expect(got.json.name).toBe(PROFILE);
    for (const host of [rsa, ecc]) {
      const r = await server.call('PUT', `/v1/hosts/${host.id}`, { key: server.adminKey, body: { profiles: [PROFILE] } });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(await trust(host)).toBe('unknown');
    }
  });

  it('RSA host: a sha256 quote passes and its token verifies with the JWKS alone', async () => {
    const n = await nonce(rsa);
    const q = await quote(rsa.tpm, rsa.keys, SHA256_SELECTION, n);
    const r = await attest(rsa, n, q);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.failures).toEqual([]);
    expect(r.json.verdict).toBe('pass');
    expect(r.json.profile).toBe(`${PROFILE}@${learned.version}`);
    expect(r.json.pcrs.sha256).toMatchObject(q.pcrs.sha256!);

    expect(decodeProtectedHeader(r.json.token)).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    const { payload } = await jwtVerify(r.json.token, jwks(), { algorithms: ['ES256'] });
    expect(payload.sub).toBe(rsa.id);
    expect(payload.ak).toBe(toHex(rsa.keys.akName));
    expect(payload.pcrDigest).toBe(pcrDigestHex(q));
    expect(payload.appraisal).toBe(r.json.appraisalId);
    expect(payload.profile).toBe(`${PROFILE}@${learned.version}`);
    expect(payload.exp! - payload.iat!).toBe(TOKEN_TTL);
    expect(typeof payload.jti).toBe('string');
    expect(payload.cnf).toBeUndefined();
    expect(await trust(rsa)).toBe('trusted');
  });

  it('ECC host: a two-bank (sha1 + sha256) quote passes with an ECDSA AK', async () => {
    const n = await nonce(ecc);
    const q = await quote(ecc.tpm, ecc.keys, TWO_BANK_SELECTION, n);
    expect(Object.keys(q.pcrs.sha1 ?? {})).toHaveLength(11);
    const r = await attest(ecc, n, q);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.failures).toEqual([]);
    expect(r.json.verdict).toBe('pass');
    const { payload } = await jwtVerify(r.json.token, jwks(), { algorithms: ['ES256'] });
    expect(payload.sub).toBe(ecc.id);
    expect(payload.ak).toBe(toHex(ecc.keys.akName));
    expect(payload.pcrDigest).toBe(pcrDigestHex(q));
    expect(await trust(ecc)).toBe('trusted');
  });

  it('ECC host: a binding key hashed into extraData yields a token with cnf.jkt; the bare nonce with a binding key fails', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const jkt = await calculateJwkThumbprint(jwk, 'sha256');

    const n = await nonce(ecc);
    const extraData = new Uint8Array(createHash('sha256').update(concatBytes(n, bytes(jkt))).digest());
    const q = await quote(ecc.tpm, ecc.keys, SHA256_SELECTION, extraData);
    const r = await attest(ecc, n, q, { bindingKey: jwk });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.failures).toEqual([]);
    expect(r.json.verdict).toBe('pass');
    const { payload } = await jwtVerify(r.json.token, jwks(), { algorithms: ['ES256'] });
    expect(payload.cnf).toEqual({ jkt });

    // Same binding key, but the quote carries the nonce itself: the key was not bound through the TPM.
    const n2 = await nonce(ecc);
    const unbound = await quote(ecc.tpm, ecc.keys, SHA256_SELECTION, n2);
    const r2 = await attest(ecc, n2, unbound, { bindingKey: jwk });
    expect(r2.status, JSON.stringify(r2.json)).toBe(200);
    expect(r2.json.verdict).toBe('fail');
    expect(codes(r2.json.failures)).toEqual(['nonce_mismatch']);
    expect(r2.json.token).toBeUndefined();
  });

  it('ECC host: resubmitting evidence with an already used nonce fails nonce_reused', async () => {
    const n = await nonce(ecc);
    const q = await quote(ecc.tpm, ecc.keys, SHA256_SELECTION, n);
    const first = await attest(ecc, n, q);
    expect(first.json.verdict).toBe('pass');
    const again = await attest(ecc, n, q);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.json.verdict).toBe('fail');
    expect(codes(again.json.failures)).toEqual(['nonce_reused']);
    expect(again.json.token).toBeUndefined();
    expect(await trust(ecc)).toBe('untrusted');
  });

  it('RSA host: an extend of PCR 4 missing from the log fails pcr_replay_mismatch on PCR 4 / sha256 and the host turns untrusted', async () => {
    const replay = replayEventLog(parseEventLog(eventLog));
    await rsa.tpm.tpm2('tpm2_pcrextend', [`4:sha1=${'ab'.repeat(20)},sha256=${'cd'.repeat(32)}`]);
    const n = await nonce(rsa);
    const q = await quote(rsa.tpm, rsa.keys, SHA256_SELECTION, n);
    const tampered = q.pcrs.sha256?.['4'];
    expect(tampered).not.toBe(toHex(replay.pcrs.sha256!.get(4)!));

    const r = await attest(rsa, n, q);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.verdict).toBe('fail');
    expect(r.json.token).toBeUndefined();
    expect(codes(r.json.failures)).toEqual(['pcr_replay_mismatch']);
    expect(r.json.failures[0]).toMatchObject({ pcr: 4, bank: 'sha256' });
    const f = r.json.failures[0];
    expect(JSON.stringify([f.expected, f.actual])).toContain(tampered);
    expect(JSON.stringify([f.expected, f.actual])).toContain(toHex(replay.pcrs.sha256!.get(4)!));

    expect(await trust(rsa)).toBe('untrusted');
    const list = await server.call('GET', '/v1/hosts?trust=untrusted', { key: server.schedulerKey });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).toContain(rsa.id);
  });
});
