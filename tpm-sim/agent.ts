/**
 * HostAgent: what a real host's attestation client does against bootgate's HTTP API (contract §3),
 * with a SimHost standing in for its TPM: enroll (EK cert + EK + AK), activate the credential,
 * get a nonce, quote, attest, and release secrets with the attestation token.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { PcrBanks } from '../src/tpm/alg.ts';
import { fromBase64, toBase64, toHex } from '../src/util/encoding.ts';
import type { SimHost } from './host.ts';

export interface HostAgentOptions {
  /** Bind attestation tokens to a fresh key (quote extraData = SHA-256(nonce ‖ JWK thumbprint)). */
  bindingKey?: 'ec' | 'rsa';
  /** Extra headers on every request (e.g. an API key, if a deployment puts one in front). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export class AgentHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly path: string,
  ) {
    super(`${path} answered ${status}: ${JSON.stringify(body)}`);
  }
}

interface Evidence {
  nonce: string;
  quote: string;
  signature: string;
  eventLog: string;
  pcrs: Record<string, Record<string, string>>;
  bindingKey?: JWK;
}

function pcrsJson(banks: PcrBanks): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [bank, m] of Object.entries(banks)) {
    if (!m) continue;
    out[bank] = Object.fromEntries([...m.entries()].map(([pcr, v]) => [String(pcr), toHex(v)]));
  }
  return out;
}

export class HostAgent {
  enrollmentId: string | undefined;
  /** The last attestation token (JWT), when the last verdict was pass. */
  token: string | undefined;
  private binding: { privateKey: CryptoKey; publicJwk: JWK; thumbprint: Uint8Array } | undefined;
  private lastEvidence: Evidence | undefined;
  private readonly doFetch: typeof fetch;

  constructor(
    readonly host: SimHost,
    readonly baseUrl: string,
    readonly opts: HostAgentOptions = {},
  ) {
    this.doFetch = opts.fetch ?? fetch;
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
    const res = await this.doFetch(new URL(path, this.baseUrl), {
      method,
      headers: { 'content-type': 'application/json', ...this.opts.headers, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  private async expect(status: number[], method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Record<string, unknown>> {
    const r = await this.call(method, path, body, headers);
    if (!status.includes(r.status) || typeof r.json !== 'object' || r.json === null) throw new AgentHttpError(r.status, r.json, path);
    return r.json as Record<string, unknown>;
  }

  /** POST /v1/enrollments: returns the credential blob the verifier made for this EK and AK name. */
  async enroll(profiles?: string[]): Promise<{ enrollmentId: string; credentialBlob: Uint8Array; expiresAt: string }> {
    const j = await this.expect([201], 'POST', '/v1/enrollments', {
      hostId: this.host.hostId,
      ekCert: toBase64(this.host.ekCertDer),
      ekPub: toBase64(this.host.ekPub),
      akPub: toBase64(this.host.akPub),
      ...(profiles ? { profiles } : {}),
    });
    const blob = typeof j.credentialBlob === 'string' ? fromBase64(j.credentialBlob) : null;
    if (typeof j.enrollmentId !== 'string' || !blob) throw new AgentHttpError(201, j, '/v1/enrollments');
    this.enrollmentId = j.enrollmentId;
    this.pendingCredential = blob;
    return { enrollmentId: j.enrollmentId, credentialBlob: blob, expiresAt: String(j.expiresAt) };
  }

  private pendingCredential: Uint8Array | undefined;

  /** TPM2_ActivateCredential on the blob, then POST /v1/enrollments/{id}/activate with the secret. */
  async activate(): Promise<Record<string, unknown>> {
    if (!this.enrollmentId || !this.pendingCredential) throw new Error('enroll() first');
    const secret = this.host.activateCredential(this.pendingCredential);
    return this.expect([200], 'POST', `/v1/enrollments/${encodeURIComponent(this.enrollmentId)}/activate`, { secret: toBase64(secret) });
  }

  async nonce(): Promise<Uint8Array> {
    const j = await this.expect([201], 'POST', `/v1/hosts/${encodeURIComponent(this.host.hostId)}/nonce`);
    const n = typeof j.nonce === 'string' ? fromBase64(j.nonce) : null;
    if (!n) throw new AgentHttpError(201, j, 'nonce');
    return n;
  }

  private async bindingKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK; thumbprint: Uint8Array } | undefined> {
    if (!this.opts.bindingKey) return undefined;
    if (!this.binding) {
      const alg = this.opts.bindingKey === 'ec' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256';
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const full = await exportJWK(publicKey);
      const publicJwk: JWK =
        full.kty === 'EC' ? { kty: 'EC', crv: full.crv, x: full.x, y: full.y } : { kty: 'RSA', n: full.n, e: full.e };
      const thumbprint = new Uint8Array(Buffer.from(await calculateJwkThumbprint(publicJwk, 'sha256'), 'base64url'));
      this.binding = { privateKey, publicJwk, thumbprint };
    }
    return this.binding;
  }

  /** Fresh evidence: nonce from the verifier, quote over sha256 PCRs 0-15, the event log, all quoted PCRs. */
  async collectEvidence(): Promise<Evidence> {
    const nonce = await this.nonce();
    const binding = await this.bindingKey();
    const extraData = binding ? new Uint8Array(createHash('sha256').update(nonce).update(binding.thumbprint).digest()) : nonce;
    const q = this.host.quote(extraData);
    return {
      nonce: toBase64(nonce),
      quote: toBase64(q.quote),
      signature: toBase64(q.signature),
      eventLog: toBase64(this.host.eventLog),
      pcrs: pcrsJson(q.pcrs),
      ...(binding ? { bindingKey: binding.publicJwk } : {}),
    };
  }

  async submit(evidence: Evidence): Promise<Record<string, unknown>> {
    const j = await this.expect([200], 'POST', `/v1/hosts/${encodeURIComponent(this.host.hostId)}/attestations`, evidence);
    this.lastEvidence = evidence;
    this.token = j.verdict === 'pass' && typeof j.token === 'string' ? j.token : undefined;
    return j;
  }

  /**
   * One attestation round; returns the verifier's appraisal JSON. A replayed-quote host first
   * attests honestly (consuming that nonce), then resubmits that same evidence and returns the
   * answer to the replay, which a verifier must refuse (nonce_reused).
   */
  async attest(): Promise<Record<string, unknown>> {
    if (this.host.scenario === 'replayed-quote') {
      const old = this.lastEvidence ?? (await this.submit(await this.collectEvidence()), this.lastEvidence);
      if (!old) throw new Error('no evidence to replay');
      return this.submit(old);
    }
    return this.submit(await this.collectEvidence());
  }

  /** POST /v1/secrets/{name}/release with the attestation token; decrypts the JWE with the binding key. */
  async release(secretName: string, token: string | undefined = this.token): Promise<Uint8Array> {
    if (!token) throw new Error('no attestation token');
    const binding = this.binding;
    if (!binding) throw new Error('release needs a binding key (new HostAgent(host, url, {bindingKey}))');
    const j = await this.expect([200], 'POST', `/v1/secrets/${encodeURIComponent(secretName)}/release`, {}, { authorization: `Bearer ${token}` });
    if (typeof j.jwe !== 'string') throw new AgentHttpError(200, j, 'release');
    const { plaintext } = await compactDecrypt(j.jwe, binding.privateKey);
    return plaintext;
  }
}
