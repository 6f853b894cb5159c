/** Issuing the attestation token of contract §3.4 (verification for key release lives in src/broker/token-check.ts). */
import { SignJWT, type JWTPayload } from 'jose';
import { randomBytes } from 'node:crypto';
import type { SigningKeyring } from './keys.ts';
import { earClaims, type TrustworthinessVector } from './ear.ts';

/** `jwt`: the claims of contract §3.4; `ear`: an EAT Attestation Result (see ear.ts), same key and alg. */
export type TokenFormat = 'jwt' | 'ear';

export interface TokenSubject {
  hostId: string;
  appraisalId: string;
  /** "name@version" of the profile that passed. */
  profile: string;
  /** akName as hex. */
  akName: string;
  /** The quote's pcrDigest as hex. */
  pcrDigest: string;
  /** RFC 7638 thumbprint (base64url) of the key bound through the nonce. */
  bindingKeyThumbprint?: string;
  /** AR4SI claims (EAR format only). */
  vector?: TrustworthinessVector;
}

export interface IssuedToken {
  token: string;
  jti: string;
  issuedAt: Date;
  expiresAt: Date;
}

export interface AttestationClaims extends JWTPayload {
  sub: string;
  jti: string;
  iat: number;
  exp: number;
  appraisal: string;
  profile: string;
  ak: string;
  pcrDigest: string;
  cnf?: { jkt: string };
}

export async function issueAttestationToken(
  keyring: SigningKeyring,
  options: { issuer: string; ttlSeconds: number; now: Date; format?: TokenFormat; verifierBuild?: string },
  subject: TokenSubject,
): Promise<IssuedToken> {
  const { kid, privateKey } = keyring.current();
  const iat = Math.floor(options.now.getTime() / 1000);
  const exp = iat + options.ttlSeconds;
  const jti = randomBytes(16).toString('base64url');
  const claims: Record<string, unknown> =
    options.format === 'ear'
      ? earClaims({
          appraisalId: subject.appraisalId,
          profile: subject.profile,
          akName: subject.akName,
          pcrDigest: subject.pcrDigest,
          vector: subject.vector ?? {},
          verifierBuild: options.verifierBuild ?? 'bootgate',
        })
      : { appraisal: subject.appraisalId, profile: subject.profile, ak: subject.akName, pcrDigest: subject.pcrDigest };
  if (subject.bindingKeyThumbprint !== undefined) claims.cnf = { jkt: subject.bindingKeyThumbprint };
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setSubject(subject.hostId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(privateKey);
  return { token, jti, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}
