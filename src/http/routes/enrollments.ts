/** POST /v1/enrollments and POST /v1/enrollments/{id}/activate: unauthenticated, the TPM is the credential. */
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { strictJsonBody } from '../body.ts';
import { clientKey, rateLimit } from '../rate-limit.ts';
import { base64Field, parseWith } from '../validate.ts';
import { ActivateRequestSchema, EnrollmentRequestSchema, idSchema } from '../schemas.ts';
import { ApiError } from '../../util/errors.ts';

export function enrollmentRoutes(ctx: AppContext): Router {
  const r = Router();
  const json = strictJsonBody(ctx.config.bodyLimitBytes);
  const perClient = rateLimit(ctx.limiter, (req) => clientKey(req.ip), 'client');

  r.post('/v1/enrollments', perClient, ...json, async (req, res) => {
    const body = parseWith(EnrollmentRequestSchema, req.body);
    const result = await ctx.enrollment.enroll(
      {
        hostId: body.hostId,
        ekCert: base64Field('ekCert', body.ekCert),
        ...(body.ekPub !== undefined ? { ekPub: base64Field('ekPub', body.ekPub) } : {}),
        akPub: base64Field('akPub', body.akPub),
        ...(body.profiles !== undefined ? { profiles: body.profiles } : {}),
      },
      ctx.now(),
    );
    res.status(201).json(result);
  });

  r.post('/v1/enrollments/:enrollmentId/activate', perClient, ...json, async (req, res) => {
    const id = req.params.enrollmentId;
    if (typeof id !== 'string' || !idSchema.safeParse(id).success) throw new ApiError(404, 'unknown_enrollment', 'no such enrollment');
    const body = parseWith(ActivateRequestSchema, req.body);
    res.json(await ctx.enrollment.activate(id, base64Field('secret', body.secret), ctx.now()));
  });
  return r;
}
