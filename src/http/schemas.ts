/** Request shapes of contract §3, strict: unknown fields are refused. */
import { z } from 'zod';

export const HOST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
export const PROFILE_NAME_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Large enough for any event log (they run to a few hundred KB), bounded by the body limit anyway. */
const b64 = z.string().max(64 * 1024 * 1024);

export const hostIdSchema = z.string().regex(HOST_ID_RE, 'hostId is 1-128 characters from [A-Za-z0-9._:-]');
export const profileNameSchema = z.string().regex(PROFILE_NAME_RE, 'a profile name is 1-128 characters from [A-Za-z0-9._:-]');
export const idSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'not a valid id');

export const EnrollmentRequestSchema = z.strictObject({
  hostId: hostIdSchema,
  ekCert: b64.min(1),
  ekPub: b64.min(1).optional(),
  akPub: b64.min(1),
  profiles: z.array(profileNameSchema).max(32).optional(),
});

export const ActivateRequestSchema = z.strictObject({ secret: b64.min(1) });

const pcrIndex = z.string().regex(/^(?:[0-9]|1[0-9]|2[0-3])$/, 'PCR index must be 0-23');
const pcrValue = z.string().regex(/^(?:[0-9a-fA-F]{2}){20,64}$/, 'PCR value must be hex');
const pcrBank = z.partialRecord(pcrIndex, pcrValue);

export const AttestationRequestSchema = z.strictObject({
  nonce: b64.min(1),
  quote: b64.min(1),
  signature: b64.min(1),
  eventLog: b64.min(1),
  bindingKey: z.record(z.string(), z.unknown()).optional(),
  pcrs: z.partialRecord(z.enum(['sha1', 'sha256', 'sha384', 'sha512']), pcrBank).optional(),
});

export const HostUpdateSchema = z.strictObject({ profiles: z.array(profileNameSchema).max(32) });

export const TrustQuerySchema = z.strictObject({ trust: z.enum(['trusted', 'untrusted', 'unknown', 'expired']).optional() });

export const VersionQuerySchema = z.strictObject({ version: z.string().min(1).max(128).optional() });
