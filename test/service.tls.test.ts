/** HTTPS with BOOTGATE_TLS_CERT and BOOTGATE_TLS_KEY (contract §2): the host flow over TLS, and start-up refusals. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { webcrypto } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { x509 } from './helpers/x509.ts';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';
import { loadConfig } from '../src/config.ts';
import { loadTlsMaterial } from '../src/http/tls.ts';
import { runBootgate } from './helpers/cli.ts';

x509.cryptoProvider.set(webcrypto as never);

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string; pem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys: keys as never,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const pem = cert.toString('pem');
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pem);
  writeFileSync(keyFile, `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`);
  return { cert: certFile, key: keyFile, pem };
}

/** fetch over node:https trusting exactly `ca`, for tpm-sim's HostAgent. */
function fetchTrusting(ca: string): typeof fetch {
  return (async (input: URL | string, init: RequestInit = {}) => {
    const url = new URL(String(input));
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
      });
      req.on('error', reject);
      if (init.body !== undefined && init.body !== null) req.write(init.body as string);
      req.end();
    });
  }) as typeof fetch;
}

let dir: string;
let good: { cert: string; key: string; pem: string };
let other: { cert: string; key: string; pem: string };
let s: TestServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-tls-'));
  good = await selfSigned(dir, 'verifier');
  other = await selfSigned(dir, 'other');
  s = await startTestServer({ env: { BOOTGATE_TLS_CERT: good.cert, BOOTGATE_TLS_KEY: good.key } });
});
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  it('serves the whole host flow over TLS, and its URL says https://', async () => {
    expect(s.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tlsFetch = fetchTrusting(good.pem);
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl, { fetch: tlsFetch });
    await agent.enroll([SIM_PROFILE]);
    await agent.activate();
    const r = await agent.attest();
    expect(r.verdict, JSON.stringify(r.failures)).toBe('pass');
    const jwks = JSON.parse(await (await tlsFetch(new URL('/.well-known/jwks.json', s.baseUrl))).text());
    const { payload } = await jwtVerify(String(r.token), createLocalJWKSet(jwks));
    expect(payload.sub).toBe(agent.host.hostId);
    expect(payload.iss).toBe(s.baseUrl);
  });

  it('speaks HTTPS only: a plain HTTP request gets no answer', async () => {
    await expect(fetch(s.baseUrl.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
  });

  it('refuses a certificate it was not given to trust (the client checks, the server presents)', async () => {
    await expect(fetchTrusting(other.pem)(new URL('/healthz', s.baseUrl))).rejects.toThrow();
  });
});

describe('bad TLS configuration stops start-up with a clear message', () => {
  it('needs both variables', () => {
    expect(() => loadConfig({ BOOTGATE_TLS_CERT: good.cert })).toThrow(/BOOTGATE_TLS_KEY: must be set too/);
    expect(() => loadConfig({ BOOTGATE_TLS_KEY: good.key })).toThrow(/BOOTGATE_TLS_CERT: must be set too/);
  });

  it('names a missing file, a file that is not PEM, and a key of another certificate', () => {
    expect(() => loadTlsMaterial(join(dir, 'nope.crt'), good.key)).toThrow(/BOOTGATE_TLS_CERT: cannot read .*nope\.crt \(ENOENT\)/);
    writeFileSync(join(dir, 'junk'), 'not a pem');
    expect(() => loadTlsMaterial(good.cert, join(dir, 'junk'))).toThrow(/BOOTGATE_TLS_KEY: .*junk is not a PEM file/);
    expect(() => loadTlsMaterial(good.cert, other.key)).toThrow(/BOOTGATE_TLS_KEY: the key in .*other\.key does not match the certificate in .*verifier\.crt/);
    expect(loadTlsMaterial(good.cert, good.key).cert.toString()).toBe(good.pem);
  });

  it('`bootgate serve` with a mismatched key exits 2 with that message and never listens', async () => {
    const data = mkdtempSync(join(tmpdir(), 'bootgate-tls-serve-'));
    try {
      const r = await runBootgate(['serve'], { BOOTGATE_PORT: '0', BOOTGATE_DATA_DIR: data, BOOTGATE_TLS_CERT: good.cert, BOOTGATE_TLS_KEY: other.key, BOOTGATE_LOG_LEVEL: 'silent' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^bootgate serve: BOOTGATE_TLS_KEY: the key in .* does not match the certificate/m);
      expect(r.stdout).not.toContain('listening');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
