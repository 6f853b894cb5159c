/**
 * API keys with roles. Keys are compared as SHA-256 digests with timingSafeEqual against every
 * configured key (no early exit), so neither a key's content nor its length leaks through timing.
 * Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { ApiKeyConfig, Role } from '../config.ts';
import { ApiError } from '../util/errors.ts';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class ApiKeyring {
  private readonly entries: Array<{ role: Role; digest: Buffer }>;

  constructor(keys: ApiKeyConfig[]) {
    this.entries = keys.map((k) => ({ role: k.role, digest: sha256(k.key) }));
  }

  /** Every role the presented key carries (a key may be configured for several roles). */
  rolesOf(presented: string): Set<Role> {
    const d = sha256(presented);
    const roles = new Set<Role>();
    for (const e of this.entries) {
      if (timingSafeEqual(d, e.digest)) roles.add(e.role);
    }
    return roles;
  }
}

/**
 * The name an audit trail gives a key: 16 hex digits of a domain-separated SHA-256, never the key.
 * An operator finds it with `printf 'bootgate api key\0%s' "$KEY" | sha256sum | cut -c1-16`.
 */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update('bootgate api key\0', 'utf8').update(key, 'utf8').digest('hex').slice(0, 16);
}

/** The API key from `Authorization: Bearer <key>` or `X-API-Key`, if any. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    return m?.[1];
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

/** Admin may do everything; otherwise the key must carry one of `roles`. */
export function requireRole(keyring: ApiKeyring, ...roles: Role[]): RequestHandler {
  return (req, res, next) => {
    const key = presentedKey(req);
    if (key === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new ApiError(401, 'missing_credentials', 'send an API key as Authorization: Bearer <key>');
    }
    const held = keyring.rolesOf(key.slice(0, 1024));
    if (held.size === 0) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new ApiError(401, 'invalid_credentials', 'the API key is not valid');
    }
    if (!held.has('admin') && !roles.some((r) => held.has(r))) {
      throw new ApiError(403, 'forbidden', `this operation needs the ${[...new Set<Role>(['admin', ...roles])].join(' or ')} role`);
    }
    res.locals.roles = held;
    res.locals.keyId = keyFingerprint(key.slice(0, 1024));
    next();
  };
}
