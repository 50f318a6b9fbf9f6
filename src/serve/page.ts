/**
 * The server's page at `/`: paste text, tag it through POST /v1/ner, and see the entities marked in the
 * text. Nested entities show as marks inside marks (each with its type's colour and a label); a score
 * shows on hover; each sentence links to its trace page (/v1/trace). One self-contained HTML file: the
 * script builds every node with textContent, so no text from the user or the model is parsed as HTML.
 */

import { embedJson } from '../ner/trace-page.js';

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } textarea { width: 100%; min-height: 8rem; font: inherit; box-sizing: border-box; }
.bar { display: flex; gap: .6rem; align-items: center; margin: .5rem 0 1.2rem; }
.doc { line-height: 2.6; white-space: pre-wrap; border-top: 1px solid #ddd; padding-top: .8rem; }
mark { border-radius: .35rem; padding: .15rem .25rem; border: 1px solid rgba(0,0,0,.25); color: inherit; }
mark .label { font-size: .62rem; font-weight: 700; margin-left: .25rem; vertical-align: middle; opacity: .8; }
.sentences { margin: .6rem 0 0; padding-left: 1.2rem; font-size: .85rem; }
.sentences a { margin-left: .5rem; }
.status { color: #666; font-size: .85rem; } .error { color: #b00020; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .6rem; } td, th { padding: .15rem .6rem; border-bottom: 1px solid #eee; text-align: left; }
`;

/**
 * The page script, plain browser JavaScript (kept as text: a compiled function would carry the build's
 * helpers). Entities become a tree of marks: nested ones inside the mark that holds them; one that crosses
 * another's end is cut there and its rest placed after.
 */
const PAGE_SCRIPT = String.raw`
'use strict';
const models = JSON.parse(document.getElementById('models').textContent);
const $ = (id) => document.getElementById(id);
const select = $('model'), input = $('text'), out = $('out'), status = $('status');
for (const m of models) select.append(new Option(m, m));
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
function hue(type) { let h = 0; for (const c of type) h = (h * 31 + c.charCodeAt(0)) % 360; return h; }
function order(a, b) { return a.start - b.start || b.end - a.end; }
function tree(ents) {
  const todo = ents.map((e) => ({ e, start: e.start, end: e.end, children: [] })).sort(order);
  const roots = [], stack = [];
  while (todo.length) {
    const p = todo.shift();
    while (stack.length && stack[stack.length - 1].end <= p.start) stack.pop();
    const top = stack[stack.length - 1];
    if (top && p.end > top.end) {
      todo.push({ e: p.e, start: top.end, end: p.end, children: [] });
      todo.sort(order);
      p.end = top.end;
    }
    (top ? top.children : roots).push(p);
    stack.push(p);
  }
  return roots;
}
function render(text, pieces, from, to, into) {
  let at = from;
  for (const p of pieces) {
    if (p.start > at) into.append(text.slice(at, p.start));
    const mark = el('mark');
    mark.style.background = 'hsla(' + hue(p.e.type) + ', 75%, 72%, .45)';
    mark.title = p.e.type + ' · score ' + p.e.score.toFixed(3) + ' · "' + p.e.text + '"';
    mark.dataset.type = p.e.type;
    render(text, p.children, p.start, p.end, mark);
    if (p.end === p.e.end) mark.append(el('span', 'label', p.e.type));
    into.append(mark);
    at = p.end;
  }
  if (at < to) into.append(text.slice(at, to));
}
function show(text, r, model) {
  const doc = el('div', 'doc');
  render(text, tree(r.entities), 0, text.length, doc);
  out.append(doc);
  const list = el('ol', 'sentences');
  r.sentences.forEach((s, k) => {
    const li = el('li', undefined, s.tokens.slice(0, 12).join(' ') + (s.tokens.length > 12 ? ' …' : ''));
    const a = el('a', undefined, 'trace');
    a.href = '/v1/trace?model=' + encodeURIComponent(model) + '&sentence=' + encodeURIComponent(s.tokens.join(' '));
    a.target = '_blank';
    a.dataset.sentence = String(k);
    li.append(a);
    list.append(li);
  });
  out.append(list);
  if (!r.entities.length) { out.append(el('p', 'status', 'No entities found.')); return; }
  const table = el('table'), head = el('tr');
  for (const h of ['type', 'text', 'score', 'characters']) head.append(el('th', undefined, h));
  table.append(head);
  for (const e of r.entities) {
    const row = el('tr');
    for (const c of [e.type, e.text, e.score.toFixed(3), e.start + '–' + e.end]) row.append(el('td', undefined, c));
    table.append(row);
  }
  out.append(table);
}
async function tag() {
  const text = input.value, model = select.value, t0 = performance.now();
  out.replaceChildren();
  status.className = 'status';
  status.textContent = 'tagging…';
  try {
    const res = await fetch('/v1/ner', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: [text], model }) });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    show(text, body.results[0], model);
    const n = body.results[0].entities.length;
    status.textContent = n + (n === 1 ? ' entity' : ' entities') + ' in ' + Math.round(performance.now() - t0) + ' ms';
  } catch (e) {
    status.className = 'status error';
    status.textContent = e.message;
  }
}
$('go').addEventListener('click', () => void tag());
input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void tag(); });
`;

export function servePage(models: readonly string[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>diffusionner: named entities</title><style>${STYLE}</style></head>
<body>
<h1>Named entities</h1>
<textarea id="text" placeholder="Paste text: one or more paragraphs">Angela Merkel met Emmanuel Macron in Paris on Monday. The European Union welcomed the talks.</textarea>
<div class="bar"><button id="go">Tag</button><label>model <select id="model"></select></label><span id="status" class="status">Ctrl+Enter tags too.</span></div>
<div id="out"></div>
<script type="application/json" id="models">${embedJson(models)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>`;
}
