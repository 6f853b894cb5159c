/** Every error answer is {"error": {"code", "message"}} (contract §3); hostile input never yields a 5xx. */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { ApiError, ParseError } from '../util/errors.ts';
import { StoreError } from '../store/errors.ts';

export interface ErrorBody {
  status: number;
  code: string;
  message: string;
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** Errors thrown by body-parser carry a `type`; map the ones a client can cause. */
const BODY_PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'the request body is larger than allowed' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'the request body encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'unsupported_charset', message: 'the request charset is not supported; send UTF-8' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'the request was aborted' },
  'request.size.invalid': { status: 400, code: 'invalid_request', message: 'the request body is shorter or longer than its Content-Length' },
  'stream.encoding.set': { status: 400, code: 'invalid_request', message: 'the request stream cannot be read' },
};

export function toErrorBody(err: unknown): ErrorBody | null {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof ParseError) return { status: 400, code: 'malformed_input', message: err.message };
  if (err instanceof StoreError && err.code === 'host_not_found') return { status: 404, code: 'unknown_host', message: err.message };
  // Nothing was acknowledged; the client may retry once the database is back.
  if (err instanceof StoreError && err.code === 'unavailable') return { status: 503, code: 'storage_unavailable', message: err.message };
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === 'string') {
    const known = BODY_PARSER_ERRORS[type];
    if (known) return { ...known };
  }
  // The router's percent-decoding of path parameters.
  if (err instanceof URIError) return { status: 400, code: 'invalid_request', message: 'the request path is not valid percent-encoding' };
  // Other http-errors a client caused: keep the status, not the detail.
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
    return { status, code: 'invalid_request', message: 'the request could not be read' };
  }
  return null;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const body = toErrorBody(err);
    if (body) {
      if (body.status === 503) res.set('Retry-After', '5');
      sendError(res, body.status, body.code, body.message);
      return;
    }
    log.error({ reqId: res.locals.requestId as unknown, err, route: req.route?.path as unknown }, 'unexpected error');
    sendError(res, 500, 'internal_error', 'the verifier hit an internal error; the request id is in X-Request-Id');
  };
}

export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path.slice(0, 200)}`);
};
