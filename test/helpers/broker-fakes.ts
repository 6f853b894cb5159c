/**
 * Test doubles for the broker and events tests: an in-memory Store with only the methods those
 * modules use (anything else throws), a fake requireRole, the error mapper the service installs,
 * and a stand-in for the verifier's ES256 token key.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type {
  AppraisalRecord,
  HostRecord,
  ReleaseRecord,
  SecretRecord,
  Store,
  TrustEventRecord,
} from '../../src/store/types.ts';
import { ApiError } from '../../src/util/errors.ts';

export class FakeStore {
  hosts = new Map<string, HostRecord>();
  secrets = new Map<string, SecretRecord>();
  releases: ReleaseRecord[] = [];
  revokedTokens = new Map<string, { hostId: string | null; expiresAt: Date | null }>();
  appraisals: AppraisalRecord[] = [];
  events: TrustEventRecord[] = [];

  async getHost(hostId: string) {
    return this.hosts.get(hostId);
  }
  async revokeHost(hostId: string, at: Date) {
    const h = this.hosts.get(hostId);
    if (h === undefined) return false;
    h.revokedAt ??= at.toISOString();
    return true;
  }
  async isTokenRevoked(jti: string) {
    return this.revokedTokens.has(jti);
  }
  async revokeToken(jti: string, hostId: string | null, _at: Date, expiresAt: Date | null) {
    this.revokedTokens.set(jti, { hostId, expiresAt });
  }
  async getSecret(name: string) {
    return this.secrets.get(name);
  }
  async putSecret(s: SecretRecord) {
    this.secrets.set(s.name, structuredClone(s));
  }
  async recordRelease(r: ReleaseRecord) {
    this.releases.push(structuredClone(r));
  }
  async listReleases(secretName?: string) {
    return this.releases.filter((r) => secretName === undefined || r.secretName === secretName);
  }
  async getAppraisal(appraisalId: string) {
    return this.appraisals.find((a) => a.appraisalId === appraisalId);
  }
  async lastAppraisal(hostId: string) {
    return this.appraisals.filter((a) => a.hostId === hostId).at(-1);
  }
  async lastAppraisalVerdict(hostId: string) {
    return this.appraisals.filter((a) => a.hostId === hostId).at(-1);
  }
  async lastPassingAppraisal(hostId: string) {
    return this.appraisals.filter((a) => a.hostId === hostId && a.verdict === 'pass').at(-1);
  }
  async appendTrustEvent(e: Omit<TrustEventRecord, 'seq'>) {
    const stored = { ...structuredClone(e), seq: this.events.length + 1 };
    this.events.push(stored);
    return stored;
  }
  async trustEventsAfter(seq: number, limit: number) {
    return this.events.filter((e) => e.seq > seq).slice(0, limit);
  }
  async close() {}

  /** The Store view: any method the fake does not implement fails loudly if a module calls it. */
  asStore(): Store {
    return new Proxy(this, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (v === undefined && typeof prop === 'string') {
          return () => {
            throw new Error(`FakeStore.${prop} is not implemented`);
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as unknown as Store;
  }
}

/** Roles come from the X-Test-Role header (comma separated); admin may do everything, as in the service. */
export function fakeRequireRole(...roles: string[]): RequestHandler {
  return (req, _res, next) => {
    const held = (req.get('x-test-role') ?? '').split(',').filter(Boolean);
    if (held.length === 0) throw new ApiError(401, 'missing_credentials', 'no role');
    if (!held.includes('admin') && !roles.some((r) => held.includes(r))) throw new ApiError(403, 'forbidden', 'wrong role');
    next();
  };
}

export const errorMapper: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  if (err instanceof ApiError) {
    res.status(err.status).json({ error: { code: err.code, message: err.message } });
    return;
  }
  res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
};

/**
 * Like the service's strict JSON body parser: reads any body raw, answers 415 for a non-JSON type.
 * Routers get it per route through `jsonBody`, exactly as the service mounts them.
 */
export const testJsonBody: RequestHandler[] = [
  express.raw({ type: () => true, limit: '256kb' }),
  (req, _res, next) => {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      req.body = undefined;
      next();
      return;
    }
    if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', 'JSON only');
    try {
      req.body = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(400, 'invalid_json', 'not JSON');
    }
    next();
  },
];

export function testApp(...routers: express.Router[]): express.Express {
  const app = express();
  for (const r of routers) app.use(r);
  app.use(errorMapper);
  return app;
}

export async function listen(app: express.Express): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TestSigner {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

export async function makeSigner(): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateKey, publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' }, kid };
}

export interface TokenOptions {
  iss?: string;
  sub?: string;
  jti?: string;
  appraisal?: string;
  profile?: string;
  jkt?: string;
  iat?: number;
  exp?: number;
  kid?: string;
}

export async function signToken(signer: TestSigner, o: TokenOptions & { iss: string; sub: string; iat: number; exp: number }): Promise<string> {
  const claims: Record<string, unknown> = {
    appraisal: o.appraisal ?? 'appr-1',
    profile: o.profile ?? 'ref-uefi@1.0',
    ak: '000b' + '11'.repeat(32),
    pcrDigest: '22'.repeat(32),
  };
  if (o.jkt !== undefined) claims['cnf'] = { jkt: o.jkt };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: o.kid ?? signer.kid, typ: 'JWT' })
    .setIssuer(o.iss)
    .setSubject(o.sub)
    .setIssuedAt(o.iat)
    .setExpirationTime(o.exp)
    .setJti(o.jti ?? 'jti-1')
    .sign(signer.privateKey);
}

export function hostRecord(hostId: string, extra: Partial<HostRecord> = {}): HostRecord {
  return {
    hostId,
    ekFingerprint: 'aa'.repeat(32),
    akName: '000b' + '11'.repeat(32),
    akPub: 'AAAA',
    profiles: ['ref-uefi'],
    enrolledAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}
