// A small Markdown renderer that builds DOM nodes: headings, paragraphs, lists, fenced code,
// quotes, `code`, **bold**, *emphasis* and links (http, https and relative only). No HTML in the
// source is ever interpreted: it stays text.
function inline(text) {
  const out = document.createDocumentFragment();
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    out.append(document.createTextNode(text.slice(last, m.index)));
    let node;
    if (m[1] !== undefined) { node = document.createElement('code'); node.textContent = m[1]; }
    else if (m[2] !== undefined) { node = document.createElement('strong'); node.textContent = m[2]; }
    else if (m[3] !== undefined) { node = document.createElement('em'); node.textContent = m[3]; }
    else if (/^https?:\/\//i.test(m[5]) || !/^[^/]*:/.test(m[5])) {  // no javascript: and the like
      node = document.createElement('a'); node.href = m[5]; node.textContent = m[4]; node.rel = 'noopener noreferrer';
    } else { node = document.createTextNode(m[0]); }
    out.append(node);
    last = m.index + m[0].length;
  }
  out.append(document.createTextNode(text.slice(last)));
  return out;
}

export function markdown(source) {
  const root = document.createDocumentFragment();
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  let list = null, paragraph = null;
  const close = () => { list = null; paragraph = null; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      close();
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      const pre = document.createElement('pre');
      pre.className = 'code';
      pre.textContent = code.join('\n');
      root.append(pre);
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    const item = line.match(/^\s*([-*+]|\d+\.)\s+(.*)$/);
    if (heading) {
      close();
      const h = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      h.append(inline(heading[2]));
      root.append(h);
    } else if (item) {
      paragraph = null;
      const ordered = /\d/.test(item[1]);
      if (!list || (list.tagName === 'OL') !== ordered) {
        list = document.createElement(ordered ? 'ol' : 'ul');
        root.append(list);
      }
      const li = document.createElement('li');
      li.append(inline(item[2]));
      list.append(li);
    } else if (line.startsWith('>')) {
      close();
      const quote = document.createElement('blockquote');
      quote.append(inline(line.replace(/^>\s?/, '')));
      root.append(quote);
    } else if (line.trim() === '') {
      close();
    } else {
      list = null;
      if (!paragraph) { paragraph = document.createElement('p'); root.append(paragraph); }
      else paragraph.append(document.createTextNode(' '));
      paragraph.append(inline(line));
    }
  }
  return root;
}
