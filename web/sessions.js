// Sessions: a conversation whose messages run one after another as agent jobs in one workspace.
// The list page shows the caller's sessions, newest first, with their last message and how it
// ended, and starts new ones; the chat view shows earlier turns, sends a message and streams its
// actions and output live.
import { api } from './api.js';
import { el, errorBox, live, onLeave, navigate, stateBadge, when } from './app.js';
import { Timeline } from './timeline.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const PAGE = 20;

function sessionRow(session) {
  const last = session.last_turn;
  return el('tr', { 'data-session': session.id },
    el('td', {}, el('a', { href: `/sessions/${encodeURIComponent(session.id)}` }, session.id)),
    el('td', {}, String(session.turns)),
    el('td', { class: 'task' }, last ? last.message : el('span', { class: 'muted' }, 'no message yet')),
    el('td', {}, last ? (last.state ? stateBadge(last.state) : 'deleted') : ''),
    el('td', {}, when(session.last_active_ms)));
}

export async function renderSessions(main, params) {
  const cursor = params.get('cursor') || '';
  const errors = el('div');
  const start = el('button', { id: 'new-session', onclick: async () => {
    try {
      const session = await api('/v1/sessions', { method: 'POST' });
      navigate(`/sessions/${encodeURIComponent(session.id)}`);
    } catch (error) { errors.replaceChildren(errorBox(error)); }
  } }, 'Start a session');
  const query = new URLSearchParams({ limit: PAGE });
  if (cursor) query.set('cursor', cursor);
  const page = await api(`/v1/sessions?${query}`);
  const links = [];
  if (cursor) links.push(el('a', { href: '/sessions' }, 'Newest'));
  if (page.next_cursor) {
    links.push(el('a', { href: `/sessions?${new URLSearchParams({ cursor: page.next_cursor })}`, rel: 'next' }, 'Older'));
  }
  main.replaceChildren(
    el('div', { class: 'title' }, el('h1', {}, 'Sessions'), start),
    errors,
    el('p', { class: 'muted' }, 'A session keeps one workspace across messages: each message can use what the earlier ones made.'),
    page.sessions.length
      ? el('div', { class: 'scroll' }, el('table', { class: 'jobs' },
        el('caption', { class: 'sr-only' }, 'Sessions, newest first'),
        el('thead', {}, el('tr', {}, ['Session', 'Turns', 'Last message', 'State', 'Last active'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, page.sessions.map(sessionRow))))
      : el('p', { class: 'muted', role: 'status' }, cursor ? 'No older sessions.' : 'No sessions yet: start one.'),
    el('nav', { class: 'pager', 'aria-label': 'Pages' }, ...links));
}

// One turn: the message, then its job's actions and output live, then the reply.
function turnView(turn, subscriptions) {
  const list = el('ol', { class: 'timeline', 'aria-label': 'Actions' });
  const timeline = new Timeline(list, null, turn.job ? turn.job.id : turn.job_id);
  const reply = el('div', { class: 'reply' });
  const state = el('span');
  const job = turn.job || { id: turn.job_id, state: 'queued' };
  const show = (j, text) => {
    state.replaceChildren(stateBadge(j.state));
    if (FINAL.has(j.state)) reply.replaceChildren(el('p', {}, text || j.summary || '—'));
  };
  show(job, turn.reply && turn.reply.text);
  const item = el('li', { class: 'turn' },
    el('p', { class: 'message' }, turn.message),
    el('div', { class: 'action-head' }, el('a', { href: `/jobs/${encodeURIComponent(job.id)}` }, job.id), state),
    list, reply);
  const sub = live.subscribe({ topic: 'job', job: job.id }, async (message) => {
    if (message.type !== 'event') return;
    timeline.onEvent(message.event);
    if (message.event.type === 'state') {
      const current = await api(`/v1/jobs/${encodeURIComponent(job.id)}`);
      show(current);
    }
  });
  subscriptions.push(sub);
  return item;
}

export async function renderSession(main, id) {
  const session = await api(`/v1/sessions/${encodeURIComponent(id)}`);
  const subscriptions = [];
  onLeave(() => subscriptions.forEach((sub) => sub.close()));
  const turns = el('ol', { class: 'turns', 'aria-label': 'Turns' });
  const empty = el('p', { class: 'muted' }, 'No messages yet: ask for something below.');
  for (const turn of session.turns) turns.append(turnView(turn, subscriptions));
  const input = el('textarea', { id: 'message', rows: 3, required: true });
  const errors = el('div');
  const form = el('form', { class: 'card composer', onsubmit: async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      const posted = await api(`/v1/sessions/${encodeURIComponent(id)}/messages`,
        { method: 'POST', body: { message: input.value } });
      empty.remove();
      turns.append(turnView({ ...posted.turn, job: posted.job }, subscriptions));
      input.value = '';
    } catch (error) { errors.replaceChildren(errorBox(error)); }
  } },
  el('label', { for: 'message' }, 'Message'), input, errors,
  el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'send' }, 'Send')));
  main.replaceChildren(el('h1', {}, 'Session ', el('code', {}, session.id)),
    session.turns.length ? '' : empty, turns, form);
}
