// The REST API with the tab's key, and the tab's one live channel (a WebSocket at /v1/live that
// carries every subscription of the page).
const KEY = 'warden.key';

export function apiKey() { return sessionStorage.getItem(KEY) || ''; }
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY);
}

// Raised for an answer that is not 2xx; `status` and the API's error code and message.
export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

let onUnauthorized = () => {};
export function whenUnauthorized(callback) { onUnauthorized = callback; }

export async function api(path, { method = 'GET', body } = {}) {
  const headers = {};
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let value = null;
  try { value = text ? JSON.parse(text) : null; } catch { value = text; }
  if (!response.ok) {
    const error = value && value.error ? value.error : { code: 'http_' + response.status, message: text };
    if (response.status === 401) onUnauthorized(error.message);
    throw new ApiError(response.status, error.code, error.message);
  }
  return value;
}

// One WebSocket per tab. subscribe() returns a handle whose close() unsubscribes; subscriptions
// survive reconnects (a job's resumes after the last event it delivered).
export class Live {
  constructor(onState) {
    this.onState = onState;
    this.subs = new Map();
    this.next = 1;
    this.ready = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/v1/live`);
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', key: apiKey() }));
    ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    ws.onclose = (event) => {
      this.ready = false;
      if (event.code === 4401) {
        this.onState('signed out');
        onUnauthorized(event.reason);
        return;
      }
      this.onState('reconnecting…');
      setTimeout(() => this.connect(), 1000);
    };
  }

  reconnect() { if (this.ws) { this.ws.onclose = null; this.ws.close(); } this.connect(); }

  receive(message) {
    if (message.type === 'ready') {
      this.ready = true;
      this.defaults = message.defaults || {};
      this.onState('live');
      for (const sub of this.subs.values()) this.sendSubscribe(sub);
      return;
    }
    const sub = this.subs.get(message.sub);
    if (!sub) return;
    if (message.type === 'event') sub.after = message.event.seq;
    sub.handler(message);
  }

  sendSubscribe(sub) {
    this.ws.send(JSON.stringify({ type: 'subscribe', sub: sub.id, ...sub.params, after: sub.after }));
  }

  subscribe(params, handler) {
    const sub = { id: 's' + this.next++, params, handler, after: params.after || 0 };
    this.subs.set(sub.id, sub);
    if (this.ready) this.sendSubscribe(sub);
    return {
      close: () => {
        this.subs.delete(sub.id);
        if (this.ready) this.ws.send(JSON.stringify({ type: 'unsubscribe', sub: sub.id }));
      },
    };
  }
}
