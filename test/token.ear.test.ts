/**
 * BOOTGATE_TOKEN_FORMAT=ear: EAT Attestation Results (draft-ietf-rats-ear, JSON serialisation)
 * with AR4SI trustworthiness claims, checked with an independent JOSE library (jsonwebtoken).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';
import { AR4SI, statusOf, trustworthinessVector, tierOf } from '../src/token/ear.ts';

/** The names the draft fixes (§3.3 JSON serialisation) and AR4SI's eight categories. */
const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
const AR4SI_CATEGORIES = ['instance-identity', 'configuration', 'executables', 'file-system', 'hardware', 'runtime-opaque', 'storage-opaque', 'sourced-data'];
const TIERS = ['none', 'affirming', 'warning', 'contraindicated'];
const SIM_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11];

describe('AR4SI mapping (pure)', () => {
  it('affirms each category the profile appraised, and claims nothing about the rest', () => {
    const v = trustworthinessVector(SIM_PCRS, []);
    expect(v).toEqual({ 'instance-identity': 2, hardware: 2, executables: 3, configuration: 2 });
    expect(statusOf(v)).toBe('affirming');
    expect(trustworthinessVector([0], [])).toEqual({ 'instance-identity': 2, hardware: 2 });
    expect(trustworthinessVector([4, 9], [])).toEqual({ 'instance-identity': 2, executables: 3 });
  });

  it('lowers the category a finding speaks about, and the status to the worst tier', () => {
    const firmware = trustworthinessVector(SIM_PCRS, [{ code: 'firmware_not_allowed', pcr: 0 }]);
    expect(firmware.hardware).toBe(AR4SI.unrecognizedHardware);
    expect(statusOf(firmware)).toBe('contraindicated');
    const cmdline = trustworthinessVector(SIM_PCRS, [{ code: 'cmdline_not_allowed', pcr: 8 }]);
    expect(cmdline.configuration).toBe(AR4SI.unsafeConfig);
    expect(statusOf(cmdline)).toBe('warning');
    expect(trustworthinessVector(SIM_PCRS, [{ code: 'secure_boot_disabled', pcr: 7 }]).configuration).toBe(AR4SI.unsupportableConfig);
    expect(trustworthinessVector(SIM_PCRS, [{ code: 'kernel_not_allowed', pcr: 9 }]).executables).toBe(AR4SI.unrecognizedRuntime);
    const replay = trustworthinessVector(SIM_PCRS, [{ code: 'pcr_replay_mismatch', pcr: 4 }]);
    expect(replay).toEqual({ 'instance-identity': 2, hardware: 2, executables: 99, configuration: 2 });
    expect(trustworthinessVector(SIM_PCRS, [{ code: 'nonce_reused' }])['instance-identity']).toBe(99);
    // A worse claim is never replaced by a milder one.
    expect(trustworthinessVector(SIM_PCRS, [{ code: 'secure_boot_disabled' }, { code: 'cmdline_not_allowed' }]).configuration).toBe(96);
    expect([tierOf(0), tierOf(2), tierOf(32), tierOf(96), tierOf(99)]).toEqual(['none', 'affirming', 'warning', 'contraindicated', 'contraindicated']);
  });
});

describe('EAR tokens from the service', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ env: { BOOTGATE_TOKEN_FORMAT: 'ear', BOOTGATE_TOKEN_TTL: '120' } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('issues an EAR that jsonwebtoken verifies with the JWKS, with the draft claim names and AR4SI values', async () => {
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl, { bindingKey: 'ec' });
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict).toBe('pass');
    const token = String(r.token);

    const { keys } = (await s.call('GET', '/.well-known/jwks.json')).json as { keys: Array<{ kid: string }> };
    const header = jwt.decode(token, { complete: true })!.header;
    expect(header.alg).toBe('ES256');
    const jwk = keys.find((k) => k.kid === header.kid)!;
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const claims = jwt.verify(token, pem, { algorithms: ['ES256'] }) as Record<string, any>;

    expect(claims.eat_profile).toBe(EAR_PROFILE);
    expect(Number.isInteger(claims.iat)).toBe(true);
    expect(claims.exp - claims.iat).toBe(120);
    expect(claims.sub).toBe(agent.host.hostId);
    expect(claims.iss).toBe(s.baseUrl);
    expect(claims.cnf.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(claims['ear.verifier-id']).toEqual({ developer: 'bootgate', build: expect.stringMatching(/^bootgate \d+\.\d+\.\d+/) });
    expect(Object.keys(claims.submods)).toEqual(['measured-boot']);
    const appraisal = claims.submods['measured-boot'];
    expect(TIERS).toContain(appraisal['ear.status']);
    expect(appraisal['ear.status']).toBe('affirming');
    expect(appraisal['ear.appraisal-policy-id']).toBe(`golden:${String(r.profile)}`);
    const vector = appraisal['ear.trustworthiness-vector'] as Record<string, number>;
    for (const [k, v] of Object.entries(vector)) {
      expect(AR4SI_CATEGORIES).toContain(k);
      expect(Number.isInteger(v) && v >= -128 && v <= 127).toBe(true);
    }
    expect(vector).toEqual({ 'instance-identity': 2, hardware: 2, executables: 3, configuration: 2 });
    expect(claims.bootgate).toEqual({ appraisal: r.appraisalId, profile: r.profile, ak: expect.stringMatching(/^[0-9a-f]+$/), pcrDigest: expect.stringMatching(/^[0-9a-f]+$/) });
    // The home-grown top-level claims are not there.
    expect(claims.appraisal).toBeUndefined();

    // Key release and introspection accept the EAR like the default token.
    const put = await s.call('PUT', '/v1/secrets/ear-disk', { key: s.adminKey, body: { value: Buffer.from('s'.repeat(16)).toString('base64'), policy: { profiles: [SIM_PROFILE] } } });
    expect(put.status).toBe(201);
    expect(Buffer.from(await agent.release('ear-disk')).toString()).toBe('s'.repeat(16));
    const intro = await s.call('POST', '/v1/tokens/introspect', { key: s.brokerKey, body: { token } });
    expect(intro.json).toMatchObject({ active: true, sub: agent.host.hostId, appraisal: r.appraisalId });

    // A refused EAR is audited with its appraisal, as a default token is.
    expect((await s.call('POST', '/v1/tokens/revoke', { key: s.adminKey, body: { jti: claims.jti } })).status).toBe(200);
    const refused = await s.call('POST', '/v1/secrets/ear-disk/release', { headers: { authorization: `Bearer ${token}` }, body: {} });
    expect(refused.json.error.code).toBe('token_revoked');
    const trail = (await s.call('GET', '/v1/secrets/ear-disk/releases', { key: s.adminKey })).json.releases as Array<Record<string, unknown>>;
    expect(trail.find((x) => x.code === 'token_revoked')).toMatchObject({ outcome: 'refused', hostId: agent.host.hostId, appraisalId: r.appraisalId });
  });

  it('gives a failing host no token', async () => {
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc', scenario: 'secure-boot-off' }), s.baseUrl);
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict).toBe('fail');
    expect(r.token).toBeUndefined();
  });
});
