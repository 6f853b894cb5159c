/** Enrollment core: EK certificate chains, AK policy and credential preparation (pure; the HTTP route lives in src/http). */
export * from './ak-policy.ts';
export * from './ek-cert-quirks.ts';
export * from './ek-chain.ts';
export * from './ek-roots.ts';
export * from './ek-template.ts';
export * from './prepare.ts';
export { CertificateDecodeError } from './x509.ts';
