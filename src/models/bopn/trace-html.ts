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
import { renderTracePage, SPAN_PAGE, type TracePage, type TracePageOptions } from '../../ner/trace-page.js';
import type { Trace } from './trace.js';

export type TraceHtmlOptions = TracePageOptions<Trace>;

const PAGE: TracePage<Trace> = {
  model: 'BOPN',
  /** What the page's script reads of one trace besides the common fields. */
  data(t) {
    if (t.kind !== 'bopn') throw new Error(`bopn trace page: a '${String((t as { kind?: unknown }).kind)}' trace cannot be drawn as BOPN's`);
    return { labels: t.labels, window: t.window, options: t.options, grids: t.grids, votes: t.votes, entities: t.entities };
  },
  css: `${SPAN_PAGE.css}
.ent.votes { border-style: dashed; }
.votes tr[data-vote] { cursor: pointer; } .votes tr.on td { background: #fff3b0; }
.votes .fam { font: 12px ui-monospace, monospace; min-width: 14em; } .yes { color: #1b7a1b; font-weight: 600; } .no { color: #999; }`,
  heading: "BOPN: how one sentence's offset-label grid became its entities",
  howto: [
    `<b>The grid.</b> For every entity type the model labels every pair of words (i, j): row i is a start word, column j an end word. Each cell gets one label (the argmax; its probability is the shade of the cell).`,
    `<b>What a label means.</b> <code>c:0</code> at (i, j) says words i..j are an entity (a <i>centre</i> cell). <code>s:w</code> at (i, j) says the entity's start is w words away: the entity is (i − w, j). <code>e:w</code> says its end is w words away: the entity is (i, j − w). <code>none</code>: no entity near. w runs over ±1..±S, S being the window (S is given above each trace); a label whose span would leave the sentence or end before it starts votes for nothing.`,
    `<b>Decoding</b> reads only the upper triangle and the diagonal (j ≥ i; the lower triangle is greyed). Mode <code>centres</code> keeps the c:0 cells only; <code>offsets</code> also keeps every span at least one s/e label votes for; <code>votes</code> keeps the centres and every span with at least S votes from one family (S start votes or S end votes). The threshold, and the overlap filter where it is on, then decide which are kept.`,
    `<b>Heatmap colours</b> are label families, not types: <span style="color:#c2185b">■ centre c:0</span>, <span style="color:#1565c0">■ start offsets s:w</span>, <span style="color:#e65100">■ end offsets e:w</span>, <span style="color:#9e9e9e">■ none</span>; pale is a low probability, deep a high one (none cells stay pale, so the labels stand out). Hover a cell for its label and probability; click it to see the span it votes for.`,
    `<b>Votes.</b> Hover or click a voted span (in the table, or an entity in the sentence) and its voting cells are outlined in the grid with arrows into the cell (start, end) they vote for; the row and column words light up. Entity bars under the sentence: solid border from a centre cell, dashed from votes alone; type colours mean types only.`,
    `<b>Layer table</b>: every module call (the text output's table): a NaN (rows in red), a LayerNorm output whose std is far from 1, or an output that is all alike is where to look.`,
  ],
  script: `${SPAN_PAGE.script}

// Type colours mean types only; the grid's colours mean label families.
const FAMILY = { c: '#c2185b', s: '#1565c0', e: '#e65100', none: '#9e9e9e' };
const FAMILY_NAME = { c: 'centre', s: 'start offset', e: 'end offset', none: 'none' };
const LOWER = '#dcdcdc';
const fmt = (v, d) => Number(v).toFixed(d);
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

function renderTrace(root, T, ti) {
  const n = T.tokens.length, S = T.window, O = T.options;
  const width = Math.max(420, root.clientWidth || 1100);
  if (T.label) h('h2', T.label, root);
  const centres = T.entities.filter((e) => e.by === 'centre').length;
  h('p', 'S = ' + S + ' (offsets ±1..±' + S + '), decoding ' + O.decoding + (O.decoding === 'votes' ? ' (≥ ' + S + ' votes of one family)' : '') + ', threshold ' + O.threshold + ', ' + O.mode + ' filtering' + (O.overlapFilter ? ', overlap filter on' : '') + '. ' + T.entities.length + ' entities: ' + centres + ' from centre cells, ' + (T.entities.length - centres) + ' from offset votes alone; ' + T.votes.length + ' spans voted for.', root, 'note');
  const legend = h('p', undefined, root, 'legend');
  T.types.forEach((ty) => { const s = h('span', undefined, legend); const i = h('i', undefined, s); i.style.background = colour(ty); s.appendChild(document.createTextNode(ty)); });

  // Selection: one span (type, start, end inclusive) lit in the sentence, its grid, the votes and entities tables.
  const { lit, drawn, clear } = selection();
  let sent, grids = [], voteRows = [], entRows = [], selText;
  function select(y, start, end) {
    clear();
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
  sent = sentence(root, T, select, (e) => e.type + ': "' + e.text + '" words [' + e.start + ', ' + e.end + '), score ' + fmt(e.score, 3) + ', from ' + (e.by === 'centre' ? 'its centre cell c:0' : 'offset votes alone'), (e) => 'ent' + (e.by === 'votes' ? ' votes' : ''));
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
    const { rows, cols } = gridAxes(svg, T.tokens, L, Top, cs, rot);
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

  layerTable(root, 'Layer table', T.layers);

  // Start on the first entity, so the arrows show without a click.
  const e0 = T.entities.find((e) => e.by === 'votes') || T.entities[0];
  if (e0) select(T.types.indexOf(e0.type), e0.start, e0.end - 1);
}`,
  compare: `  h('h2', 'Two models, the same words and settings', box);
  compareEntities(box, A, B, (f) => (f ? [fmt(f.score, 2) + ' (' + f.by + ')', 'yes'] : ['–', 'no']));`,
};

export function renderTraceHtml(t: Trace, o: TraceHtmlOptions = {}): string {
  return renderTracePage(PAGE, t, o);
}
