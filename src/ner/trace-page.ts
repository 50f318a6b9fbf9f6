/**
 * What every model's trace page shares (each model's trace-html.ts draws its own parts): a self-contained,
 * offline HTML page whose traces are embedded as JSON and drawn by a small inline script, with the page
 * shell (title, the common CSS, the heading, the how-to box, one column or two side by side), the script's
 * DOM and SVG helpers, the type colours, the layer table, and the mounting of one section per trace.
 * SPAN_PAGE adds what the pages that draw spans over (start word, end word) grids share (BOPN's, BINDER's):
 * entities as bars under the words, the selection's undo list, the grids' axis words, and the two models'
 * entities in one table. The script parts are JavaScript source (strings, so no transform can rename what
 * they define); none may hold `</script` or `<!--`, which would end or break the page's script.
 */
import type { ForwardRecord } from '../nn/hooks.js';
import { MODULE_TABLE_HEAD, moduleTableRows } from './trace.js';

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));

/** `data` as JSON for a `<script type="application/json">`, `<` escaped so no string (a word `</script>`, say) can close the script. */
export const embedJson = (data: unknown) => JSON.stringify(data).replace(/</g, '\\u003c');

/** A page of one trace, or of two side by side (`compare`: the same words and settings through another model). */
export interface TracePageOptions<T> { label?: string; compare?: { trace: T; label: string } }

/** What the shell reads of a trace. */
export interface PageTrace { tokens: readonly string[]; types: readonly string[]; modules: readonly ForwardRecord[] }

/** One model's page: its own data, CSS, heading, how-to lines and script. */
export interface TracePage<T extends PageTrace> {
  /** The model's name, as the title starts: `BOPN trace: …`. */
  model: string;
  /** What the page's script reads of one trace besides its label, tokens, types and layer rows (may refuse a trace it cannot draw). */
  data(t: T): Record<string, unknown>;
  /** The phases whose module calls the layer table lists (all by default). */
  layerPhases?(t: T): (phase: string) => boolean;
  /** CSS rules after COMMON_CSS. */
  css: string;
  /** The h1's HTML. */
  heading: string;
  /** The how-to box's lines, as HTML. */
  howto: readonly string[];
  /** Script after the shared helpers: defines `renderTrace(root, T, ti)`, called once per trace. */
  script: string;
  /** Script run when there are two traces, with `A`, `B` (their data) and `box` (the #compare element) in scope. */
  compare: string;
}

/** The rules every trace page uses: page and heading sizes, the how-to box, one or two columns of traces, tables, legends, the layer table, notes. */
export const COMMON_CSS = `body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
body.one { max-width: 1200px; } body.two { max-width: 2400px; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 4px 0 6px; } h3 { font-size: 15px; margin: 26px 0 6px; border-bottom: 1px solid #ddd; }
#howto { background: #f7f7f4; border: 1px solid #e4e4dc; border-radius: 6px; padding: 6px 14px; max-width: 1150px; }
#howto li { margin: 3px 0; }
#traces { display: grid; gap: 28px; } body.two #traces { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.trace { min-width: 0; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; }
.legend span { margin-right: 14px; white-space: nowrap; }
.scroll { overflow-x: auto; } .layers td, .layers th { font: 12px ui-monospace, monospace; white-space: nowrap; }
.layers th, .layers td:nth-child(-n+4) { text-align: left; } .layers td:nth-child(n+5) { text-align: right; } .layers tr.bad td { background: #fde8e8; }
.note { color: #555; font-size: 13px; }`;

/**
 * The script's shared part (after DATA is read): the type colours (categorical: they mean types only),
 * SVG and HTML element makers, and the layer table.
 */
const PAGE_SCRIPT = `const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#6b8e23'];
const allTypes = [...new Set(DATA.traces.flatMap((t) => t.types))];
const colour = (type) => palette[Math.max(0, allTypes.indexOf(type)) % palette.length];
const NS = 'http://www.w3.org/2000/svg';
const el = (name, attrs, parent) => { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; };
const h = (tag, text, parent, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; if (parent) parent.appendChild(e); return e; };
const txt = (svg, x, y, s, attrs) => { const e = el('text', Object.assign({ x, y }, attrs || {}), svg); e.textContent = s; return e; };

// The layer table under its heading: the text output's rows, a row with a non-finite value in red.
function layerTable(root, title, rows) {
  h('h3', title, root);
  const sc = h('div', undefined, root, 'scroll');
  const lt = h('table', undefined, sc, 'layers'); lt.dataset.layerTable = '';
  const lh = h('tr', undefined, lt); DATA.layerHead.forEach((c) => h('th', c, lh));
  rows.forEach((row) => { const r = h('tr', undefined, lt); if (row[8] !== '0') r.className = 'bad'; row.forEach((c) => h('td', c, r)); });
}`;

