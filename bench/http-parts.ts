/**
 * Pieces of the HTTP hot path measured in-process (bench/http.ts), and the request body both use.
 * Each piece runs as it runs on one flow (one nonce + one attestation request), many times over,
 * in interleaved rounds; the figure is CPU per flow. `floorJsonParse` is what bare express does
 * with the body too (Buffer to string, JSON.parse): the strict body's extra cost is the difference.
 */
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import type { RequestHandler } from 'express';
import { pino } from 'pino';
import { Metrics } from '../src/http/metrics.ts';
import { requestLog } from '../src/http/request-log.ts';
import { RateLimiter, clientKey, rateLimits } from '../src/http/rate-limit.ts';
import { parseStrict } from '../src/http/body.ts';
import { base64Field, parseWith } from '../src/http/validate.ts';
import { AttestationRequestSchema } from '../src/http/schemas.ts';
import { round } from './load.ts';

const quote = Buffer.alloc(145, 7).toString('base64');
const signature = Buffer.alloc(70, 9).toString('base64');
const pcrs = JSON.stringify({ sha256: Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), 'cd'.repeat(32)])) });
const tails = new WeakMap<Buffer, Buffer>();

/** An attestation request body as a host sends it, in the parts the load generator writes. */
export function attestationBody(nonce: string, eventLog: Buffer): Buffer[] {
  let tail = tails.get(eventLog);
  if (!tail) tails.set(eventLog, (tail = Buffer.from(`,"eventLog":"${eventLog.toString('base64')}","pcrs":${pcrs}}`)));
  return [Buffer.from(`{"nonce":"${nonce}","quote":"${quote}","signature":"${signature}"`), tail];
}

type Fake = { req: any; res: any };

function exchange(path: string, body?: Buffer): Fake {
  const headers: Record<string, unknown> = {};
  const res: any = new EventEmitter();
  const req: any = new EventEmitter();
  Object.assign(res, { req, locals: {}, statusCode: 200, setHeader: (k: string, v: unknown) => (headers[k.toLowerCase()] = v), getHeader: (k: string) => headers[k.toLowerCase()] });
  Object.assign(req, { res, headers: { 'content-type': 'application/json' }, method: 'POST', url: path, baseUrl: '', route: { path }, ip: '127.0.0.1', params: { hostId: 'bench-1' }, body });
  return { req, res };
}

const NONCE = '/v1/hosts/:hostId/nonce';
const ATTEST = '/v1/hosts/:hostId/attestations';
const syncCall = (mw: RequestHandler, f: Fake): void => {
  void mw(f.req, f.res, () => undefined);
};
const asyncCall = (mw: RequestHandler, f: Fake) => new Promise<void>((resolve, reject) => mw(f.req, f.res, (err?: unknown) => (err ? reject(err as Error) : resolve())));

/** CPU per flow of each hot-path piece, medians of interleaved rounds. */
export async function attributeParts(eventLog: Buffer, rounds = 5, flows = 3000): Promise<Record<string, number>> {
  const body = Buffer.concat(attestationBody(Buffer.alloc(32, 1).toString('base64'), eventLog));
  const log = pino({ level: 'info' }, pino.destination({ dest: `${tmpdir()}/bootgate-bench-parts-${process.pid}.log`, sync: false }));
  const logMw = requestLog(log, new Metrics());
  const limiter = new RateLimiter(1_000_000_000);
  // As src/http/routes/hosts.ts spends them.
  const budgets = rateLimits(limiter, [
    { keyOf: (req) => clientKey(req.ip), what: 'client' },
    { keyOf: (req) => `host:${String(req.params.hostId)}`, what: 'host' },
  ]);
  const parsed = JSON.parse(body.toString('utf8')) as unknown;

  // How many fake exchanges each piece builds per flow: their cost (`exchange`) is taken off.
  const exchanges: Record<string, number> = { 'request log + metrics': 2, 'rate limits (client, host)': 2, 'strict JSON body (UTF-8, JSON.parse, key scan)': 1 };
  const parts: Record<string, () => Promise<void> | void> = {
    exchange: () => void exchange(ATTEST, body),
    'request log + metrics': () => {
      for (const path of [NONCE, ATTEST]) {
        const f = exchange(path);
        syncCall(logMw, f);
        f.res.emit('finish');
      }
    },
    'rate limits (client, host)': async () => {
      for (let k = 0; k < 2; k++) {
        const f = exchange(NONCE);
        await asyncCall(budgets, f);
      }
    },
    'strict JSON body (UTF-8, JSON.parse, key scan)': () => void parseStrict(exchange(ATTEST, body).req),
    floorJsonParse: () => void JSON.parse(body.toString('utf8')),
    'zod validation': () => void parseWith(AttestationRequestSchema, parsed),
    'base64 decoding (4 fields)': () => {
      const b = parsed as Record<string, string>;
      for (const k of ['nonce', 'quote', 'signature', 'eventLog']) base64Field(k, b[k]!);
    },
  };
  const names = Object.keys(parts);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = -1; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const run = parts[name]!;
      const t = process.cpuUsage();
      for (let i = 0; i < flows; i++) await run();
      const u = process.cpuUsage(t);
      if (r >= 0) samples.get(name)!.push((u.user + u.system) / flows);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
  const base = median(samples.get('exchange')!);
  return Object.fromEntries(names.filter((n) => n !== 'exchange').map((n) => [n, round((median(samples.get(n)!) - (exchanges[n] ?? 0) * base) / 1000, 4)]));
}
