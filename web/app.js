// The dashboard's shell: routes, the key prompt, the live indicator and small DOM helpers.
import { ApiError, Live, setApiKey, whenUnauthorized } from './api.js';
import { renderJobs } from './jobs.js';
import { renderJob } from './job.js';
import { renderNewJob } from './newjob.js';
import { renderSession, renderSessions } from './sessions.js';
import { renderServer } from './server.js';

// el('p', {class: 'x'}, 'text', child): text is always a text node, never parsed as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A time in the browser's own zone.
export function when(ms) {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function duration(fromMs, toMs) {
  if (!fromMs) return '—';
  const seconds = Math.max(0, ((toMs || Date.now()) - fromMs) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function stateBadge(state) {
  return el('span', { class: `badge state-${state}` }, state);
}

export function errorBox(error) {
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : String(error.message || error);
  return el('p', { class: 'error', role: 'alert' }, text);
}

// Asks before a destructive action. Resolves true for "ok". The dialog is outside <main>, so
// live updates of the page underneath never touch it or its buttons.
export function confirmAction(title, text, okLabel) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

export const live = new Live((state) => {
  const badge = document.getElementById('live');
  badge.textContent = state;
  badge.dataset.state = state;
});

let cleanup = [];
// Registers what to undo when the page changes (subscriptions, timers).
export function onLeave(callback) { cleanup.push(callback); }

function keyPrompt(message) {
  const main = document.getElementById('main');
  const input = el('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true });
  const form = el('form', { class: 'card key', onsubmit: (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    live.reconnect();
    route();
  } },
  el('h1', {}, 'API key'),
  el('p', {}, 'This server needs an API key. It is kept for this tab only.'),
  message ? el('p', { class: 'error', role: 'alert' }, message) : null,
  el('label', { for: 'api-key' }, 'Key'), input,
  el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Sign in')));
  leave();
  main.replaceChildren(form);
  input.focus();
}

whenUnauthorized((message) => {
  setApiKey('');
  if (!document.getElementById('api-key')) keyPrompt(message);
});

function leave() {
  for (const callback of cleanup) callback();
  cleanup = [];
}

// Moves to `path` inside the app; focus goes to the new page's content, as after a page load.
export async function navigate(path) {
  history.pushState(null, '', path);
  await route();
  document.getElementById('main').focus();
}

async function route() {
  leave();
  const main = document.getElementById('main');
  const path = location.pathname;
  for (const link of document.querySelectorAll('[data-nav]')) {
    const section = path === '/' || path.startsWith('/jobs/') ? 'jobs' : path.split('/')[1];
    const current = link.dataset.nav === section;
    if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  const job = path.match(/^\/jobs\/([^/]+)$/);
  const session = path.match(/^\/sessions\/([^/]+)$/);
  try {
    if (path === '/') await renderJobs(main, new URLSearchParams(location.search));
    else if (path === '/new') await renderNewJob(main);
    else if (job) await renderJob(main, decodeURIComponent(job[1]));
    else if (path === '/sessions') await renderSessions(main, new URLSearchParams(location.search));
    else if (session) await renderSession(main, decodeURIComponent(session[1]));
    else if (path === '/server') await renderServer(main);
    else main.replaceChildren(el('h1', {}, 'Not found'), el('p', {}, 'No page here. ', el('a', { href: '/' }, 'See the jobs')));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    main.replaceChildren(errorBox(error));
  }
}

// Links inside the app change the page without reloading it.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href^="/"]');
  if (!link || link.target || link.hasAttribute('download') || event.ctrlKey || event.metaKey ||
      event.shiftKey || link.getAttribute('href').startsWith('/v1/')) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', route);
route();
