/**
 * Floors for bench/service.ts and bench/http.ts: servers that answer the nonce and attestation
 * requests without doing any attestation work, so the same load generator measures what HTTP alone costs.
 *   node-http     plain node:http: read the body, JSON.parse it, answer canned JSON
 *   bare-express  express with express.raw, JSON.parse and res.json of the same canned answers
 *   express-router, express-raw  the steps between (bench/http.ts): express's router with node-http's
 *                 body reading and answer; then with express.raw reading the body
 *   express-app   bootgate's own express app (every middleware: request log, metrics, rate limits,
 *                 strict JSON body, zod, base64 decoding) over a stub attestation service that answers at once
 * Forked with `<mode>`; sends {type:'ready', url}; answers {cmd:'cpu'} with {type:'cpu', micros}.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../src/http/app.ts';
import type { AppContext } from '../src/http/context.ts';
import { Metrics } from '../src/http/metrics.ts';
import { RateLimiter } from '../src/http/rate-limit.ts';
import { ApiKeyring } from '../src/http/auth.ts';
import { loadConfig } from '../src/config.ts';
import type { AttestationService } from '../src/attestation/service.ts';

const mode = process.argv[2] ?? '';
const MODES = ['node-http', 'express-router', 'express-raw', 'bare-express', 'express-app'];
if (!process.send || !MODES.includes(mode)) throw new Error(`usage: fork(service-floor.ts, [${MODES.join('|')}])`);
const send = process.send.bind(process);

const pcrs = { sha256: Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), 'ab'.repeat(32)])) };
const nonceAnswer = () => ({ nonce: randomBytes(32).toString('base64'), expiresAt: new Date(Date.now() + 60_000).toISOString(), pcrSelection: 'sha256:0,1,2,3,4,5,6,7,8,9,14' });
// About the size of a real answer: an ES256 token of ~700 characters and the quoted PCRs.
const attestAnswer = () => ({ appraisalId: randomBytes(16).toString('hex'), verdict: 'pass' as const, profile: 'floor@1', failures: [], pcrs, token: 'x'.repeat(700), expiresAt: new Date(Date.now() + 300_000).toISOString() });

function nodeHttp(): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req.url?.endsWith('/nonce') === true, Buffer.concat(chunks), res));
  };
}

function answer(isNonce: boolean, body: Buffer, res: ServerResponse): void {
  if (!isNonce) JSON.parse(body.toString('utf8'));
  res.writeHead(isNonce ? 201 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(isNonce ? nonceAnswer() : attestAnswer()));
}

/** Steps from node-http to bare express: express's router only, then express.raw too (answers as node-http's). */
function expressSteps(limit: number, withRaw: boolean): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const read: express.RequestHandler = withRaw
    ? express.raw({ type: () => true, limit, inflate: false })
    : (req, _res, next) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          req.body = Buffer.concat(chunks);
          next();
        });
      };
  app.post('/v1/hosts/:hostId/nonce', read, (req, res) => answer(true, req.body as Buffer, res));
  app.post('/v1/hosts/:hostId/attestations', read, (req, res) => answer(false, req.body as Buffer, res));
  return app as unknown as RequestListener;
}

/** What express itself costs: its router, express.raw, JSON.parse, res.json (etag and x-powered-by off, as in the app). */
function bareExpress(limit: number): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const raw = express.raw({ type: () => true, limit, inflate: false });
  app.post('/v1/hosts/:hostId/nonce', raw, (_req, res) => {
    res.status(201).json(nonceAnswer());
  });
  app.post('/v1/hosts/:hostId/attestations', raw, (req, res) => {
    JSON.parse((req.body as Buffer).toString('utf8'));
    res.status(200).json(attestAnswer());
  });
  return app as unknown as RequestListener;
}

function appContext(): AppContext {
  // Rate limits on, as in production, with a budget the bench never exhausts (one client address, 64 hosts).
  const config = loadConfig({ BOOTGATE_DATA_DIR: tmpdir(), BOOTGATE_RATE_LIMIT: '1000000' });
  const stub: Pick<AttestationService, 'issueNonce' | 'attest'> = {
    issueNonce: async () => nonceAnswer(),
    attest: async () => attestAnswer(),
  };
  // Only what the two host routes touch; the rest of the context is never reached.
  return {
    config,
    // Synchronous writes, as the service's own logger (pino.destination(2) in src/service.ts).
    log: pino({ level: 'info' }, pino.destination({ dest: `${tmpdir()}/bootgate-bench-floor-${process.pid}.log`, sync: true })),
    metrics: new Metrics(),
    limiter: new RateLimiter(config.rateLimitPerMinute),
    apiKeys: new ApiKeyring([]),
    now: () => new Date(),
    attestation: stub,
  } as unknown as AppContext;
}

function listener(): RequestListener {
  if (mode === 'node-http') return nodeHttp();
  if (mode === 'express-router' || mode === 'express-raw') return expressSteps(4 * 1024 * 1024, mode === 'express-raw');
  if (mode === 'bare-express') return bareExpress(4 * 1024 * 1024);
  return createApp(appContext()) as unknown as RequestListener;
}

const server = createServer(listener());
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'cpu') {
    const c = process.cpuUsage();
    send({ type: 'cpu', micros: c.user + c.system, user: c.user });
  } else if (m.cmd === 'stop') {
    server.close();
    process.exit(0);
  }
});
