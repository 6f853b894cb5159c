/** Everything the routes need, built by the composition root (src/service.ts). */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Store } from '../store/types.ts';
import type { SigningKeyring } from '../token/keys.ts';
import type { EnrollmentService } from '../enrollment/service.ts';
import type { AttestationService } from '../attestation/service.ts';
import type { HostService } from '../attestation/hosts.ts';
import type { ProfileCatalog } from '../attestation/profiles.ts';
import type { ChangeTracker } from '../fleet/changes.ts';
import type { DriftService } from '../fleet/drift.ts';
import type { CensusService } from '../fleet/census.ts';
import type { ApiKeyring } from './auth.ts';
import type { Metrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface AppContext {
  config: Config;
  store: Store;
  keyring: SigningKeyring;
  apiKeys: ApiKeyring;
  enrollment: EnrollmentService;
  attestation: AttestationService;
  hosts: HostService;
  profiles: ProfileCatalog;
  /** History, changes, drift and census (contract §6). */
  fleet: { changes: ChangeTracker; drift: DriftService; census: CensusService };
  metrics: Metrics;
  log: Logger;
  /** Per client address and per host on nonce, attestation and enrollment routes. */
  limiter: RateLimiter;
  now(): Date;
  /** The URL the service listens on, once it does (the OpenAPI document's server). */
  serverUrl?: () => string | undefined;
}
