// JSON over fetch. Every write carries the CSRF token that Flask-WTF puts in the page's
// <meta name="csrf-token">, sent as X-CSRFToken (the header CSRFProtect reads).
import { t } from './i18n.js';

export class HttpError extends Error {
  constructor(message, { status = 0, payload = null } = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.payload = payload;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') || '' : '';
}

function errorMessage(payload, response) {
  const error = payload && payload.error;
  if (typeof error === 'string') return error;
  if (error && typeof error.message === 'string') return error.message;
  if (payload && typeof payload.message === 'string') return payload.message;
  return response.statusText || t('Request failed (%(status)s)', { status: response.status });
}

async function request(url, { method = 'GET', body, signal, headers = {} } = {}) {
  const init = {
    method,
    signal,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest', ...headers },
  };
  if (method !== 'GET' && method !== 'HEAD') {
    init.headers['X-CSRFToken'] = csrfToken();
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }

  const response = await fetch(url, init);
  const isJson = (response.headers.get('Content-Type') || '').includes('application/json');
  const payload = isJson ? await response.json().catch(() => null) : null;
  if (!response.ok || (payload && payload.success === false)) {
    throw new HttpError(errorMessage(payload, response), { status: response.status, payload });
  }
  return payload;
}

export function getJSON(url, options = {}) {
  return request(url, { ...options, method: 'GET' });
}

export function sendJSON(url, body, { method = 'POST', ...options } = {}) {
  return request(url, { ...options, method, body });
}
