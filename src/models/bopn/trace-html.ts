/**
 * BOPN's trace as one self-contained, offline HTML page that shows how the offset-label grid became the
 * entities: a few lines on how to read it; the sentence with its entities drawn as bars under the words
 * (nested and overlapping ones in their own lanes, coloured by type, the score on hover); per type, the
 * label grid as a heatmap over (start word, end word) pairs, each cell coloured by its label's family
 * (centre, start offset, end offset, none) and shaded by its probability, the label written in it, the
 * lower triangle greyed (decoding reads only the upper triangle and the diagonal); the spans the offset
 * labels vote for, whose voting cells are drawn as arrows into the voted cell when a span is hovered or
 * clicked, and listed in a table; the entities they make; and the layer table (the rows the text output
 * prints). With a second trace (`compare`: the same words and settings through another model) the two are
 * drawn side by side. No external resources: the traces are embedded as JSON and drawn by a small inline
 * script.
 */
import { MODULE_TABLE_HEAD, moduleTableRows } from '../../ner/trace.js';
import type { Trace } from './trace.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));

export interface TraceHtmlOptions { label?: string; compare?: { trace: Trace; label: string } }

/** What the page's script reads of one trace: the trace less its module records, plus the layer table's rows. */
function pageData(t: Trace, label: string | undefined) {
  if (t.kind !== 'bopn') throw new Error(`bopn trace page: a '${String((t as { kind?: unknown }).kind)}' trace cannot be drawn as BOPN's`);
  return {
    label: label ?? '', tokens: t.tokens, types: t.types, labels: t.labels, window: t.window, options: t.options,
    grids: t.grids, votes: t.votes, entities: t.entities, layers: moduleTableRows(t.modules),
  };
}

