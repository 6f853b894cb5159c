/** The express application: middleware order, routes, and the error answer shape. */
import express, { type Express, type Router } from 'express';
import type { AppContext } from './context.ts';
import { requestLog } from './request-log.ts';
import { errorHandler, notFound } from './errors.ts';
import { publicRoutes } from './routes/public.ts';
import { enrollmentRoutes } from './routes/enrollments.ts';
import { hostRoutes } from './routes/hosts.ts';
import { goldenRoutes } from './routes/golden.ts';
import { keyRoutes } from './routes/keys.ts';
import { docsAssets, docsRoutes } from './routes/docs.ts';
import { methodNotAllowed } from './route-table.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { uiAssets } from './routes/ui.ts';

/** `extraRoutes`: routers of other modules (key broker, trust events), mounted after the core routes. */
export function createApp(ctx: AppContext, extraRoutes: Router[] = []): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Sets Cache-Control: no-store and X-Content-Type-Options: nosniff on every answer too.
  app.use(requestLog(ctx.log, ctx.metrics));
  // The attestation routes first: they carry almost all the traffic (no path overlaps another router's).
  // On the app's own router, not a nested one: one dispatch fewer per request.
  hostRoutes(ctx, app.router);
  app.use(publicRoutes(ctx));
  app.use(enrollmentRoutes(ctx));
  app.use(goldenRoutes(ctx));
  app.use(keyRoutes(ctx));
  app.use(fleetRoutes(ctx));
  for (const r of extraRoutes) app.use(r);
  app.use(docsRoutes(() => ctx.serverUrl?.()));
  app.use('/docs', docsAssets());
  // The dashboard: static files only; it calls the same public API as any other client.
  app.use(uiAssets());
  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler(ctx.log));
  return app;
}
