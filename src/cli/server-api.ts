/**
 * The commands that talk to a running service (contract §5: hosts, drift): where the server is
 * (`--server` or BOOTGATE_URL), the key (BOOTGATE_API_KEY, never an argument: arguments show in
 * `ps`), JSON calls, and how an answer or a refusal is printed. A refusal shows the server's code
 * and message; under --json it is `{"error": {"code", "message"}}` on stdout. Exit codes: 0 done,
 * 1 the server refused, 2 unusable input or no answer.
 */
import type { Command } from 'commander';
import { callApi } from '../demo/http.ts';

export const EXIT_REFUSED = 1;
export const EXIT_UNUSABLE = 2;

export interface ServerOptions {
  server?: string;
  json?: boolean;
}

/** Something that ends a command: the server's refusal, or a problem on this side. */
export class CommandFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Adds --server and --json to a command. */
export function serverOptions(cmd: Command): Command {
  return cmd.option('--server <url>', 'service URL (default: $BOOTGATE_URL)').option('--json', 'print JSON');
}

export interface ServerClient {
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<{ status: number; json: unknown }>;
}

export function serverClient(opts: ServerOptions, env: NodeJS.ProcessEnv = process.env): ServerClient {
  const server = opts.server ?? env.BOOTGATE_URL;
  if (server === undefined || server === '') throw new CommandFailure('no_server', 'name the service with --server URL or BOOTGATE_URL', EXIT_UNUSABLE);
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new CommandFailure('invalid_server', `--server / BOOTGATE_URL is not a URL: ${server.slice(0, 200)}`, EXIT_UNUSABLE);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CommandFailure('invalid_server', 'the service URL must be http:// or https://', EXIT_UNUSABLE);
  const key = env.BOOTGATE_API_KEY;
  if (key === undefined || key === '') throw new CommandFailure('no_api_key', 'set BOOTGATE_API_KEY to a scheduler or admin key of the service', EXIT_UNUSABLE);
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let r;
    try {
      r = await callApi(base.href, method, path, { key, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CommandFailure('server_unreachable', `no answer from ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT_UNUSABLE);
    }
    if (r.status >= 400) {
      const e = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof e?.code === 'string' ? e.code : `http_${r.status}`;
      const message = typeof e?.message === 'string' ? e.message : `${method} ${path} answered ${r.status}`;
      throw new CommandFailure(code, message, EXIT_REFUSED);
    }
    return r;
  };
  return {
    get: async (path) => (await call('GET', path)).json,
    post: (path, body) => call('POST', path, body),
  };
}

/** Runs a command body; prints its failure the way the contract says. */
export async function runServerCommand(opts: ServerOptions, setExit: (code: number) => void, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    setExit(0);
  } catch (err) {
    if (!(err instanceof CommandFailure)) throw err;
    if (opts.json === true) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
    else process.stderr.write(`bootgate: ${err.code}: ${err.message}\n`);
    setExit(err.exitCode);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A path segment from user input, encoded so it cannot address another route. */
export function segment(s: string): string {
  return encodeURIComponent(s);
}
