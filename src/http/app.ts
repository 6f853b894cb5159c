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

/** `extraRoutes`: routers of other modules (key broker, trust events), mounted after the core routes. */
export function createApp(ctx: AppContext, extraRoutes: Router[] = []): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestLog(ctx.log, ctx.metrics));
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(publicRoutes(ctx));
  app.use(enrollmentRoutes(ctx));
  app.use(hostRoutes(ctx));
  app.use(goldenRoutes(ctx));
  app.use(keyRoutes(ctx));
  for (const r of extraRoutes) app.use(r);
  app.use(notFound);
  app.use(errorHandler(ctx.log));
  return app;
}
