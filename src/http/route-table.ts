/**
 * The routes an express app registered, read from its router stack: what the 405 answer's Allow
 * header lists, and what test/http.openapi.test.ts compares with the OpenAPI document.
 */
import type { Express, RequestHandler } from 'express';
import { sendError } from './errors.ts';

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
  match(path: string): unknown;
}

export interface RegisteredRoute {
  /** OpenAPI style: /v1/hosts/{hostId}. */
  path: string;
  methods: string[];
  layer: RouteLayer;
}

function routeLayers(stack: RouteLayer[]): RouteLayer[] {
  return stack.flatMap((l) => (l.route ? [l] : l.handle?.stack ? routeLayers(l.handle.stack) : []));
}

export function registeredRoutes(app: Express): RegisteredRoute[] {
  const stack = (app as unknown as { router: { stack: RouteLayer[] } }).router.stack;
  return routeLayers(stack).map((layer) => ({
    path: layer.route!.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}'),
    methods: Object.keys(layer.route!.methods).filter((m) => layer.route!.methods[m]).map((m) => m.toUpperCase()),
    layer,
  }));
}

/**
 * 405 with the contract's error shape and an Allow header for a path that exists under other
 * methods. Mounted after every route, so it costs nothing on a request a route answered.
 */
export function methodNotAllowed(app: Express): RequestHandler {
  let routes: RegisteredRoute[] | undefined;
  return (req, res, next) => {
    routes ??= registeredRoutes(app);
    const allowed = new Set<string>();
    for (const r of routes) if (r.layer.match(req.path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size === 0) return next();
    if (allowed.has('GET')) allowed.add('HEAD');
    allowed.add('OPTIONS');
    res.setHeader('Allow', [...allowed].sort().join(', '));
    sendError(res, 405, 'method_not_allowed', `${req.method.slice(0, 16)} is not allowed on ${req.path.slice(0, 200)}; allowed: ${[...allowed].sort().join(', ')}`);
  };
}
