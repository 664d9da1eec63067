// The new job form: a task in plain language or explicit steps, and the options, each showing
// the server's default as its placeholder (from the live channel's "ready" message).
import { api } from './api.js';
import { el, errorBox, live, navigate } from './app.js';

const OPTIONS = [
  ['timeout', 'Job time limit', 'text'],
  ['action_timeout', 'Time limit of each action', 'text'],
  ['memory', 'Memory of each action', 'text'],
  ['disk_limit', 'Workspace size limit', 'text'],
  ['output_limit', 'Output stored, at most', 'text'],
  ['max_steps', 'Agent steps, at most (tasks)', 'number'],
  ['model', 'Model (tasks)', 'text'],
];

function stepRow(list) {
  const n = list.children.length + 1;
  const kind = el('select', { id: `step-kind-${n}`, class: 'step-kind' },
    ['shell', 'python', 'write_file'].map((k) => el('option', { value: k }, k)));
  const path = el('input', { id: `step-path-${n}`, class: 'step-path', placeholder: 'notes/out.txt', hidden: true });
  const pathLabel = el('label', { for: `step-path-${n}`, hidden: true }, 'Path in the workspace');
  const code = el('textarea', { id: `step-code-${n}`, class: 'step-code', rows: 3, required: true, spellcheck: 'false' });
  kind.addEventListener('change', () => {
    path.hidden = pathLabel.hidden = kind.value !== 'write_file';
    path.required = kind.value === 'write_file';
  });
  const row = el('li', { class: 'step-row' },
    el('label', { for: `step-kind-${n}` }, `Step ${n}`), kind, pathLabel, path,
    el('label', { for: `step-code-${n}` }, 'Command, program or content'), code,
    el('button', { type: 'button', class: 'secondary', onclick: () => row.remove() }, 'Remove step'));
  list.append(row);
  return row;
}

export async function renderNewJob(main) {
  const defaults = live.defaults || {};
  const task = el('textarea', { id: 'task', rows: 4, placeholder: 'make a CSV of the 20 largest files under /usr/share' });
  const steps = el('ol', { class: 'steps' });
  const taskBox = el('div', {}, el('label', { for: 'task' }, 'Task'), task);
  const stepsBox = el('div', { hidden: true }, steps,
    el('button', { type: 'button', class: 'secondary', id: 'add-step', onclick: () => stepRow(steps).querySelector('textarea').focus() }, 'Add a step'));
  const mode = (value) => {
    taskBox.hidden = value !== 'task';
    stepsBox.hidden = value !== 'steps';
    task.required = value === 'task';
    if (value === 'steps' && steps.children.length === 0) stepRow(steps);
  };
  const radio = (value, label) => el('label', { class: 'inline' },
    el('input', { type: 'radio', name: 'mode', value, checked: value === 'task', onchange: () => mode(value) }), label);
  const inputs = {};
  const optionFields = OPTIONS.map(([name, label, type]) => {
    inputs[name] = el('input', { id: `opt-${name}`, name, type, placeholder: defaults[name] ? `default: ${defaults[name]}` : 'server default' });
    return el('div', { class: 'field' }, el('label', { for: `opt-${name}` }, label), inputs[name]);
  });
  inputs.network = el('select', { id: 'opt-network' }, el('option', { value: '' }, `default (${defaults.network || 'none'})`),
    el('option', { value: 'none' }, 'none'), el('option', { value: 'host' }, 'host'));
  inputs.approve = el('select', { id: 'opt-approve' }, el('option', { value: '' }, `default (${defaults.approve || 'never'})`),
    ['never', 'risky', 'always'].map((m) => el('option', { value: m }, m)));
  optionFields.push(el('div', { class: 'field' }, el('label', { for: 'opt-network' }, 'Network'), inputs.network),
    el('div', { class: 'field' }, el('label', { for: 'opt-approve' }, 'Approval'), inputs.approve));
  const errors = el('div');
  const form = el('form', { class: 'card', onsubmit: async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const body = {};
    if (!stepsBox.hidden) {
      body.steps = [...steps.children].map((row) => {
        const kind = row.querySelector('.step-kind').value;
        const code = row.querySelector('.step-code').value;
        if (kind === 'write_file') return { write_file: { path: row.querySelector('.step-path').value, content: code } };
        return { [kind]: code };
      });
    } else {
      body.task = task.value;
    }
    const options = {};
    for (const [name, input] of Object.entries(inputs)) {
      if (input.value === '') continue;
      options[name] = name === 'max_steps' ? Number(input.value) : input.value;
    }
    if (Object.keys(options).length) body.options = options;
    try {
      const job = await api('/v1/jobs', { method: 'POST', body });
      navigate(`/jobs/${encodeURIComponent(job.id)}`);
    } catch (error) {
      errors.replaceChildren(errorBox(error));
    }
  } },
  el('h1', {}, 'New job'),
  el('fieldset', {}, el('legend', {}, 'What to run'), radio('task', 'A task in plain language'), radio('steps', 'Explicit steps')),
  taskBox, stepsBox,
  el('details', {}, el('summary', {}, 'Options'), el('div', { class: 'options' }, optionFields)),
  errors,
  el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'submit' }, 'Submit')));
  mode('task');
  main.replaceChildren(form);
}
