// The jobs page: newest first; filters by state (each with its count), kind and text, and the
// page's cursor, kept in the URL; refreshed when the live channel says the caller's jobs changed.
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

const KINDS = [['', 'any kind'], ['task', 'tasks'], ['steps', 'steps']];

export async function renderJobs(main, params) {
  const state = params.get('state') || '';
  const kind = params.get('kind') || '';
  const text = params.get('q') || '';
  const cursor = params.get('cursor') || '';
  // The filters live in the URL: a view can be bookmarked, and Back undoes a change.
  const filtered = (changes) => {
    const next = new URLSearchParams();
    const values = { state, kind, q: text, ...changes };
    for (const name of ['state', 'kind', 'q']) if (values[name]) next.set(name, values[name]);
    return next.toString() ? `/?${next}` : '/';
  };
  const go = (url) => {
    history.pushState(null, '', url);
    window.dispatchEvent(new PopStateEvent('popstate'));
  };
  const select = el('select', { id: 'state-filter', onchange: () => go(filtered({ state: select.value })) },
    STATES.map((s) => el('option', { value: s, selected: s === state }, s || 'any state')));
  const kindSelect = el('select', { id: 'kind-filter', onchange: () => go(filtered({ kind: kindSelect.value })) },
    KINDS.map(([value, label]) => el('option', { value, selected: value === kind }, label)));
  const search = el('input', { id: 'search', type: 'search', value: text, placeholder: 'text in the task or steps', maxlength: 200 });
  const searchForm = el('form', { role: 'search', onsubmit: (event) => {
    event.preventDefault();
    go(filtered({ q: search.value.trim() }));
  } }, el('label', { for: 'search' }, 'Search'), search);
  const body = el('tbody');
  const status = el('p', { class: 'muted', role: 'status' });
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages' });
  main.replaceChildren(
    el('div', { class: 'title' }, el('h1', {}, 'Jobs'), el('a', { class: 'button', href: '/new' }, 'New job')),
    el('div', { class: 'filters' }, el('label', { for: 'state-filter' }, 'State'), select,
      el('label', { for: 'kind-filter' }, 'Kind'), kindSelect, searchForm),
    el('div', { class: 'scroll' }, el('table', { class: 'jobs' },
      el('caption', { class: 'sr-only' }, 'Jobs, newest first'),
      el('thead', {}, el('tr', {}, ['Job', 'State', 'What', 'Submitted', 'Took'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    status, pager);

  let loading = null;
  async function load() {
    const query = new URLSearchParams({ limit: PAGE, counts: 'true' });
    if (state) query.set('status', state);
    if (kind) query.set('kind', kind);
    if (text) query.set('q', text);
    if (cursor) query.set('cursor', cursor);
    let page;
    try {
      page = await api(`/v1/jobs?${query}`);
    } catch (error) {
      status.replaceChildren(errorBox(error));
      return;
    }
    // Each state shows how many of the key's jobs are in it.
    for (const option of select.options) {
      const count = option.value && page.counts ? page.counts[option.value] : undefined;
      option.textContent = (option.value || 'any state') + (count === undefined ? '' : ` (${count})`);
    }
    body.replaceChildren(...page.jobs.map(row));
    status.textContent = page.jobs.length ? '' :
      (state || kind || text || cursor ? 'No jobs match this view.' : 'No jobs yet: submit one with “New job”.');
    const links = [];
    if (cursor) links.push(el('a', { href: filtered({}) }, 'Newest'));
    if (page.next_cursor) {
      const next = new URLSearchParams(filtered({}).slice(2));
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