/** One section per trace, each drawn by the page's renderTrace. */
const MOUNT_SCRIPT = `const tracesDiv = document.getElementById('traces');
DATA.traces.forEach((T, i) => { const sec = h('section', undefined, tracesDiv, 'trace'); sec.dataset.trace = String(i); });
DATA.traces.forEach((T, i) => renderTrace(tracesDiv.children[i], T, i));`;

/** The whole page of `t` (and `o.compare`'s trace beside it) as `page` draws it. */
export function renderTracePage<T extends PageTrace>(page: TracePage<T>, t: T, o: TracePageOptions<T> = {}): string {
  const pageData = (x: T, label: string | undefined) => ({
    label: label ?? '', tokens: x.tokens, types: x.types, ...page.data(x), layers: moduleTableRows(x.modules, page.layerPhases?.(x)),
  });
  const traces = [pageData(t, o.label), ...(o.compare ? [pageData(o.compare.trace, o.compare.label)] : [])];
  const title = `${page.model} trace: ${t.tokens.join(' ').slice(0, 80)}${o.compare ? ` (${o.label ?? 'model'} beside ${o.compare.label})` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
${COMMON_CSS}
${page.css}
</style></head><body class="${o.compare ? 'two' : 'one'}">
<h1>${page.heading}</h1>
<section id="howto"><ul>
${page.howto.map((li) => `<li>${li}</li>`).join('\n')}
</ul></section>
<div id="compare"></div>
<div id="traces"></div>
<script type="application/json" id="trace">${embedJson({ traces, layerHead: MODULE_TABLE_HEAD })}</script>
<script>
'use strict';
const DATA = JSON.parse(document.getElementById('trace').textContent);
${PAGE_SCRIPT}
${page.script}
${MOUNT_SCRIPT}

// Two models: one table of both first.
if (DATA.traces.length === 2) {
  const [A, B] = DATA.traces, box = document.getElementById('compare');
${page.compare}
}
</script>
</body></html>
`;
}

/**
 * What the pages that draw spans over (start word, end word) grids share. CSS: the sentence with entity
 * bars, the grids' words and heatmap boxes, left-aligned tables, legend swatches, the selection line.
 * Script (it reads the page's own `fmt(v, digits)`):
 * - `short(word)`: a word cut to 12 characters;
 * - `sentence(parent, T, on, title, cls)`: the entities as bars under the words, one lane each where they
 *   overlap (nested ones stay visible); hovering or clicking a bar calls `on(type index, start, end
 *   inclusive)`; `title(e)` is a bar's tooltip, `cls(e)` its classes ('ent' without it);
 * - `selection()`: what a selection lit (`lit(node, class)`) and drew (`drawn(node)`), undone by `clear()`;
 * - `gridAxes(svg, tokens, L, Top, cs, rot)`: a grid's end words over its columns (rotated with `rot`) and
 *   its start words left of its rows, cells `cs` wide from (L, Top);
 * - `compareEntities(box, A, B, cell)`: a row for every entity either model finds, `cell(f)` giving
 *   [text, class] for each model's entity there (f undefined where it has none).
 */
