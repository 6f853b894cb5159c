/**
 * The commands that talk to a running service (contract §5: hosts, drift): where the server is
 * (`--server` or BOOTGATE_URL), the key (BOOTGATE_API_KEY, never an argument: arguments show in
 * `ps`) and JSON calls. A refusal is a CliError with the server's code and message (main reports
 * it: `bootgate hosts show: unknown_host: …`, and under --json `{"error": {"code", "message"}}` on
 * stdout). Exit codes: 0 done, 1 the server refused, 2 unusable input or no answer.
 */
import type { Command } from 'commander';
import { callApi } from '../demo/http.ts';
import { CliError, EXIT_FAIL, EXIT_UNUSABLE } from './output.ts';

export interface ServerOptions {
  server?: string;
  json?: boolean;
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
  if (server === undefined || server === '') throw new CliError('no_server', 'name the service with --server URL or BOOTGATE_URL');
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new CliError('invalid_server', `--server / BOOTGATE_URL is not a URL: ${server.slice(0, 200)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError('invalid_server', 'the service URL must be http:// or https://');
  const key = env.BOOTGATE_API_KEY;
  if (key === undefined || key === '') throw new CliError('no_api_key', 'set BOOTGATE_API_KEY to a scheduler or admin key of the service');
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let r;
    try {
      r = await callApi(base.href, method, path, { key, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError('server_unreachable', `no answer from ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT_UNUSABLE);
    }
    if (r.status >= 400) {
      const e = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof e?.code === 'string' ? e.code : `http_${r.status}`;
      const message = typeof e?.message === 'string' ? e.message : `${method} ${path} answered ${r.status}`;
      throw new CliError(code, message, EXIT_FAIL, code);
    }
    return r;
  };
  return {
    get: async (path) => (await call('GET', path)).json,
    post: (path, body) => call('POST', path, body),
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A path segment from user input, encoded so it cannot address another route. */
export function segment(s: string): string {
  return encodeURIComponent(s);
}
