/**
 * Floors for bench/service.ts: a server that answers the nonce and attestation requests without
 * doing any attestation work, so the same load generator measures what HTTP alone costs.
 *   node-http    plain node:http: read the body, JSON.parse it, answer canned JSON
 *   express-app  bootgate's own express app (every middleware: request log, metrics, strict JSON
 *                body, zod, base64 decoding) over a stub attestation service that answers at once
 * Forked with `<mode>`; sends {type:'ready', url}; answers {cmd:'cpu'} with {type:'cpu', micros}.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../src/http/app.ts';
import type { AppContext } from '../src/http/context.ts';
import { Metrics } from '../src/http/metrics.ts';
import { RateLimiter } from '../src/http/rate-limit.ts';
import { ApiKeyring } from '../src/http/auth.ts';
import { loadConfig } from '../src/config.ts';
import type { AttestationService } from '../src/attestation/service.ts';

const mode = process.argv[2];
if (!process.send || (mode !== 'node-http' && mode !== 'express-app')) throw new Error('usage: fork(service-floor.ts, [node-http|express-app])');
const send = process.send.bind(process);

const pcrs = { sha256: Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), 'ab'.repeat(32)])) };
const nonceAnswer = () => ({ nonce: randomBytes(32).toString('base64'), expiresAt: new Date(Date.now() + 60_000).toISOString(), pcrSelection: 'sha256:0,1,2,3,4,5,6,7,8,9,14' });
// About the size of a real answer: an ES256 token of ~700 characters and the quoted PCRs.
const attestAnswer = () => ({ appraisalId: randomBytes(16).toString('hex'), verdict: 'pass' as const, profile: 'floor@1', failures: [], pcrs, token: 'x'.repeat(700), expiresAt: new Date(Date.now() + 300_000).toISOString() });

function nodeHttp(): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const isNonce = req.url?.endsWith('/nonce') === true;
      if (!isNonce) JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(isNonce ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(isNonce ? nonceAnswer() : attestAnswer()));
    });
  };
}

function expressApp(): RequestListener {
  const config = loadConfig({ BOOTGATE_DATA_DIR: tmpdir(), BOOTGATE_RATE_LIMIT: '0' });
  const stub: Pick<AttestationService, 'issueNonce' | 'attest'> = {
    issueNonce: async () => nonceAnswer(),
    attest: async () => attestAnswer(),
  };
  // Only what the two host routes touch; the rest of the context is never reached.
  const ctx = {
    config,
    log: pino({ level: 'info' }, pino.destination({ dest: `${tmpdir()}/bootgate-bench-floor-${process.pid}.log`, sync: false })),
    metrics: new Metrics(),
    limiter: new RateLimiter(0),
    apiKeys: new ApiKeyring([]),
    now: () => new Date(),
    attestation: stub,
  } as unknown as AppContext;
  return createApp(ctx) as unknown as RequestListener;
}

const server = createServer(mode === 'node-http' ? nodeHttp() : expressApp());
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'cpu') {
    const c = process.cpuUsage();
    send({ type: 'cpu', micros: c.user + c.system });
  } else if (m.cmd === 'stop') {
    server.close();
    process.exit(0);
  }
});
