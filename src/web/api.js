// api.js - every request of the workbench goes through here: the session
// cookie, JSON in and out, and the errors of the API as ApiError (status,
// code, message, field) so that a page can show each next to its field.
//
// A request a page makes by itself (a refresh after a live event) is marked
// background: the server does not count it as activity, so an unattended
// workbench is still signed out after the idle time-out. Every other request
// is the user's, and restarts the idle countdown (onActivity).

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = e.code ?? 'http_' + status;
    this.field = e.field ?? null;
    this.body = body;
  }
}

const hooks = { onActivity: () => {}, onUnauthorized: () => {} };

export function setHooks(h) {
  Object.assign(hooks, h);
}

export async function api(method, path, body, { background = false, signin = false } = {}) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (background) opts.headers['X-Background'] = '1';
  let res;
  try {
    res = await fetch(path, opts);
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached. Check the network and try again.' } });
  }
  if (!background) hooks.onActivity();
  const type = res.headers.get('Content-Type') ?? '';
  const data = res.status === 204 ? null
    : type.startsWith('application/json') ? await res.json().catch(() => null)
      : await res.text();
  if (res.ok) return data;
  const err = new ApiError(res.status, typeof data === 'object' ? data : null);
  if (res.status === 401 && !signin) hooks.onUnauthorized(err);
  throw err;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);

// A query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
