// The server page: queue depth, busy workers, jobs by state and sandbox runs by outcome, read
// from /metrics (Prometheus text), and the key's recent failed jobs with why each failed;
// refreshed every few seconds while it is open.
import { api, apiKey } from './api.js';
import { el, errorBox, onLeave, when } from './app.js';

// 'warden_jobs{state="queued"} 3' → [{name, labels: {state: 'queued'}, value: 3}]
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+|NaN)$/);
    if (!m) continue;
    const labels = {};
    for (const pair of (m[2] || '').matchAll(/([a-z_]+)="([^"]*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function table(caption, rows) {
  return el('table', {}, el('caption', {}, caption),
    el('tbody', {}, rows.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, String(v))))));
}

// The key's last failed jobs: when, which, why (reason and summary).
function recentErrors(jobs) {
  if (!jobs.length) return el('p', { id: 'recent-errors' }, 'No failed jobs.');
  return el('table', { id: 'recent-errors' }, el('caption', {}, 'Recent failed jobs'),
    el('thead', {}, el('tr', {}, ['Job', 'Ended', 'Reason', 'Summary'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, jobs.map((job) => el('tr', { 'data-job': job.id },
      el('td', {}, el('a', { href: `/jobs/${encodeURIComponent(job.id)}` }, job.id)),
      el('td', {}, when(job.finished_at_ms)),
      el('td', {}, job.reason || '—'),
      el('td', { class: 'task' }, job.summary || '')))));
}

export async function renderServer(main) {
  const box = el('div', { class: 'server' });
  main.replaceChildren(el('h1', {}, 'Server'), box);
  async function load() {
    const headers = apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {};
    const response = await fetch('/metrics', { headers });
    if (!response.ok) { box.replaceChildren(errorBox(new Error(`/metrics answered ${response.status}`))); return; }
    const samples = parseMetrics(await response.text());
    const one = (name) => samples.find((s) => s.name === name)?.value ?? '—';
    const by = (name, label) => samples.filter((s) => s.name === name).map((s) => [s.labels[label], s.value]);
    const runs = new Map();
    for (const s of samples.filter((x) => x.name === 'warden_sandbox_runs_total')) {
      runs.set(s.labels.outcome, (runs.get(s.labels.outcome) || 0) + s.value);
    }
    const errors = samples.filter((s) => s.name === 'warden_http_requests_total' && /^5/.test(s.labels.status || ''))
      .map((s) => [`${s.labels.method} ${s.labels.route} → ${s.labels.status}`, s.value]);
    const failed = await api('/v1/jobs?status=failed&limit=10');
    box.replaceChildren(
      el('div', { class: 'card' }, recentErrors(failed.jobs)),
      el('div', { class: 'card' }, table('Now', [['Store up', one('warden_store_up') === 1 ? 'yes' : 'no'],
        ['Queue depth', one('warden_queue_depth')], ['Busy workers', one('warden_workers_busy')]])),
      el('div', { class: 'card' }, table('Jobs by state (whole server)', by('warden_jobs', 'state'))),
      el('div', { class: 'card' }, table('Sandbox runs by outcome', [...runs.entries()])),
      el('div', { class: 'card' }, errors.length ? table('Server errors (5xx) since start', errors)
        : el('p', {}, 'No server errors since start. ', el('a', { href: '/?state=failed' }, 'Your failed jobs'))));
  }
  await load();
  const timer = setInterval(() => load().catch(() => {}), 3000);
  onLeave(() => clearInterval(timer));
}
