// A request for approval in a job's timeline: the action that waits, why it is risky, and
// Approve / Deny / Always. Each button answers this request by its id (the seq of its event), so
// that a click never answers another request that arrived meanwhile; the answer event, from this
// tab or any other client, closes the panel.
import { api } from './api.js';
import { el, when, errorBox } from './app.js';

export function approvalPanel(jobId, event) {
  const data = event.data || {};
  const id = event.seq;
  const args = data.arguments || {};
  const code = args.command || args.code || args.path || JSON.stringify(args);
  const reason = el('input', { type: 'text', id: `deny-reason-${id}`, maxlength: 2000,
    placeholder: 'Why not (the model is told)' });
  const status = el('p', { class: 'approval-status', role: 'status' },
    `Waiting for your answer until ${when(data.expires_at)}; unanswered, it is denied.`);
  const buttons = el('div', { class: 'actions' });
  const answer = async (decision) => {
    const body = { id, decision };
    if (decision === 'deny' && reason.value.trim()) body.reason = reason.value.trim();
    for (const button of buttons.querySelectorAll('button')) button.disabled = true;
    try {
      await api(`/v1/jobs/${encodeURIComponent(jobId)}/approvals`, { method: 'POST', body });
    } catch (error) {
      status.replaceChildren(errorBox(error));
      for (const button of buttons.querySelectorAll('button')) button.disabled = false;
    }
  };
  buttons.append(
    el('button', { onclick: () => answer('approve') }, 'Approve'),
    el('button', { class: 'secondary', onclick: () => answer('always'), title: 'Approve this, and every later action with the same risk in this job and its session' }, 'Always for this risk'),
    el('button', { class: 'danger', onclick: () => answer('deny') }, 'Deny'));
  const panel = el('li', { class: 'approval-request', 'data-approval': id, role: 'group',
    'aria-label': `Approval ${id}: step ${data.step}` },
    el('div', { class: 'action-head' }, el('span', { class: 'step' }, `Step ${data.step}`),
      el('span', { class: 'tool' }, data.tool), el('strong', {}, `Needs approval: ${data.reason}`)),
    el('pre', { class: 'code' }, code),
    el('label', { for: `deny-reason-${id}` }, 'Reason for a denial (optional)'), reason,
    buttons, status);
  // Called with the first answer to this request.
  panel.answered = (answerData) => {
    buttons.remove();
    reason.previousSibling?.remove();
    reason.remove();
    const verdict = answerData.decision === 'approved'
      ? `Approved${answerData.always ? ' (always, for this risk)' : ''} by ${answerData.by}`
      : answerData.by === 'timeout' ? 'Denied: no one answered in time'
        : `Denied by ${answerData.by}${answerData.reason ? `: ${answerData.reason}` : ''}`;
    status.replaceChildren(verdict);
    panel.classList.add(answerData.decision === 'approved' ? 'approved' : 'denied');
  };
  return panel;
}
