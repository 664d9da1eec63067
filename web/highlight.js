// Syntax colouring of the commands and code an agent runs: a small tokenizer for shell and Python
// that splits the text into spans (keyword, string, comment, number, variable, option). Every span
// is a text node: nothing in the code is ever parsed as HTML.
import { el } from './app.js';

const KEYWORDS = {
  shell: new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case',
    'esac', 'in', 'function', 'return', 'export', 'local', 'set', 'cd', 'echo', 'exit', 'sudo']),
  python: new Set(['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break',
    'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from',
    'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise',
    'return', 'try', 'while', 'with', 'yield', 'print']),
};

// One pattern per kind, tried in this order at each position; the first that matches wins.
const RULES = {
  shell: [
    ['comment', /#[^\n]*/y],
    ['string', /'[^']*'?|"(?:[^"\\]|\\.)*"?/y],
    ['variable', /\$(?:\{[^}\n]*\}?|[A-Za-z_][A-Za-z0-9_]*|[0-9@#?$!*-])/y],
    ['option', /(?<=^|\s)--?[A-Za-z][\w-]*/y],
    ['number', /\b\d+(?:\.\d+)?\b/y],
    ['word', /[A-Za-z_][\w.-]*/y],
  ],
  python: [
    ['comment', /#[^\n]*/y],
    ['string', /[rRbBfFuU]{0,2}(?:'''[\s\S]*?(?:'''|$)|"""[\s\S]*?(?:"""|$)|'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?)/y],
    ['number', /\b(?:0[xob][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?j?)\b/y],
    ['word', /[A-Za-z_]\w*/y],
  ],
};

// [kind, text] pairs covering `code` exactly; kind '' is plain text.
export function tokens(code, language) {
  const rules = RULES[language] || RULES.shell;
  const keywords = KEYWORDS[language] || KEYWORDS.shell;
  const out = [];
  let plain = '';
  let at = 0;
  while (at < code.length) {
    let matched = null;
    for (const [kind, pattern] of rules) {
      pattern.lastIndex = at;
      const m = pattern.exec(code);
      if (m && m[0].length) { matched = [kind, m[0]]; break; }
    }
    if (!matched) { plain += code[at++]; continue; }
    let [kind, text] = matched;
    if (kind === 'word') kind = keywords.has(text) ? 'keyword' : '';
    if (!kind) { plain += text; at += text.length; continue; }
    if (plain) { out.push(['', plain]); plain = ''; }
    out.push([kind, text]);
    at += text.length;
  }
  if (plain) out.push(['', plain]);
  return out;
}

// A <pre> of `code`, coloured for `language` ('shell' or 'python').
export function highlighted(code, language, attributes = {}) {
  const parts = tokens(code, language).map(([kind, text]) => (kind ? el('span', { class: `tok-${kind}` }, text) : text));
  return el('pre', { ...attributes, class: `${attributes.class || 'code'} lang-${language}` }, ...parts);
}
