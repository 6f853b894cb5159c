export { loadMasterKey, MasterKeyError, MASTER_KEY_ENV, MASTER_KEY_FILE, type MasterKey } from './master-key.ts';
export { sealSecret, openSecret, EnvelopeError, ENVELOPE_VERSION } from '../util/envelope.ts';
export { releasePolicySchema, evaluatePolicy, type ReleasePolicy, type PolicyDecision } from './policy.ts';
export { checkAttestationToken, TOKEN_CLOCK_TOLERANCE_S, type AttestationClaims, type TokenCheck, type TokenCheckDeps, type TrustStatus } from './token-check.ts';
export { checkBindingKey, encryptToBindingKey, type BindingKey } from './binding-key.ts';
export { decideRelease, releaseSecret, type ReleaseDecision, type ReleaseDeps, type ReleaseRefusal, type ReleaseRefusalCode } from './release.ts';
export { createBrokerRouter, callerOf, SECRET_NAME_RE, MAX_SECRET_BYTES } from './routes.ts';
export type { BrokerDeps, Role } from './deps.ts';
