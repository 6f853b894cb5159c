/** GET /openapi.json and /docs (contract §8): a valid OpenAPI 3.1 document of every registered route, and 405s. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createSimHost, HostAgent } from '../tpm-sim/index.ts';
import { startTestServer, SIM_PROFILE, type TestServer } from './helpers/server.ts';
import { registeredRoutes } from '../src/http/route-table.ts';
import * as res from '../src/http/response-schemas.ts';
import { toBase64 } from '../src/util/encoding.ts';

let s: TestServer;
let doc: any;
beforeAll(async () => {
  s = await startTestServer();
  const r = await s.call('GET', '/openapi.json');
  expect(r.status).toBe(200);
  doc = r.json;
});
afterAll(async () => {
  await s?.stop();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const SAMPLE: Record<string, string> = { hostId: 'no-such-host', name: 'no-such-name', id: 'no-such-id', enrollmentId: 'no-such-id' };
const fill = (path: string) => path.replace(/\{([A-Za-z]+)\}/g, (_m, p: string) => SAMPLE[p] ?? 'x');

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document naming the running server', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: s.baseUrl }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin', 'attestationToken', 'broker', 'scheduler']);
  });

  it('documents every route express registered, and nothing express does not serve', () => {
    const routes = registeredRoutes(s.service.app);
    expect(routes.length).toBeGreaterThan(20);
    const registered = new Set(routes.flatMap((r) => r.methods.map((m) => `${m} ${r.path}`)));
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...registered].filter((r) => !documented.has(r)), 'routes missing from /openapi.json').toEqual([]);
    expect([...documented].filter((d) => !registered.has(d)), 'documented routes express does not have').toEqual([]);
  });

  it('gives every operation a response, the error shape for its 4xx, and a request body schema where it takes one', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const codes = Object.keys(op.responses);
        expect(codes.some((c) => c.startsWith('2')), `${method} ${path}`).toBe(true);
        for (const c of codes.filter((c) => c.startsWith('4'))) {
          expect(op.responses[c].content['application/json'].schema, `${method} ${path} ${c}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
        if (['put', 'post'].includes(method) && op.requestBody) expect(Object.keys(op.requestBody.content).length).toBeGreaterThan(0);
      }
    }
    expect(doc.paths['/v1/hosts/{hostId}/attestations'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/AttestationRequest',
    });
    // The validating schema is strict, so is the document.
    expect(doc.components.schemas.AttestationRequest.additionalProperties).toBe(false);
  });

  it('states the credentials each route needs, and the server enforces exactly that', async () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const schemes = (op.security as Array<Record<string, unknown>>).flatMap((x) => Object.keys(x));
        const r = await s.call(method.toUpperCase(), fill(path));
        if (schemes.length === 0) expect(r.status, `${method} ${path} needs no key`).not.toBe(401);
        else if (!schemes.includes('attestationToken')) {
          expect(r.status, `${method} ${path} needs ${schemes.join('|')}`).toBe(401);
          expect(schemes).toContain('admin');
          // A key of a role the document does not list is refused.
          for (const [role, key] of [['scheduler', s.schedulerKey], ['broker', s.brokerKey]] as const) {
            if (schemes.includes(role)) continue;
            expect((await s.call(method.toUpperCase(), fill(path), { key })).status, `${method} ${path} as ${role}`).toBe(403);
          }
        } else expect(r.status).toBe(401);
      }
    }
  });

  it('describes the answers the server really gives on the host flow', async () => {
    const agent = new HostAgent(createSimHost({ ekType: 'ecc', akType: 'ecc' }), s.baseUrl);
    const other = createSimHost({ ekType: 'rsa', akType: 'rsa' });
    const enrolled = await s.call('POST', '/v1/enrollments', {
      body: { hostId: other.hostId, ekCert: toBase64(other.ekCertDer), ekPub: toBase64(other.ekPub), akPub: toBase64(other.akPub) },
    });
    expect(enrolled.status).toBe(201);
    res.EnrollmentResponseSchema.parse(enrolled.json);
    await agent.enroll([SIM_PROFILE]);
    res.ActivateResponseSchema.parse(await agent.activate());
    const nonce = await s.call('POST', `/v1/hosts/${agent.host.hostId}/nonce`);
    res.NonceResponseSchema.parse(nonce.json);
    const verdict = await agent.attest();
    expect(verdict.verdict).toBe('pass');
    res.AttestationResponseSchema.parse(verdict);
    res.HostViewSchema.parse((await s.call('GET', `/v1/hosts/${agent.host.hostId}`, { key: s.schedulerKey })).json);
    res.HostListResponseSchema.parse((await s.call('GET', '/v1/hosts', { key: s.schedulerKey })).json);
    res.JwksSchema.parse((await s.call('GET', '/.well-known/jwks.json')).json);
    res.ProfileSummaryListSchema.parse((await s.call('GET', '/v1/golden', { key: s.adminKey })).json);
    res.EventPageSchema.parse((await s.call('GET', '/v1/events?timeout=0', { key: s.schedulerKey })).json);
    res.HealthSchema.parse((await s.call('GET', '/healthz')).json);
    res.ErrorSchema.parse((await s.call('GET', '/v1/hosts/nobody', { key: s.adminKey })).json);
  });
});

describe('405 Method Not Allowed', () => {
  it('answers a known path called with another method with 405, the error shape and Allow', async () => {
    const r = await s.call('DELETE', '/v1/enrollments');
    expect(r.status).toBe(405);
    expect(r.json).toEqual({ error: { code: 'method_not_allowed', message: expect.stringContaining('POST') } });
    expect(r.headers.get('allow')).toBe('OPTIONS, POST');
    const host = await s.call('PATCH', '/v1/hosts/some-host');
    expect(host.status).toBe(405);
    expect(host.headers.get('allow')).toBe('DELETE, GET, HEAD, OPTIONS, PUT');
    expect((await s.call('POST', '/openapi.json')).headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('still answers 404 for paths no route has', async () => {
    const r = await s.call('DELETE', '/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('not_found');
  });
});

describe('/docs', () => {
  it('renders the document with assets from this server only', async () => {
    const page = await fetch(new URL('/docs', s.baseUrl));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toContain('/docs/swagger-ui-bundle.js');
    for (const a of assets) {
      const r = await fetch(new URL(a, s.baseUrl));
      expect(r.status, a).toBe(200);
      expect((await r.arrayBuffer()).byteLength, a).toBeGreaterThan(0);
    }
    expect(await (await fetch(new URL('/docs/init.js', s.baseUrl))).text()).toContain("'/openapi.json'");
    // The renderer package's sample page and initializer (a petstore URL) are not served.
    expect((await fetch(new URL('/docs/swagger-initializer.js', s.baseUrl))).status).toBe(404);
  });
});
