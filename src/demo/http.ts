/** The demo's own calls to the verifier (admin, scheduler): JSON over fetch, with an API key. */

export interface ApiAnswer {
  status: number;
  json: unknown;
}

export async function callApi(baseUrl: string, method: string, path: string, opts: { key?: string; body?: unknown; bearer?: string } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  const credential = opts.key ?? opts.bearer;
  if (credential !== undefined) headers.authorization = `Bearer ${credential}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** The `error.code` of a contract error body (§3), or undefined. */
export function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Like callApi, but an unexpected status is an error naming the call and the verifier's code. */
export async function expectApi(baseUrl: string, status: number[], method: string, path: string, opts: { key?: string; body?: unknown } = {}): Promise<unknown> {
  const r = await callApi(baseUrl, method, path, opts);
  if (!status.includes(r.status)) {
    throw new Error(`${method} ${path} answered ${r.status}${errorCode(r.json) ? ` (${errorCode(r.json)})` : ''}`);
  }
  return r.json;
}
