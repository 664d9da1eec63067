// Program output with ANSI colours, as DOM text nodes and spans: the bytes are never parsed as
// HTML. SGR sequences (ESC [ … m) set colours, bold, dim, italic and underline; any other escape
// sequence is dropped.
const SEQUENCE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\x1b./g;

export class AnsiWriter {
  constructor(target) {
    this.target = target;
    this.style = {};
  }

  apply(codes) {
    const list = codes === '' ? [0] : codes.split(';').map((c) => Number(c) || 0);
    for (let i = 0; i < list.length; i++) {
      const code = list[i];
      if (code === 0) this.style = {};
      else if (code === 1) this.style.bold = true;
      else if (code === 2) this.style.dim = true;
      else if (code === 3) this.style.italic = true;
      else if (code === 4) this.style.underline = true;
      else if (code === 22) { delete this.style.bold; delete this.style.dim; }
      else if (code === 23) delete this.style.italic;
      else if (code === 24) delete this.style.underline;
      else if (code >= 30 && code <= 37) this.style.fg = code - 30;
      else if (code >= 90 && code <= 97) this.style.fg = code - 90 + 8;
      else if (code === 39) delete this.style.fg;
      else if (code >= 40 && code <= 47) this.style.bg = code - 40;
      else if (code >= 100 && code <= 107) this.style.bg = code - 100 + 8;
      else if (code === 49) delete this.style.bg;
      else if ((code === 38 || code === 48) && list[i + 1] === 5) i += 2;  // 256 colours: ignored
      else if ((code === 38 || code === 48) && list[i + 1] === 2) i += 4;  // true colour: ignored
    }
  }

  text(chunk) {
    if (!chunk) return;
    const classes = [];
    if (this.style.bold) classes.push('ansi-bold');
    if (this.style.dim) classes.push('ansi-dim');
    if (this.style.italic) classes.push('ansi-italic');
    if (this.style.underline) classes.push('ansi-underline');
    if (this.style.fg !== undefined) classes.push(`ansi-fg${this.style.fg}`);
    if (this.style.bg !== undefined) classes.push(`ansi-bg${this.style.bg}`);
    if (classes.length === 0) {
      this.target.append(document.createTextNode(chunk));
      return;
    }
    const span = document.createElement('span');
    span.className = classes.join(' ');
    span.textContent = chunk;
    this.target.append(span);
  }

  write(data) {
    let last = 0;
    for (const match of data.matchAll(SEQUENCE)) {
      this.text(data.slice(last, match.index));
      if (match[2] === 'm') this.apply(match[1]);
      last = match.index + match[0].length;
    }
    this.text(data.slice(last));
  }
}
