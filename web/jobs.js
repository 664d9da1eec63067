// The jobs page: newest first, a state filter and the page's cursor kept in the URL, refreshed
// when the live channel says the caller's jobs changed.
import { api } from './api.js';
import { el, when, duration, stateBadge, errorBox, live, onLeave } from './app.js';

const STATES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
const PAGE = 20;

function describe(job) {
  if (job.kind === 'steps' || Array.isArray(job.input.steps)) {
    const steps = job.input.steps || [];
    return `${steps.length} step${steps.length === 1 ? '' : 's'}: ${steps.map((s) => Object.keys(s)[0]).join(', ')}`;
  }
  return job.input.task || job.input.message || job.kind;
}

function row(job) {
  return el('tr', { 'data-job': job.id },
    el('td', {}, el('a', { href: `/jobs/${encodeURIComponent(job.id)}` }, job.id)),
    el('td', {}, stateBadge(job.state)),
    el('td', { class: 'task' }, describe(job)),
    el('td', {}, when(job.created_at_ms)),
    el('td', {}, duration(job.started_at_ms, job.finished_at_ms)));
}

export async function renderJobs(main, params) {
  const state = params.get('state') || '';
  const cursor = params.get('cursor') || '';
  const select = el('select', { id: 'state-filter', onchange: () => {
    const next = new URLSearchParams();
    if (select.value) next.set('state', select.value);
    history.pushState(null, '', next.toString() ? `/?${next}` : '/');
    window.dispatchEvent(new PopStateEvent('popstate'));
  } }, STATES.map((s) => el('option', { value: s, selected: s === state }, s || 'any state')));
  const body = el('tbody');
  const status = el('p', { class: 'muted', role: 'status' });
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages' });
  main.replaceChildren(
    el('div', { class: 'title' }, el('h1', {}, 'Jobs'), el('a', { class: 'button', href: '/new' }, 'New job')),
    el('div', { class: 'filters' }, el('label', { for: 'state-filter' }, 'State'), select),
    el('div', { class: 'scroll' }, el('table', { class: 'jobs' },
      el('caption', { class: 'sr-only' }, 'Jobs, newest first'),
      el('thead', {}, el('tr', {}, ['Job', 'State', 'What', 'Submitted', 'Took'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    status, pager);

  let loading = null;
  async function load() {
    const query = new URLSearchParams({ limit: PAGE });
    if (state) query.set('status', state);
    if (cursor) query.set('cursor', cursor);
    let page;
    try {
      page = await api(`/v1/jobs?${query}`);
    } catch (error) {
      status.replaceChildren(errorBox(error));
      return;
    }
    body.replaceChildren(...page.jobs.map(row));
    status.textContent = page.jobs.length ? '' :
      (state || cursor ? 'No jobs match this view.' : 'No jobs yet: submit one with “New job”.');
    const links = [];
    if (cursor) {
      const first = new URLSearchParams(state ? { state } : {});
      links.push(el('a', { href: first.toString() ? `/?${first}` : '/' }, 'Newest'));
    }
    if (page.next_cursor) {
      const next = new URLSearchParams(state ? { state } : {});
      next.set('cursor', page.next_cursor);
      links.push(el('a', { href: `/?${next}`, rel: 'next' }, 'Older'));
    }
    pager.replaceChildren(...links);
  }
  // Changes arrive in bursts: one reload at a time, and one more if news came meanwhile.
  let again = false;
  async function refresh() {
    if (loading) { again = true; return; }
    loading = load();
    await loading;
    loading = null;
    if (again) { again = false; refresh(); }
  }
  await refresh();
  const sub = live.subscribe({ topic: 'jobs' }, (message) => {
    if (message.type === 'jobs_changed') refresh();
  });
  onLeave(() => sub.close());
}
