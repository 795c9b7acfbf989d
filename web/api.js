// api.js: the JSON API client: same-origin fetch with the session cookie, the CSRF header
// on every write, errors as ApiError {status, code, field, message}; who is signed in.

export const session = { me: null, csrf: '' };

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status; this.code = code; this.field = field || null;
  }
}

export async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(res.status, e.code || 'http_' + res.status,
                             e.message || `${method} ${path}: HTTP ${res.status}`, e.field);
    if (res.status === 401 && !path.endsWith('/login') && !path.endsWith('/setup'))
      window.dispatchEvent(new CustomEvent('omniva:signed-out'));
    throw err;
  }
  return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

// Viewers read; operators and admins write.
export function canWrite() {
  const r = session.me && session.me.role;
  return r === 'operator' || r === 'admin';
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}
