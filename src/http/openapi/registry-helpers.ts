/** Small builders for the OpenAPI path entries: the error answers and the security each role needs. */
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { ErrorSchema } from '../response-schemas.ts';

const ERROR_MEANING: Record<number, string> = {
  400: 'malformed input',
  401: 'missing or bad credentials',
  403: 'not allowed',
  404: 'unknown resource',
  409: 'conflict',
  413: 'request body too large',
  415: 'not application/json',
  429: 'rate limited',
  503: 'storage unavailable',
};

export type Responses = RouteConfig['responses'];

export function json(description: string, schema: z.ZodType): Responses[string] {
  return { description, content: { 'application/json': { schema } } };
}

/** The error answers of a route, every one in the contract's shape. */
export function errors(...statuses: number[]): Responses {
  return Object.fromEntries(statuses.map((s) => [String(s), json(ERROR_MEANING[s] ?? 'error', ErrorSchema)]));
}

/** Each role is a Bearer API key; admin may do whatever another role may. */
export const SECURITY_SCHEMES = {
  admin: { type: 'http', scheme: 'bearer', description: 'API key of role admin (BOOTGATE_API_KEYS); also accepted as X-API-Key' },
  scheduler: { type: 'http', scheme: 'bearer', description: 'API key of role scheduler' },
  broker: { type: 'http', scheme: 'bearer', description: 'API key of role broker' },
  attestationToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'an attestation token issued by POST /v1/hosts/{hostId}/attestations' },
} as const;

export type Role = 'admin' | 'scheduler' | 'broker';

/** Any of `roles`, admin always included. */
export function roles(...rs: Role[]): Array<Record<string, string[]>> {
  return [...new Set<Role>([...rs, 'admin'])].map((r) => ({ [r]: [] }));
}
