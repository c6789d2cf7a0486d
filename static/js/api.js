// The REST API client: same-origin cookie session, the CSRF header on every call, one error shape.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || 'http';
    this.fields = {};
    const fields = err.details && Array.isArray(err.details.fields) ? err.details.fields : [];
    for (const f of fields) if (f && f.field) this.fields[f.field] = f.message || '';
  }
}

let busyCount = 0;
const busyListeners = new Set();
export function onBusy(fn) {
  busyListeners.add(fn);
}
function setBusy(delta) {
  busyCount = Math.max(0, busyCount + delta);
  for (const fn of busyListeners) fn(busyCount > 0);
}

let unauthorizedHandler = () => {};
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function queryString(query) {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Calls the API; resolves to the parsed JSON (or null), rejects with ApiError. */
export async function api(method, path, { body, query, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'kktbot' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  setBusy(1);
  try {
    let res;
    try {
      res = await fetch(path + queryString(query), {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const err = new ApiError(0, { error: { code: 'network', message: String(e && e.message) } });
      throw err;
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      if (res.status === 401 && !quiet401) unauthorizedHandler();
      throw err;
    }
    return data;
  } finally {
    setBusy(-1);
  }
}

export const get = (path, query) => api('GET', path, { query });
export const post = (path, body) => api('POST', path, { body: body === undefined ? {} : body });
// Partial updates (users, administrators): only the fields sent change.
export const patch = (path, body) => api('PATCH', path, { body });
// Replacements: the whole resource is sent.
export const put = (path, body) => api('PUT', path, { body });
export const del = (path) => api('DELETE', path);
