// The job page: state and timings, the plan, a timeline of every action with its live output,
// the summary and tokens, Cancel and Retry, and the files the job made.
import { api } from './api.js';
import { el, when, duration, stateBadge, errorBox, live, onLeave, confirmAction, navigate } from './app.js';
import { renderFiles } from './files.js';
import { Timeline } from './timeline.js';
import { highlighted } from './highlight.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

function header(job, actions) {
  const facts = [
    ['Reason', job.reason || '—'],
    ['Submitted', when(job.created_at_ms)],
    ['Started', when(job.started_at_ms)],
    ['Finished', when(job.finished_at_ms)],
    ['Took', duration(job.started_at_ms, job.finished_at_ms)],
  ];
  const links = [];
  if (job.parent_id) links.push(el('p', {}, 'Retry of ', el('a', { href: `/jobs/${job.parent_id}` }, job.parent_id)));
  return el('section', { class: 'card head', 'aria-label': 'Job' },
    el('div', { class: 'title' }, el('h1', {}, 'Job ', el('code', {}, job.id)), stateBadge(job.state)),
    el('dl', { class: 'facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    links, actions);
}

function taskView(job) {
  if (Array.isArray(job.input.steps)) {
    return el('section', { class: 'card' }, el('h2', {}, 'Steps'),
      el('ol', {}, job.input.steps.map((step) => {
        const [kind, value] = Object.entries(step)[0];
        const text = typeof value === 'string' ? value : `${value.path}\n${value.content || ''}`;
        const code = kind === 'shell' || kind === 'python' ? highlighted(text, kind) : el('pre', { class: 'code' }, text);
        return el('li', {}, el('span', { class: 'tool' }, kind), code);
      })));
  }
  return el('section', { class: 'card' }, el('h2', {}, 'Task'), el('p', { class: 'task-text' }, job.input.task || ''));
}

export async function renderJob(main, id) {
  let job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
  const actionsBox = el('div', { class: 'actions' });
  const headBox = el('div');
  const plan = el('section', { class: 'card plan', hidden: true, 'aria-label': 'Plan' }, el('h2', {}, 'Plan'));
  const timeline = el('ol', { class: 'timeline', 'aria-label': 'Actions' });
  const empty = el('p', { class: 'muted' }, 'Nothing has run yet.');
  const summary = el('section', { class: 'card', hidden: true, 'aria-label': 'Summary' });
  const files = el('section', { class: 'card', 'aria-label': 'Files' });
  main.replaceChildren(headBox, taskView(job), plan,
    el('section', { class: 'card' }, el('h2', {}, 'Timeline'), empty, timeline), summary, files);

  const actions = new Timeline(timeline, empty, id);
  let usage = null;

  function renderHead() {
    const buttons = [];
    if (!FINAL.has(job.state)) {
      buttons.push(el('button', { class: 'danger', id: 'cancel', disabled: job.cancel_requested, onclick: async () => {
        const target = job.id;  // the action is fixed when asked, whatever refreshes meanwhile
        if (!await confirmAction('Cancel this job?', `Job ${target} stops; what it wrote so far is kept.`, 'Cancel job')) return;
        try { job = await api(`/v1/jobs/${encodeURIComponent(target)}/cancel`, { method: 'POST' }); renderHead(); }
        catch (error) { actionsBox.append(errorBox(error)); }
      } }, job.cancel_requested ? 'Cancelling…' : 'Cancel'));
    } else {
      buttons.push(el('button', { id: 'retry', onclick: async () => {
        const target = job.id;
        if (!await confirmAction('Retry this job?', `A new job runs the input of ${target} again.`, 'Retry')) return;
        try {
          const child = await api(`/v1/jobs/${encodeURIComponent(target)}/retry`, { method: 'POST' });
          navigate(`/jobs/${encodeURIComponent(child.id)}`);
        } catch (error) { actionsBox.append(errorBox(error)); }
      } }, 'Retry'));
    }
    actionsBox.replaceChildren(...buttons);
    headBox.replaceChildren(header(job, actionsBox));
  }

  function renderSummary() {
    if (!FINAL.has(job.state)) return;
    const tokens = usage || (job.result && job.result.usage);
    summary.hidden = false;
    summary.replaceChildren(el('h2', {}, 'Summary'), el('p', { class: 'summary' }, job.summary || '—'),
      el('p', { class: 'muted' }, tokens
        ? `Tokens: ${tokens.input_tokens ?? 0} in, ${tokens.output_tokens ?? 0} out`
        : 'No model was used: explicit steps.'));
  }

  function onEvent(event) {
    const data = event.data || {};
    if (event.type === 'plan') {
      plan.hidden = false;
      const planSteps = data.steps || [];
      plan.replaceChildren(el('h2', {}, 'Plan'), planSteps.length
        ? el('ol', {}, planSteps.map((s) => el('li', {}, s))) : el('p', {}, data.text || ''));
    } else if (actions.onEvent(event)) {
      // shown by the timeline
    } else if (event.type === 'usage') {
      usage = data;
    } else if (event.type === 'state' || event.type === 'cancel_requested') {
      refreshJob();
    }
  }

  // One read at a time, and one more if a state changed meanwhile: the last read sees the last state.
  let refreshing = false, again = false;
  async function refreshJob() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try { job = await api(`/v1/jobs/${encodeURIComponent(id)}`); } finally { refreshing = false; }
    renderHead();
    renderSummary();
    if (FINAL.has(job.state)) renderFiles(files, job);
    if (again) { again = false; refreshJob(); }
  }

  renderHead();
  renderSummary();
  if (FINAL.has(job.state)) renderFiles(files, job);
  else files.replaceChildren(el('h2', {}, 'Files'), el('p', { class: 'muted' }, 'Files are listed once the job has ended.'));
  const sub = live.subscribe({ topic: 'job', job: id }, (message) => {
    if (message.type === 'event') onEvent(message.event);
    else if (message.type === 'error') main.prepend(errorBox(message));
  });
  onLeave(() => sub.close());
}
