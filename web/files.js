// A job's files: a tree of paths with sizes and sha256, previews (text and code, images, CSV as a
// table, Markdown), one file or all of them (ZIP, tar.gz) downloaded. Downloads go through
// fetch() so that they carry the tab's key.
import { apiKey } from './api.js';
import { el, errorBox } from './app.js';
import { markdown } from './markdown.js';

const IMAGE = /\.(png|jpe?g|gif|webp|bmp)$/i;
const PREVIEW_BYTES = 1 << 20;

async function fetchBlob(url) {
  const headers = apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {};
  const response = await fetch(url, { headers });
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response.blob();
}

async function download(url, name, box) {
  try {
    const blob = await fetchBlob(url);
    const link = el('a', { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    box.append(errorBox(error));
  }
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

// "a,b\n\"c,d\",e" → [["a","b"],["c,d","e"]]
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field.replace(/\r$/, '')); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

async function preview(url, file, pane) {
  pane.replaceChildren(el('h3', {}, file.path), el('p', { class: 'muted' }, 'Loading…'));
  try {
    if (file.size > PREVIEW_BYTES && !IMAGE.test(file.path)) {
      pane.replaceChildren(el('h3', {}, file.path), el('p', {}, 'Too large to preview: download it.'));
      return;
    }
    const blob = await fetchBlob(url);
    let body;
    if (IMAGE.test(file.path)) {
      body = el('img', { src: URL.createObjectURL(blob), alt: file.path, class: 'preview-image' });
    } else {
      const text = await blob.text();
      if (/\.csv$/i.test(file.path)) {
        const [head = [], ...rows] = parseCsv(text);
        body = el('div', { class: 'scroll' }, el('table', { class: 'csv' },
          el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))))));
      } else if (/\.(md|markdown)$/i.test(file.path)) {
        body = el('div', { class: 'markdown' }, markdown(text));
      } else {
        body = el('pre', { class: 'code' }, text);
      }
    }
    pane.replaceChildren(el('h3', {}, file.path), body);
  } catch (error) {
    pane.replaceChildren(el('h3', {}, file.path), errorBox(error));
  }
}

export function renderFiles(box, job) {
  const base = `/v1/jobs/${encodeURIComponent(job.id)}`;
  const list = (job.result && job.result.files) || [];
  const pane = el('div', { class: 'preview', 'aria-live': 'polite' });
  const archive = (format) => el('button', { class: 'secondary', onclick: () =>
    download(`${base}/archive?format=${format}`, `${job.id}.${format}`, box) }, `Download all (${format === 'zip' ? 'ZIP' : 'tar.gz'})`);
  if (list.length === 0) {
    box.replaceChildren(el('h2', {}, 'Files'), el('p', { class: 'muted' },
      job.result && job.result.files_error ? job.result.files_error : 'This job left no files in its workspace.'));
    return;
  }
  const rows = [...list].sort((a, b) => a.path.localeCompare(b.path)).map((file) => {
    const url = `${base}/files/${file.path.split('/').map(encodeURIComponent).join('/')}`;
    const depth = file.path.split('/').length - 1;
    const cell = el('td', { class: 'path' },
      el('button', { class: 'link', onclick: () => preview(url, file, pane) }, file.path));
    cell.style.paddingLeft = `${0.5 + depth * 1.2}rem`;  // the tree's depth (CSSOM: allowed by the CSP)
    return el('tr', {}, cell,
      el('td', { class: 'num' }, size(file.size)),
      el('td', {}, el('code', { class: 'sha', title: file.sha256 }, (file.sha256 || '').slice(0, 12))),
      el('td', {}, el('button', { class: 'secondary', 'aria-label': `Download ${file.path}`,
        onclick: () => download(url, file.path.split('/').pop(), box) }, 'Download')));
  });
  box.replaceChildren(el('h2', {}, 'Files'),
    el('div', { class: 'actions' }, archive('zip'), archive('tar.gz')),
    el('div', { class: 'scroll' }, el('table', { class: 'files' },
      el('thead', {}, el('tr', {}, ['Path', 'Size', 'sha256', ''].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows))),
    pane);
}
