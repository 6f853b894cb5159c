/** Everything the broker routes need, injected by the service that mounts them. */
import type { RequestHandler } from 'express';
import type { JWK } from 'jose';
import type { Store, TrustEventRecord } from '../store/types.ts';
import type { TrustStatus } from './token-check.ts';

export type Role = 'admin' | 'scheduler' | 'broker';

export interface BrokerDeps {
  store: Store;
  /** API-key authorisation middleware of the service: 401/403 unless the caller holds one of the roles. */
  requireRole(...roles: Role[]): RequestHandler;
  /** Public JWKs (with kid) of the verifier's token keys: what /.well-known/jwks.json publishes. */
  getVerificationKeys(): Promise<JWK[]>;
  /** The `iss` the verifier puts in its tokens. */
  issuer: string;
  /** 32-byte master key (see master-key.ts). */
  masterKey: Uint8Array;
  /** The host's current trust (contract §3.3) and the appraisal it rests on. */
  trustOf(hostId: string): Promise<{ status: TrustStatus; appraisalId?: string | null }>;
  /** Called after a trust event was appended (e.g. host revoked), to wake long-polls and webhooks. */
  onTrustEvent(e: TrustEventRecord): void;
  now(): Date;
  /** Hears every release decision (metrics). */
  onRelease?(outcome: 'released' | 'refused', code: string): void;
  /**
   * Body parser for the routes that take a JSON body (the service's strictJsonBody(limit)).
   * Omit only when the app already parses JSON for every route.
   */
  jsonBody?: RequestHandler[];
}
