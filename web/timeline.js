// A timeline of a job's actions, fed its events one by one: what ran (command or code), its output
// as it comes (ANSI colours, text only), how it ended. Used by the job page and the chat view.
import { AnsiWriter } from './ansi.js';
import { el } from './app.js';
import { highlighted } from './highlight.js';
import { approvalPanel } from './approval.js';

function observationLine(data) {
  const exit = data.exit_code === null || data.exit_code === undefined ? '' : `exit code ${data.exit_code} · `;
  return el('p', { class: `observation ${data.ok ? 'ok' : 'failed'}` },
    `${exit}${data.outcome} · ${((data.duration_ms || 0) / 1000).toFixed(2)} s`,
    data.ok ? '' : ` — ${data.summary || ''}`);
}

export class Timeline {
  // `list`: the <ol> to fill; `empty`: what it shows until the first action (removed then);
  // `jobId`: the job whose requests for approval it answers.
  constructor(list, empty, jobId) {
    this.list = list;
    this.empty = empty;
    this.jobId = jobId;
    this.steps = new Map();
    this.requests = new Map();  // approval id -> its panel
  }

  action(data) {
    this.empty?.remove();
    const args = data.arguments || {};
    const code = args.command || args.code || args.path || JSON.stringify(args);
    const output = el('pre', { class: 'output', 'aria-label': `Output of step ${data.step}` });
    const item = el('li', { class: 'action', 'data-step': data.step },
      el('div', { class: 'action-head' }, el('span', { class: 'step' }, `Step ${data.step}`),
        el('span', { class: 'tool' }, data.tool)),
      data.tool === 'run_python' || data.tool === 'run_shell'
        ? highlighted(code, data.tool === 'run_python' ? 'python' : 'shell')
        : el('pre', { class: 'code' }, code),
      output);
    this.steps.set(data.step, { item, writers: { stdout: new AnsiWriter(output), stderr: new AnsiWriter(output) } });
    this.list.append(item);
  }

  // Takes the events a timeline shows; false for any other.
  onEvent(event) {
    const data = event.data || {};
    const entry = this.steps.get(data.step);
    if (event.type === 'action') this.action(data);
    else if (event.type === 'output') entry?.writers[data.stream === 'stderr' ? 'stderr' : 'stdout'].write(data.text || '');
    else if (event.type === 'observation') entry?.item.append(observationLine(data));
    else if (event.type === 'approval' && data.decision === 'pending') {
      const panel = approvalPanel(this.jobId, event);
      this.requests.set(event.seq, panel);
      this.list.append(panel);
    } else if (event.type === 'approval_answer') {
      const panel = this.requests.get(data.id);
      if (panel && !panel.done) { panel.done = true; panel.answered(data); }  // the first answer counts
    } else if (event.type === 'approval') {
      this.list.append(el('li', { class: 'approval' },
        `Step ${data.step}: ${data.tool} ${data.decision}${data.reason ? ` — ${data.reason}` : ''}`));
    } else if (event.type === 'error') {
      this.list.append(el('li', { class: 'error' }, `${data.kind} error: ${data.message}`));
    } else return false;
    return true;
  }
}
