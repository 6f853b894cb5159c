/**
 * Strict JSON request bodies: a size limit, application/json only, UTF-8 only, JSON.parse,
 * then a scan for duplicate and prototype-pollution keys (see json-scan.ts).
 */
import { isAscii } from 'node:buffer';
import express, { type Request, type RequestHandler } from 'express';
import { ApiError } from '../util/errors.ts';
import { scanJson } from './json-scan.ts';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
}

/**
 * Reads the raw body (any type, up to `limitBytes`, no content-encoding) and parses it strictly.
 * One middleware, not express.raw then a parser: one express dispatch per request, not two.
 */
export function strictJsonBody(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: limitBytes, inflate: false });
  const read: RequestHandler = (req, res, next) => {
    raw(req, res, (err?: unknown) => {
      // Called back from a stream event, outside express's try/catch: errors go to next by hand.
      if (err !== undefined) return next(err);
      try {
        req.body = parseStrict(req);
      } catch (e) {
        return next(e);
      }
      next();
    });
  };
  return [read];
}

/** The body express.raw left in req.body, parsed; undefined for none. Throws ApiError on anything else than strict JSON. */
export function parseStrict(req: Pick<Request, 'body' | 'headers'>): unknown {
  const body: unknown = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  if (!isJsonType(req.headers['content-type'])) {
    throw new ApiError(415, 'unsupported_media_type', 'send the request body as Content-Type: application/json');
  }
  let text: string;
  // Hosts send ASCII (base64 and hex): read it as one-byte text at once; anything else is decoded strictly.
  if (isAscii(body)) text = body.toString('latin1');
  else {
    try {
      text = decoder.decode(body);
    } catch {
      throw new ApiError(400, 'invalid_json', 'the request body is not valid UTF-8');
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? `: ${err.message.slice(0, 200)}` : '';
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON${detail}`);
  }
  const problem = scanJson(text);
  if (problem) {
    if (problem.code === 'json_too_deep') {
      throw new ApiError(400, 'json_too_deep', `the request body nests too deeply at ${problem.path.slice(0, 200)}`);
    }
    const key = JSON.stringify(problem.key.slice(0, 100));
    throw new ApiError(
      400,
      problem.code,
      problem.code === 'duplicate_json_key'
        ? `key ${key} appears twice in ${problem.path.slice(0, 200)}`
        : `key ${key} is not allowed (in ${problem.path.slice(0, 200)})`,
    );
  }
  return value;
}
