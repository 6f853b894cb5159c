// The public JSON API, as any client calls it: the API key as a Bearer token, errors as
// {"error": {"code", "message"}}. The dashboard has no endpoint of its own.

/** The API lives at the origin root; the dashboard at <root>/ui/, so a path prefix (a proxy) carries over. */
const API_ROOT = new URL('../', document.baseURI);

export class ApiError extends Error {
  /** status 0: the verifier could not be reached. */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** What a person reads on the page. */
  describe() {
    if (this.status === 401) return `The verifier refused this API key (401 ${this.code}): ${this.message}.`;
    if (this.status === 403) return `This API key may not do that (403 ${this.code}): ${this.message}.`;
    if (this.status === 0) return `The verifier could not be reached: ${this.message}.`;
    return `${this.message} (${this.status} ${this.code}).`;
  }
}

/** A path with its query, each value percent-encoded. */
export function apiPath(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

export const seg = (s) => encodeURIComponent(s);

export class Api {
  /** onUnauthorized: called once a 401 shows the key no longer works. */
  constructor(key, onUnauthorized = () => {}) {
    this.key = key;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, body, signal) {
    let res;
    try {
      res = await fetch(new URL(path.replace(/^\//, ''), API_ROOT), {
        method,
        headers: { authorization: `Bearer ${this.key}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      throw new ApiError(0, 'network_error', err?.message ?? 'no answer');
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = json?.error;
      const err = new ApiError(res.status, typeof e?.code === 'string' ? e.code : 'http_error', typeof e?.message === 'string' ? e.message : res.statusText || 'request failed');
      if (res.status === 401) this.onUnauthorized(err);
      throw err;
    }
    return json;
  }

  get(path, signal) {
    return this.request('GET', path, undefined, signal);
  }

  post(path, body) {
    return this.request('POST', path, body);
  }
}

/** Every host, through the paged list (contract §3.3: at most 1000 a page, `next` until null). */
export async function fetchAllHosts(api) {
  const hosts = [];
  let after;
  for (;;) {
    const page = await api.get(apiPath('/v1/hosts', { limit: 1000, after }));
    hosts.push(...(page.hosts ?? []));
    if (!page.next) return hosts;
    after = page.next;
  }
}

/**
 * The key's role, read from what it may do: the golden profile list is for admins only. A
 * scheduler key gets 403 there and sees the fleet but cannot accept drift.
 */
export async function roleOf(api) {
  try {
    await api.get('/v1/golden');
    return 'admin';
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return 'scheduler';
    throw err;
  }
}