export function renderTraceHtml(t: Trace, o: TraceHtmlOptions = {}): string {
  const traces = [pageData(t, o.label), ...(o.compare ? [pageData(o.compare.trace, o.compare.label)] : [])];
  // `<` is escaped so no string (a word `</script>`, say) can close the script.
  const data = JSON.stringify({ traces, layerHead: MODULE_TABLE_HEAD }).replace(/</g, '\\u003c');
  const title = `BOPN trace: ${t.tokens.join(' ').slice(0, 80)}${o.compare ? ` (${o.label ?? 'model'} beside ${o.compare.label})` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
body.one { max-width: 1200px; } body.two { max-width: 2400px; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 4px 0 6px; } h3 { font-size: 15px; margin: 26px 0 6px; border-bottom: 1px solid #ddd; }
#howto { background: #f7f7f4; border: 1px solid #e4e4dc; border-radius: 6px; padding: 6px 14px; max-width: 1150px; }
#howto li { margin: 3px 0; } code { background: #eee; border-radius: 3px; padding: 0 3px; }
#traces { display: grid; gap: 28px; } body.two #traces { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.trace { min-width: 0; }
.sentence { display: grid; column-gap: 6px; row-gap: 3px; align-items: center; justify-content: start; margin: 8px 0 4px; overflow-x: auto; padding-bottom: 4px; }
.word { font-size: 18px; padding: 1px 3px; border-radius: 3px; white-space: pre; text-align: center; }
.word.on { background: #fff3b0; }
.ent { height: 15px; border: 1.5px solid; border-radius: 4px; font-size: 10px; line-height: 13px; font-weight: 600; padding: 0 3px; overflow: hidden; white-space: nowrap; cursor: pointer; }
.ent.votes { border-style: dashed; } .ent.on { outline: 2px solid #222; }
svg text { font: 11px system-ui, sans-serif; } svg .axis { fill: #333; } svg .axis.on { font-weight: 700; fill: #000; }
svg [data-cell] { cursor: pointer; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.num { text-align: right; } .legend span { margin-right: 14px; white-space: nowrap; } .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
.scroll { overflow-x: auto; } .layers td, .layers th { font: 12px ui-monospace, monospace; white-space: nowrap; }
.layers td:nth-child(n+5) { text-align: right; } .layers tr.bad td { background: #fde8e8; }
.heat { display: inline-block; margin: 0 24px 12px 0; vertical-align: top; }
.heat h4 { margin: 4px 0; font-size: 14px; }
.votes tr[data-vote], .ents tr[data-entity] { cursor: pointer; } .votes tr.on td, .ents tr.on td, .ents tr.on th { background: #fff3b0; }
.votes .fam { font: 12px ui-monospace, monospace; min-width: 14em; } .yes { color: #1b7a1b; font-weight: 600; } .no { color: #999; }
.note { color: #555; font-size: 13px; } .sel { background: #f3f3f3; border-left: 4px solid #888; padding: 4px 10px; min-height: 1.4em; }
</style></head><body class="${o.compare ? 'two' : 'one'}">
<h1>BOPN: how one sentence's offset-label grid became its entities</h1>
<section id="howto"><ul>
<li><b>The grid.</b> For every entity type the model labels every pair of words (i, j): row i is a start word, column j an end word. Each cell gets one label (the argmax; its probability is the shade of the cell).</li>
<li><b>What a label means.</b> <code>c:0</code> at (i, j) says words i..j are an entity (a <i>centre</i> cell). <code>s:w</code> at (i, j) says the entity's start is w words away: the entity is (i − w, j). <code>e:w</code> says its end is w words away: the entity is (i, j − w). <code>none</code>: no entity near. w runs over ±1..±S, S being the window (S is given above each trace); a label whose span would leave the sentence or end before it starts votes for nothing.</li>
<li><b>Decoding</b> reads only the upper triangle and the diagonal (j ≥ i; the lower triangle is greyed). Mode <code>centres</code> keeps the c:0 cells only; <code>offsets</code> also keeps every span at least one s/e label votes for; <code>votes</code> keeps the centres and every span with at least S votes from one family (S start votes or S end votes). The threshold, and the overlap filter where it is on, then decide which are kept.</li>
<li><b>Heatmap colours</b> are label families, not types: <span style="color:#c2185b">■ centre c:0</span>, <span style="color:#1565c0">■ start offsets s:w</span>, <span style="color:#e65100">■ end offsets e:w</span>, <span style="color:#9e9e9e">■ none</span>; pale is a low probability, deep a high one (none cells stay pale, so the labels stand out). Hover a cell for its label and probability; click it to see the span it votes for.</li>
<li><b>Votes.</b> Hover or click a voted span (in the table, or an entity in the sentence) and its voting cells are outlined in the grid with arrows into the cell (start, end) they vote for; the row and column words light up. Entity bars under the sentence: solid border from a centre cell, dashed from votes alone; type colours mean types only.</li>
<li><b>Layer table</b>: every module call (the text output's table): a NaN (rows in red), a LayerNorm output whose std is far from 1, or an output that is all alike is where to look.</li>
</ul></section>
<div id="compare"></div>
<div id="traces"></div>
<script type="application/json" id="trace">${data}</script>
<script>
'use strict';
const DATA = JSON.parse(document.getElementById('trace').textContent);
// Type colours mean types only; the grid's colours mean label families.
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#6b8e23'];
const allTypes = [...new Set(DATA.traces.flatMap((t) => t.types))];
const colour = (type) => palette[Math.max(0, allTypes.indexOf(type)) % palette.length];
const FAMILY = { c: '#c2185b', s: '#1565c0', e: '#e65100', none: '#9e9e9e' };
const FAMILY_NAME = { c: 'centre', s: 'start offset', e: 'end offset', none: 'none' };
const LOWER = '#dcdcdc';
const NS = 'http://www.w3.org/2000/svg';
const el = (name, attrs, parent) => { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; };
const h = (tag, text, parent, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; if (parent) parent.appendChild(e); return e; };
const txt = (svg, x, y, s, attrs) => { const e = el('text', Object.assign({ x, y }, attrs || {}), svg); e.textContent = s; return e; };
const fmt = (v, d) => Number(v).toFixed(d);
const short = (w) => (w.length > 12 ? w.slice(0, 11) + '…' : w);
// A label's family ('c', 's', 'e' or 'none') and offset w.
const parse = (label) => (label === 'none' ? { family: 'none', w: 0 } : { family: label[0], w: Number(label.split(':')[1]) });
const clamp01 = (p) => Math.min(1, Math.max(0, p));
// A cell's opacity: its probability, from pale to deep; none stays light, so the labels stand out.
const shade = (p, family) => (family === 'none' ? 0.03 + 0.2 * clamp01(p) : 0.12 + 0.88 * clamp01(p));
const HATCH = 'repeating-linear-gradient(45deg, #dcdcdc 0 4px, #c2c2c2 4px 5px)';
// The span (inclusive) an upper-triangle cell's label points at, as decode.ts reads it, or null.
function target(label, i, j, n) {
  const { family, w } = parse(label);
  if (family === 'c') return { start: i, end: j };
  if (family === 's') return i - w >= 0 && i - w <= j ? { start: i - w, end: j } : null;
  if (family === 'e') return j - w >= i && j - w < n ? { start: i, end: j - w } : null;
  return null;
}
const inDecoding = (v, mode, S) => (mode === 'centres' ? false : mode === 'offsets' ? v.startVotes.length + v.endVotes.length >= 1 : v.startVotes.length >= S || v.endVotes.length >= S);

// Entities as bars under the words, one lane each where they overlap (nested ones stay visible).
function sentence(parent, T, on) {
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
    const b = h('div', e.type + ' ' + fmt(e.score, 2), box, 'ent' + (e.by === 'votes' ? ' votes' : ''));
    b.style.gridRow = String(lane + 2); b.style.gridColumn = (e.start + 1) + ' / ' + (e.end + 1);
    b.style.background = colour(e.type) + '2e'; b.style.borderColor = colour(e.type); b.style.color = colour(e.type);
    b.dataset.entityBar = String(k); b.dataset.type = e.type; b.dataset.text = e.text;
    b.title = e.type + ': "' + e.text + '" words [' + e.start + ', ' + e.end + '), score ' + fmt(e.score, 3) + ', from ' + (e.by === 'centre' ? 'its centre cell c:0' : 'offset votes alone');
    b.addEventListener('mouseenter', () => on(T.types.indexOf(e.type), e.start, e.end - 1));
    b.addEventListener('click', () => on(T.types.indexOf(e.type), e.start, e.end - 1));
    bars[k] = b;
  }
  if (!T.entities.length) { const p = h('span', 'no entities', box, 'note'); p.style.gridRow = '2'; p.style.gridColumn = '1 / ' + (n + 1); }
  return { words, bars };
}

function renderTrace(root, T, ti) {
  const n = T.tokens.length, S = T.window, O = T.options;
  const width = Math.max(420, root.clientWidth || 1100);
  if (T.label) h('h2', T.label, root);
  const centres = T.entities.filter((e) => e.by === 'centre').length;
  h('p', 'S = ' + S + ' (offsets ±1..±' + S + '), decoding ' + O.decoding + (O.decoding === 'votes' ? ' (≥ ' + S + ' votes of one family)' : '') + ', threshold ' + O.threshold + ', ' + O.mode + ' filtering' + (O.overlapFilter ? ', overlap filter on' : '') + '. ' + T.entities.length + ' entities: ' + centres + ' from centre cells, ' + (T.entities.length - centres) + ' from offset votes alone; ' + T.votes.length + ' spans voted for.', root, 'note');
  const legend = h('p', undefined, root, 'legend');
  T.types.forEach((ty) => { const s = h('span', undefined, legend); const i = h('i', undefined, s); i.style.background = colour(ty); s.appendChild(document.createTextNode(ty)); });

  // Selection: one span (type, start, end inclusive) lit in the sentence, its grid, the votes and entities tables.
  const sel = { parts: [] };
  const lit = (node, cls) => { node.classList.add(cls); sel.parts.push(() => node.classList.remove(cls)); };
  const drawn = (node) => sel.parts.push(() => node.remove());
  let sent, grids = [], voteRows = [], entRows = [], selText;
  function select(y, start, end) {
    sel.parts.forEach((f) => f()); sel.parts = [];
    if (y < 0 || start < 0 || end < start) return;
    const type = T.types[y], v = T.votes.find((x) => x.type === type && x.start === start && x.end === end);
    for (let i = start; i <= end; i++) lit(sent.words[i], 'on');
    T.entities.forEach((e, k) => { if (e.type === type && e.start === start && e.end === end + 1) { lit(sent.bars[k], 'on'); if (entRows[k]) lit(entRows[k], 'on'); } });
    const g = grids[y];
    if (g) {
      lit(g.rows[start], 'on'); lit(g.cols[end], 'on');
      const c = g.centre(start, end);
      if (v) for (const [list, fam] of [[v.startVotes, 's'], [v.endVotes, 'e']]) for (const vote of list) {
        const a = g.centre(vote.i, vote.j);
        drawn(el('rect', { x: a.x - g.cs / 2 + 1, y: a.y - g.cs / 2 + 1, width: g.cs - 2, height: g.cs - 2, fill: 'none', stroke: FAMILY[fam], 'stroke-width': 2.5, 'data-voter': fam }, g.overlay));
        if (vote.i !== start || vote.j !== end) {
          const dx = c.x - a.x, dy = c.y - a.y, len = Math.hypot(dx, dy), k0 = g.cs * 0.28 / len, k1 = 1 - g.cs * 0.42 / len;
          drawn(el('line', { x1: a.x + dx * k0, y1: a.y + dy * k0, x2: a.x + dx * k1, y2: a.y + dy * k1, stroke: FAMILY[fam], 'stroke-width': 2, 'marker-end': 'url(#' + g.marker[fam] + ')', 'data-arrow': fam }, g.overlay));
        }
      }
      drawn(el('rect', { x: c.x - g.cs / 2, y: c.y - g.cs / 2, width: g.cs, height: g.cs, fill: 'none', stroke: '#111', 'stroke-width': 3, 'data-target': '' }, g.overlay));
    }
    const vi = v ? T.votes.indexOf(v) : -1;
    if (vi >= 0) lit(voteRows[vi], 'on');
    const words = T.tokens.slice(start, end + 1).join(' ');
    const label = T.labels[T.grids[y].labels[start * n + end]];
    selText.textContent = type + ' [' + start + ', ' + end + '] "' + words + '": its own cell holds ' + label + ' (' + fmt(T.grids[y].probs[start * n + end], 2) + ')' +
      (v ? '; ' + v.startVotes.length + ' start votes (blue) and ' + v.endVotes.length + ' end votes (orange) point at it' : '; no offset label votes for it') +
      (T.entities.some((e) => e.type === type && e.start === start && e.end === end + 1) ? ' → an entity.' : ' → not an entity.');
  }

  h('h3', 'The sentence and its entities', root);
  sent = sentence(root, T, select);
  selText = h('p', 'Hover or click an entity, a voted span or a grid cell.', root, 'sel'); selText.dataset.selection = '';

  // Per type: the label grid over (start, end) word pairs.
  h('h3', 'Offset-label grids (row = start word, column = end word)', root);
  const fl = h('p', undefined, root, 'legend');
  for (const f of ['c', 's', 'e', 'none']) { const s = h('span', undefined, fl); const i = h('i', undefined, s); i.style.background = FAMILY[f]; i.style.opacity = String(shade(0.9, f)); s.appendChild(document.createTextNode(FAMILY_NAME[f] + (f === 'c' ? ' c:0' : f === 'none' ? '' : ' ' + f + ':w'))); }
  const ramp = h('span', undefined, fl); ramp.appendChild(document.createTextNode('probability: '));
  [0.1, 0.5, 0.9].forEach((p) => { const i = h('i', undefined, ramp); i.style.background = FAMILY.c; i.style.opacity = String(shade(p, 'c')); ramp.appendChild(document.createTextNode(String(p) + ' ')); });
  const lo = h('span', undefined, fl); h('i', undefined, lo).style.background = HATCH; lo.appendChild(document.createTextNode('lower triangle (not read)'));
  const heatBox = h('div', undefined, root, 'scroll');
  const maxW = T.tokens.reduce((m, w) => Math.max(m, Math.min(12, w.length)), 1);
  const L = 14 + maxW * 7, cs = Math.max(24, Math.min(44, Math.floor((Math.min(width, 1100) / Math.min(2, T.types.length) - L - 40) / n)));
  const rot = T.tokens.some((w) => Math.min(12, w.length) * 6.5 > cs), Top = rot ? 16 + maxW * 5 : 22;
  const font = Math.max(8, Math.min(11, Math.floor(cs / 3.2)));
  T.grids.forEach((G, y) => {
    const wrap = h('div', undefined, heatBox, 'heat');
    const hd = h('h4', G.type + ' ', wrap); hd.style.color = colour(G.type);
    const svg = el('svg', { width: L + n * cs + 8, height: Top + n * cs + 8, 'data-heatmap': G.type }, wrap);
    const defs = el('defs', {}, svg), marker = {}, hatch = 'hatch-' + ti + '-' + y;
    const pat = el('pattern', { id: hatch, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, defs);
    el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#c2c2c2', 'stroke-width': 1.5 }, pat);
    for (const f of ['s', 'e']) {
      marker[f] = 'arrow-' + ti + '-' + y + '-' + f;
      const m = el('marker', { id: marker[f], viewBox: '0 0 10 10', refX: 6, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' }, defs);
      el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: FAMILY[f] }, m);
    }
    const cols = T.tokens.map((w, j) => {
      const x = L + j * cs + cs / 2, t = txt(svg, rot ? x - 2 : x, Top - 6, short(w), rot ? { transform: 'rotate(-50 ' + (x - 2) + ' ' + (Top - 6) + ')', 'text-anchor': 'start', class: 'axis' } : { 'text-anchor': 'middle', class: 'axis' });
      el('title', {}, t).textContent = 'end word ' + j + ': ' + w; return t;
    });
    const rows = T.tokens.map((w, i) => { const t = txt(svg, L - 6, Top + i * cs + cs / 2 + 4, short(w), { 'text-anchor': 'end', class: 'axis' }); el('title', {}, t).textContent = 'start word ' + i + ': ' + w; return t; });
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const k = i * n + j, label = T.labels[G.labels[k]], p = G.probs[k], { family } = parse(label), lower = j < i;
      const g = el('g', { 'data-cell': i + ',' + j, 'data-label': label, 'data-family': family }, svg);
      if (lower) g.dataset.lower = '';
      const x = L + j * cs, yy = Top + i * cs;
      if (lower) { el('rect', { x, y: yy, width: cs - 1, height: cs - 1, fill: LOWER }, g); el('rect', { x, y: yy, width: cs - 1, height: cs - 1, fill: 'url(#' + hatch + ')' }, g); }
      else { el('rect', { x, y: yy, width: cs - 1, height: cs - 1, fill: '#fff' }, g); el('rect', { x, y: yy, width: cs - 1, height: cs - 1, fill: FAMILY[family], 'fill-opacity': fmt(shade(p, family), 3) }, g); }
      if (label !== 'none') txt(g, x + cs / 2 - 0.5, yy + cs / 2 + font / 3, label, { 'text-anchor': 'middle', style: 'font-size:' + font + 'px', fill: lower ? '#9a9a9a' : p > 0.55 ? '#fff' : '#222' });
      const tg = lower ? null : target(label, i, j, n);
      el('title', {}, g).textContent = G.type + ' (' + i + ', ' + j + ') "' + T.tokens[i] + '" → "' + T.tokens[j] + '": ' + label + ', p = ' + fmt(p, 3) +
        (lower ? '\\nlower triangle: decoding does not read it' : family === 'none' ? '' : tg ? '\\n' + (family === 'c' ? 'a centre: the entity' : 'votes for') + ' [' + tg.start + ', ' + tg.end + '] "' + T.tokens.slice(tg.start, tg.end + 1).join(' ') + '"' : '\\npoints outside the sentence or past the span: no vote');
      g.addEventListener('click', () => { if (tg) select(y, tg.start, tg.end); else select(y, Math.min(i, j), Math.max(i, j)); });
    }
    const overlay = el('g', { 'data-overlay': '', 'pointer-events': 'none' }, svg);
    grids[y] = { rows, cols, overlay, marker, cs, centre: (i, j) => ({ x: L + j * cs + cs / 2 - 0.5, y: Top + i * cs + cs / 2 - 0.5 }) };
  });

  // The voted spans: which cells voted, per family.
  h('h3', 'Offset votes (S = ' + S + '; decoding ' + O.decoding + ')', root);
  if (!T.votes.length) h('p', 'No offset label votes for a span.', root, 'note');
  else {
    const sc = h('div', undefined, root, 'scroll');
    const tb = h('table', undefined, sc, 'votes'); tb.dataset.votesTable = '';
    const hr = h('tr', undefined, tb); ['span [start, end]', 'words', 'type', 'start votes', 'end votes', 'centre cell', 'passes ' + O.decoding, 'kept'].forEach((c) => h('th', c, hr));
    const list = (vs) => vs.length + (vs.length ? ': ' + vs.map((v) => v.label + '@(' + v.i + ',' + v.j + ') ' + fmt(v.p, 2)).join(', ') : '');
    T.votes.forEach((v, k) => {
      const r = h('tr', undefined, tb); r.dataset.vote = String(k); voteRows[k] = r;
      h('td', '[' + v.start + ', ' + v.end + ']', r); h('td', T.tokens.slice(v.start, v.end + 1).join(' '), r);
      h('td', v.type, r).style.color = colour(v.type);
      const s = h('td', list(v.startVotes), r, 'fam'); s.style.color = FAMILY.s; const e = h('td', list(v.endVotes), r, 'fam'); e.style.color = FAMILY.e;
      h('td', v.centre ? 'c:0' : '–', r, v.centre ? 'yes' : 'no');
      const pass = v.centre || inDecoding(v, O.decoding, S); h('td', pass ? (v.centre ? 'yes (centre)' : 'yes') : 'no', r, pass ? 'yes' : 'no');
      h('td', v.kept ? 'KEPT' : 'not kept', r, v.kept ? 'yes' : 'no');
      const on = () => select(T.types.indexOf(v.type), v.start, v.end);
      r.addEventListener('mouseenter', on); r.addEventListener('click', on);
    });
  }

  // The entities.
  h('h3', 'Entities', root);
  if (!T.entities.length) h('p', 'No entity: no centre cell and no voted span passed decoding ' + O.decoding + ' and the threshold ' + O.threshold + '.', root, 'note');
  else {
    const tb = h('table', undefined, root, 'ents');
    const hd = h('tr', undefined, tb); ['entity', 'type', 'words [start, end)', 'score', 'from'].forEach((c) => h('th', c, hd));
    T.entities.forEach((e, k) => {
      const v = T.votes.find((x) => x.type === e.type && x.start === e.start && x.end === e.end - 1);
      const r = h('tr', undefined, tb); r.dataset.entity = e.by; entRows[k] = r;
      h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r); h('td', fmt(e.score, 3), r, 'num');
      h('td', e.by === 'centre' ? 'its centre cell c:0 (' + e.start + ', ' + (e.end - 1) + ')' : 'votes: ' + (v ? v.startVotes.length + ' start, ' + v.endVotes.length + ' end' : '?'), r);
      const on = () => select(T.types.indexOf(e.type), e.start, e.end - 1);
      r.addEventListener('mouseenter', on); r.addEventListener('click', on);
    });
  }

  // The layer table: the text output's rows.
  h('h3', 'Layer table', root);
  const sc = h('div', undefined, root, 'scroll');
  const lt = h('table', undefined, sc, 'layers'); lt.dataset.layerTable = '';
  const lh = h('tr', undefined, lt); DATA.layerHead.forEach((c) => h('th', c, lh));
  T.layers.forEach((row) => { const r = h('tr', undefined, lt); if (row[8] !== '0') r.className = 'bad'; row.forEach((c) => h('td', c, r)); });

  // Start on the first entity, so the arrows show without a click.
  const e0 = T.entities.find((e) => e.by === 'votes') || T.entities[0];
  if (e0) select(T.types.indexOf(e0.type), e0.start, e0.end - 1);
}

const tracesDiv = document.getElementById('traces');
DATA.traces.forEach((T, i) => { const sec = h('section', undefined, tracesDiv, 'trace'); sec.dataset.trace = String(i); });
DATA.traces.forEach((T, i) => renderTrace(tracesDiv.children[i], T, i));

// Two models: their entities side by side in one table first.
if (DATA.traces.length === 2) {
  const [A, B] = DATA.traces, box = document.getElementById('compare');
  h('h2', 'Two models, the same words and settings', box);
  const key = (e) => e.type + ',' + e.start + ',' + e.end;
  const all = new Map();
  for (const e of [...A.entities, ...B.entities]) if (!all.has(key(e))) all.set(key(e), e);
  const tb = h('table', undefined, box); tb.dataset.compareTable = '';
  const hr = h('tr', undefined, tb); ['entity', 'type', 'words [start, end)', A.label || 'first', B.label || 'second'].forEach((c) => h('th', c, hr));
  [...all.values()].sort((x, y) => x.start - y.start || x.end - y.end || x.type.localeCompare(y.type)).forEach((e) => {
    const r = h('tr', undefined, tb);
    h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r);
    for (const T of [A, B]) { const f = T.entities.find((x) => key(x) === key(e)); h('td', f ? fmt(f.score, 2) + ' (' + f.by + ')' : '–', r, f ? 'yes' : 'no'); }
  });
  if (!all.size) h('p', 'Neither model finds an entity.', box, 'note');
}
</script>
</body></html>
`;
}
