// The store's HTTP API (docs/http-api.md), with the optional bearer token.
// A token given in the page URL (?token=…) is read once, kept in sessionStorage
// and removed from the address bar so it does not end up in shared links.

const TOKEN_KEY = 'zibrato.token';

/** Moves `?token=` from the URL into sessionStorage. Call once at start-up. */
export function adoptTokenFromUrl() {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t === null) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** An API error with the store's code and the parameter it names, if any. */
export class ApiError extends Error {
  constructor(status, code, message, param) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

/**
 * Fetches `path` and decodes the JSON answer (or null for 204).
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal }} [opts]
 */
export async function api(path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
  if (res.status === 204) return null;
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: report the status below.
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${res.status} ${res.statusText} for ${path}`, e?.param);
  }
  return body;
}

/** Opens the flush event stream (EventSource cannot send headers, so the token goes in the URL). */
export function openEvents() {
  const t = token();
  return new EventSource(t ? `/api/events?token=${encodeURIComponent(t)}` : '/api/events');
}
