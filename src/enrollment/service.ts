/**
 * Enrollment wiring (contract §3.1): prepare the credential challenge, keep only the hash of its
 * secret, and on activation prove the AK lives in the EK's TPM by the returned secret.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Store } from '../store/types.ts';
import { ApiError } from '../util/errors.ts';
import { constantTimeEqual, fromHex, toBase64, toHex } from '../util/encoding.ts';
import type { CoreDependencies } from '../attestation/ports.ts';
import type { ProfileCatalog } from '../attestation/profiles.ts';

export interface EnrollRequest {
  hostId: string;
  ekCert: Uint8Array;
  ekPub?: Uint8Array;
  akPub: Uint8Array;
  profiles?: string[];
}

export interface EnrollResponse {
  enrollmentId: string;
  credentialBlob: string;
  expiresAt: string;
}

export interface ActivateResponse {
  hostId: string;
  akName: string;
  status: 'enrolled';
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

export class EnrollmentService {
  constructor(
    private readonly store: Store,
    private readonly core: Pick<CoreDependencies, 'prepareEnrollment'>,
    private readonly profiles: ProfileCatalog,
    private readonly enrollmentTtlSeconds: number,
  ) {}

  async enroll(req: EnrollRequest, now: Date): Promise<EnrollResponse> {
    for (const name of req.profiles ?? []) {
      if (!(await this.profiles.exists(name))) throw new ApiError(400, 'unknown_profile', `no golden profile named "${name}"`);
    }
    const prepared = await this.core.prepareEnrollment({
      hostId: req.hostId,
      ekCert: req.ekCert,
      ...(req.ekPub ? { ekPub: req.ekPub } : {}),
      akPub: req.akPub,
      now,
    });
    // Checked again atomically at activation; answering early spares the host a useless TPM round trip.
    const existing = await this.store.getHost(req.hostId);
    if (existing && existing.ekFingerprint !== prepared.ekFingerprint) {
      throw new ApiError(409, 'host_ek_conflict', `host ${req.hostId} is enrolled with another TPM; an administrator must delete it first`);
    }
    const enrollmentId = randomUUID();
    const expiresAt = new Date(now.getTime() + this.enrollmentTtlSeconds * 1000).toISOString();
    await this.store.createEnrollment({
      enrollmentId,
      hostId: req.hostId,
      ekFingerprint: prepared.ekFingerprint,
      akName: prepared.akName,
      akPub: toBase64(req.akPub),
      profiles: req.profiles ?? [],
      secretHash: toHex(sha256(prepared.secret)),
      createdAt: now.toISOString(),
      expiresAt,
    });
    prepared.secret.fill(0);
    return { enrollmentId, credentialBlob: toBase64(prepared.credentialFile), expiresAt };
  }

  async activate(enrollmentId: string, secret: Uint8Array, now: Date): Promise<ActivateResponse> {
    const enrollment = await this.store.getEnrollment(enrollmentId);
    if (!enrollment) throw new ApiError(404, 'unknown_enrollment', 'no such enrollment');
    const expected = fromHex(enrollment.secretHash) ?? new Uint8Array(32);
    // The secret is checked before anything about the enrollment's state is revealed.
    if (!constantTimeEqual(sha256(secret), expected)) {
      throw new ApiError(403, 'activation_secret_invalid', 'the activation secret does not match the credential challenge');
    }
    const outcome = await this.store.activateEnrollment(enrollmentId, now);
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'not_found':
          throw new ApiError(404, 'unknown_enrollment', 'no such enrollment');
        case 'already_activated':
          throw new ApiError(409, 'enrollment_already_activated', 'this enrollment was already activated');
        case 'expired':
          throw new ApiError(403, 'enrollment_expired', 'this enrollment expired; enroll again');
        case 'ek_conflict':
          throw new ApiError(409, 'host_ek_conflict', `host ${enrollment.hostId} is enrolled with another TPM; an administrator must delete it first`);
      }
    }
    await this.store.appendTrustEvent({
      hostId: outcome.host.hostId,
      kind: 'enrolled',
      detail: { enrollmentId, akName: outcome.host.akName },
      at: now.toISOString(),
    });
    return { hostId: outcome.host.hostId, akName: outcome.host.akName, status: 'enrolled' };
  }
}