export const SPAN_PAGE = {
  css: `code { background: #eee; border-radius: 3px; padding: 0 3px; }
.sentence { display: grid; column-gap: 6px; row-gap: 3px; align-items: center; justify-content: start; margin: 8px 0 4px; overflow-x: auto; padding-bottom: 4px; }
.word { font-size: 18px; padding: 1px 3px; border-radius: 3px; white-space: pre; text-align: center; }
.word.on { background: #fff3b0; }
.ent { height: 15px; border: 1.5px solid; border-radius: 4px; font-size: 10px; line-height: 13px; font-weight: 600; padding: 0 3px; overflow: hidden; white-space: nowrap; cursor: pointer; }
.ent.on { outline: 2px solid #222; }
svg text { font: 11px system-ui, sans-serif; } svg .axis { fill: #333; } svg .axis.on { font-weight: 700; fill: #000; }
svg [data-cell] { cursor: pointer; }
td, th { text-align: left; vertical-align: top; }
td.num { text-align: right; } .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.heat { display: inline-block; margin: 0 24px 12px 0; vertical-align: top; }
.heat h4 { margin: 4px 0; font-size: 14px; }
.ents tr[data-entity] { cursor: pointer; } .ents tr.on td, .ents tr.on th { background: #fff3b0; }
.sel { background: #f3f3f3; border-left: 4px solid #888; padding: 4px 10px; min-height: 1.4em; }`,
  script: `const short = (w) => (w.length > 12 ? w.slice(0, 11) + '…' : w);

function sentence(parent, T, on, title, cls) {
  const n = T.tokens.length, box = h('div', undefined, parent, 'sentence');
  box.dataset.sentence = '';
  box.style.gridTemplateColumns = 'repeat(' + n + ', max-content)';
  const words = T.tokens.map((w, i) => { const s = h('span', w, box, 'word'); s.style.gridRow = '1'; s.style.gridColumn = String(i + 1); s.dataset.word = String(i); s.title = '#' + i; return s; });
  const lanes = [];
  const ents = T.entities.map((e, k) => ({ e, k })).sort((a, b) => a.e.start - b.e.start || b.e.end - a.e.end);
  const bars = [];
  for (const { e, k } of ents) {
    let lane = lanes.findIndex((end) => end <= e.start);
    if (lane < 0) { lane = lanes.length; lanes.push(0); }
    lanes[lane] = e.end;
    const b = h('div', e.type + ' ' + fmt(e.score, 2), box, cls ? cls(e) : 'ent');
    b.style.gridRow = String(lane + 2); b.style.gridColumn = (e.start + 1) + ' / ' + (e.end + 1);
    b.style.background = colour(e.type) + '2e'; b.style.borderColor = colour(e.type); b.style.color = colour(e.type);
    b.dataset.entityBar = String(k); b.dataset.type = e.type; b.dataset.text = e.text;
    b.title = title(e);
    b.addEventListener('mouseenter', () => on(T.types.indexOf(e.type), e.start, e.end - 1));
    b.addEventListener('click', () => on(T.types.indexOf(e.type), e.start, e.end - 1));
    bars[k] = b;
  }
  if (!T.entities.length) { const p = h('span', 'no entities', box, 'note'); p.style.gridRow = '2'; p.style.gridColumn = '1 / ' + (n + 1); }
  return { words, bars };
}

function selection() {
  let parts = [];
  return {
    lit: (node, cls) => { node.classList.add(cls); parts.push(() => node.classList.remove(cls)); },
    drawn: (node) => parts.push(() => node.remove()),
    clear: () => { parts.forEach((f) => f()); parts = []; },
  };
}

function gridAxes(svg, tokens, L, Top, cs, rot) {
  const cols = tokens.map((w, j) => {
    const x = L + j * cs + cs / 2, t = txt(svg, rot ? x - 2 : x, Top - 6, short(w), rot ? { transform: 'rotate(-50 ' + (x - 2) + ' ' + (Top - 6) + ')', 'text-anchor': 'start', class: 'axis' } : { 'text-anchor': 'middle', class: 'axis' });
    el('title', {}, t).textContent = 'end word ' + j + ': ' + w; return t;
  });
  const rows = tokens.map((w, i) => { const t = txt(svg, L - 6, Top + i * cs + cs / 2 + 4, short(w), { 'text-anchor': 'end', class: 'axis' }); el('title', {}, t).textContent = 'start word ' + i + ': ' + w; return t; });
  return { rows, cols };
}

function compareEntities(box, A, B, cell) {
  const key = (e) => e.type + ',' + e.start + ',' + e.end;
  const all = new Map();
  for (const e of [...A.entities, ...B.entities]) if (!all.has(key(e))) all.set(key(e), e);
  const tb = h('table', undefined, box); tb.dataset.compareTable = '';
  const hr = h('tr', undefined, tb); ['entity', 'type', 'words [start, end)', A.label || 'first', B.label || 'second'].forEach((c) => h('th', c, hr));
  [...all.values()].sort((x, y) => x.start - y.start || x.end - y.end || x.type.localeCompare(y.type)).forEach((e) => {
    const r = h('tr', undefined, tb);
    h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r);
    for (const T of [A, B]) { const [text, c] = cell(T.entities.find((x) => key(x) === key(e))); h('td', text, r, c); }
  });
  if (!all.size) h('p', 'Neither model finds an entity.', box, 'note');
}`,
};
