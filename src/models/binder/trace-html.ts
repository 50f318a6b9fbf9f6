/**
 * BINDER's trace as one self-contained, offline HTML page that shows how the span-by-type similarities
 * became the entities: a few lines on how to read it; the sentence with its entities drawn as bars under
 * the words (nested ones in their own lanes, coloured by type, the score on hover); per type, the span
 * score matrix as a heatmap over (start word, end word) pairs in diverging colours around the type's
 * threshold (the [CLS] cell's score, written above the map): warm above it, cool below, the lower triangle
 * and the spans wider than the width limit greyed, entities outlined solid and spans the flat read-out
 * dropped outlined dashed; under it each word's start and end scores as bars from the [CLS] position's
 * own; a table of every span that beat its threshold (and the nearest below it) with its fate and why:
 * kept, dropped for sharing a word with a span of higher score (named), too wide, below the threshold;
 * the entities and why each was kept; and the layer table (the rows the text output prints). With a
 * second trace (`compare`: the same words and settings through another model) the two are drawn side by
 * side. No external resources: the traces are embedded as JSON and drawn by a small inline script.
 */
import { renderTracePage, SPAN_PAGE, type TracePage, type TracePageOptions } from '../../ner/trace-page.js';
import type { Trace } from './trace.js';

export type TraceHtmlOptions = TracePageOptions<Trace>;

const PAGE: TracePage<Trace> = {
  model: 'BINDER',
  /** What the page's script reads of one trace besides the common fields. */
  data(t) {
    if (t.kind !== 'binder') throw new Error(`binder trace page: a '${String((t as { kind?: unknown }).kind)}' trace cannot be drawn as BINDER's`);
    if (!t.perType.every((p) => Array.isArray(p.spans) && Array.isArray(p.start))) throw new Error('binder trace page: the trace has no span score matrices (a trace from an older version?); trace the sentence again');
    return { typeInputs: t.typeInputs, descriptions: t.descriptions, options: t.options, scales: t.scales, perType: t.perType, entities: t.entities };
  },
  css: `${SPAN_PAGE.css}
svg [data-start-bar], svg [data-end-bar] { cursor: pointer; }
td.num { font-variant-numeric: tabular-nums; }
.heat svg { display: block; } .heat h4 .thr { font-weight: 400; color: #444; margin-left: 8px; }
.decisions tr[data-decision] { cursor: pointer; } .decisions tr.on td { background: #fff3b0; }
.kept { color: #1b7a1b; font-weight: 600; } .overlap { color: #b35900; font-weight: 600; } .wide, .below { color: #777; }
.legend i.ramp { display: inline-block; width: 160px; height: 12px; vertical-align: -1px; margin: 0 6px; border: 1px solid #ccc; }`,
  heading: "BINDER: how one sentence's span-type similarities became its entities",
  howto: [
    `<b>The scores.</b> A text encoder reads [CLS] + the words, a type encoder reads each type's description (or the type has a free vector). Every span (i, j) of the words and every type get a vector; the span's score for the type is e<sup>θ</sup> × their cosine (θ is learnt; e<sup>θ</sup> is given above each trace). Words i and j alone are compared with the type the same way for the start and end scores.`,
    `<b>The threshold</b> is each type's own: the score of the text's [CLS] cell (0, 0), which the threshold loss trains to lie above every span that is not an entity of the type. A span is an entity candidate when its <i>margin</i> span(i, j) − span(0, 0) is above logit(φ) (0 at the default φ = 0.5); its score is σ(margin), so above φ.`,
    `<b>Heatmaps</b>, one per type: row i is the start word, column j the end word. The colour is the margin less logit(φ): <span style="color:#b2182b">■ warm: above the threshold</span>, <span style="color:#2166ac">■ cool: below it</span>, white at it. The lower triangle (j &lt; i, not a span) and the spans longer than the width limit (never read) are greyed. A solid black outline is an entity; a dashed one a span above the threshold that the flat read-out dropped; a dotted one a greyed span too wide to be read though above the threshold. Hover a cell for its scores; click it to see why it was kept or not.`,
    `<b>Start and end bars</b> under each map: each word's start and end score for the type, drawn up (warm) or down (cool) from the [CLS] position's own start and end score. They are trained by the same losses but the read-out uses only the span scores: they show where the model thinks entities of the type begin and end.`,
    `<b>The read-out.</b> Nested data keeps every span above its threshold (a span may take several types). Flat data goes greedily by span score (the raw score, not the margin; ties by start, end, type) and accepts a span unless it shares a word with one accepted before. The table lists every span above its threshold with its fate and why (kept; dropped for sharing a word with a span of higher score, which it names; too wide), and the nearest spans below it.`,
    `<b>Layer table</b>: every module call (the text output's table): a NaN (rows in red), a LayerNorm output whose std is far from 1, or an output that is all alike is where to look.`,
  ],
  script: `${SPAN_PAGE.script}

// Type colours mean types only; the heatmaps' warm and cool mean above and below the threshold.
const WARM = [178, 24, 43], COOL = [33, 102, 172], MID = [247, 247, 247], LOWER = '#dcdcdc', WIDE = '#ececec';
const fmt = (v, d) => (v === null || v === undefined ? 'n/a' : Number(v).toFixed(d));
const sgn = (v, d) => (v >= 0 ? '+' : '') + fmt(v, d);
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
// logit(φ), as decode.ts marginCut.
const marginCut = (p) => (p <= 0 ? -Infinity : p >= 1 ? Infinity : Math.log(p / (1 - p)));
// Diverging: v > 0 warm, v < 0 cool, 0 white; |v| / scale sets the depth.
function diverging(v, scale) {
  if (!Number.isFinite(v)) return v > 0 ? 'rgb(' + WARM.join(',') + ')' : 'rgb(' + COOL.join(',') + ')';
  const t = Math.pow(Math.min(1, Math.abs(v) / (scale || 1)), 0.75), to = v >= 0 ? WARM : COOL;
  return 'rgb(' + MID.map((m, c) => Math.round(m + (to[c] - m) * t)).join(',') + ')';
}
const FATE = { kept: 'KEPT', overlap: 'dropped', wide: 'too wide', below: 'below threshold' };
const FATE_ORDER = { kept: 0, overlap: 1, wide: 2, below: 3 };

function renderTrace(root, T, ti) {
  const n = T.tokens.length, O = T.options, W = O.maxSpanWidth, cut = marginCut(O.threshold);
  const centre = Number.isFinite(cut) ? cut : 0, flat = O.mode === 'flat';
  const width = Math.max(420, root.clientWidth || 1100);
  const words = (i, j) => T.tokens.slice(i, j + 1).join(' ');
  const inWidth = (i, j) => j - i < W;
  // A span dropped for the same span of another type.
  const same = (x) => x.by && x.by.start === x.start && x.by.end === x.end;
  // Per type: the spans above the cut (with their fates) by "i,j", and what a cell is.
  const aboveAt = T.perType.map((P) => new Map(P.above.map((x) => [x.start + ',' + x.end, x])));
  const fateOf = (y, i, j) => {
    if (j < i) return 'lower';
    const m = T.perType[y].spans[i * n + j] - T.perType[y].threshold;
    if (!(m > cut)) return 'below';
    if (!inWidth(i, j)) return 'wide';
    const x = aboveAt[y].get(i + ',' + j);
    return x ? x.fate : 'overlap';
  };
  // What a span of type y is, in words: its scores and its fate.
  function explain(y, i, j) {
    const P = T.perType[y], type = T.types[y];
    if (j < i) return type + ' (' + i + ', ' + j + '): the lower triangle, not a span (the end word comes before the start word).';
    const raw = P.spans[i * n + j], m = raw - P.threshold, fate = fateOf(y, i, j), x = aboveAt[y].get(i + ',' + j);
    const head = type + ' [' + i + ', ' + j + '] "' + words(i, j) + '": span score ' + fmt(raw, 2) + ', threshold span(0,0) ' + fmt(P.threshold, 2) + ', margin ' + sgn(m, 2) +
      (fate === 'below' ? ' not above' : ' > ') + ' logit(φ) = ' + sgn(cut, 2) + ', score σ = ' + fmt(sigmoid(m), 3) + ' → ';
    if (fate === 'kept') return head + 'an entity: above its threshold' + (flat ? ', and no span accepted before it (for a higher span score) shares a word with it' : ' (the nested read-out keeps every such span)') + '.';
    if (fate === 'overlap') return head + 'dropped: ' + (x && x.by ? (same(x) ? 'the same span was accepted first as ' + x.by.type : 'it shares a word with "' + x.by.text + '" [' + x.by.start + ', ' + x.by.end + '] ' + x.by.type + ', accepted first') + ' for its higher span score ' + fmt(x.by.raw, 2) + '.' : 'the read-out did not keep it.');
    if (fate === 'wide') return head + 'never read: ' + (j - i + 1) + ' words, wider than the limit of ' + W + '.';
    return head + 'not an entity: below the threshold' + (inWidth(i, j) ? '' : ' (and wider than ' + W + ' words)') + '.';
  }

  if (T.label) h('h2', T.label, root);
  const aboveN = T.perType.reduce((a, P) => a + P.above.length, 0), dropped = T.perType.reduce((a, P) => a + P.above.filter((x) => x.fate === 'overlap').length, 0);
  const wideN = T.perType.reduce((a, P) => a + P.wideCount, 0);
  h('p', 'e^θ: span ' + fmt(T.scales.span, 2) + ', start ' + fmt(T.scales.start, 2) + ', end ' + fmt(T.scales.end, 2) + '; type vectors from ' + T.typeInputs + '. φ = ' + O.threshold + ' (margin > logit(φ) = ' + sgn(cut, 2) + '), at most ' + W + ' words, ' + O.mode + ' read-out. ' +
    aboveN + ' spans beat their threshold: ' + T.entities.length + ' kept' + (flat ? ', ' + dropped + ' dropped for overlapping a span of higher score' : '') + (wideN ? '; ' + wideN + ' more beat it but are too wide' : '') + '.', root, 'note').dataset.summary = '';
  const legend = h('p', undefined, root, 'legend');
  T.types.forEach((ty, y) => {
    const s = h('span', undefined, legend); const i = h('i', undefined, s); i.style.background = colour(ty); s.appendChild(document.createTextNode(ty));
    if (T.descriptions && T.descriptions[y]) s.title = T.descriptions[y];
  });

  // Selection: one span (type y, start, end inclusive) lit in the sentence, its heatmap and the tables.
  const { lit, drawn, clear } = selection();
  let sent, maps = [], decisionRows = [], entRows = [], selText;
  function select(y, i, j) {
    clear();
    if (y < 0) return;
    const type = T.types[y];
    for (let w = Math.min(i, j); w <= Math.max(i, j); w++) lit(sent.words[w], 'on');
    T.entities.forEach((e, k) => { if (e.type === type && e.start === i && e.end === j + 1) { lit(sent.bars[k], 'on'); if (entRows[k]) lit(entRows[k], 'on'); } });
    decisionRows.forEach((r) => { if (r.dataset.type === type && r.dataset.span === i + ',' + j) lit(r, 'on'); });
    const box = (g, a, b, stroke, dash, tag) => { const c = g.at(a, b); drawn(el('rect', { x: c.x + 1, y: c.y + 1, width: g.cs - 3, height: g.cs - 3, fill: 'none', stroke, 'stroke-width': 3, 'stroke-dasharray': dash, [tag]: '' }, g.overlay)); };
    const g = maps[y];
    if (g) { lit(g.rows[i], 'on'); lit(g.cols[j], 'on'); box(g, i, j, '#ffd400', '', 'data-target'); }
    const x = aboveAt[y].get(i + ',' + j);
    if (x && x.by) { const by = maps[T.types.indexOf(x.by.type)]; if (by) box(by, x.by.start, x.by.end, '#ff00aa', '5 3', 'data-blocker'); }
    selText.textContent = explain(y, i, j);
  }

  h('h3', 'The sentence and its entities', root);
  sent = sentence(root, T, select, (e) => e.type + ': "' + e.text + '" words [' + e.start + ', ' + e.end + '), score σ(margin) = ' + fmt(e.score, 3) + ', margin ' + sgn(e.margin, 2) + ' (span score ' + fmt(e.raw, 2) + ')');
  selText = h('p', 'Hover or click an entity, a heatmap cell or a row of the tables.', root, 'sel'); selText.dataset.selection = '';

  // The colour scale: one per trace, so the types compare.
  let scale = 1e-6, barScale = 1e-6;
  T.perType.forEach((P) => {
    for (let i = 0; i < n; i++) for (let j = i; j < n && inWidth(i, j); j++) { const v = Math.abs(P.spans[i * n + j] - P.threshold - centre); if (Number.isFinite(v)) scale = Math.max(scale, v); }
    for (let i = 0; i < n; i++) barScale = Math.max(barScale, Math.abs(P.start[i] - P.startThreshold) || 0, Math.abs(P.end[i] - P.endThreshold) || 0);
  });

  h('h3', 'Span scores per type against the threshold (row = start word, column = end word)', root);
  const fl = h('p', undefined, root, 'legend');
  const r0 = h('span', undefined, fl); r0.appendChild(document.createTextNode('margin − logit(φ): ' + sgn(-scale, 2)));
  const ramp = h('i', undefined, r0, 'ramp'); ramp.style.background = 'linear-gradient(to right, ' + [-1, -0.5, 0, 0.5, 1].map((v) => diverging(v * scale, scale)).join(', ') + ')';
  r0.appendChild(document.createTextNode(sgn(scale, 2) + ' (white: at the threshold)'));
  const lo = h('span', undefined, fl); h('i', undefined, lo).style.background = LOWER; lo.appendChild(document.createTextNode('lower triangle (not a span)'));
  const wi = h('span', undefined, fl); h('i', undefined, wi).style.background = WIDE; wi.appendChild(document.createTextNode('wider than ' + W + ' words (never read)'));
  const ke = h('span', undefined, fl); const kb = h('i', undefined, ke); kb.style.border = '2px solid #111'; ke.appendChild(document.createTextNode('entity'));
  if (flat) { const dr = h('span', undefined, fl); const db = h('i', undefined, dr); db.style.border = '2px dashed #111'; dr.appendChild(document.createTextNode('above, dropped by the flat read-out')); }
  const heatBox = h('div', undefined, root, 'scroll');
  const maxW = T.tokens.reduce((m, w) => Math.max(m, Math.min(12, w.length)), 5);
  const L = Math.max(76, 14 + maxW * 7), cs = Math.max(22, Math.min(44, Math.floor((Math.min(width, 1100) / Math.min(2, T.types.length) - L - 40) / n)));
  const rot = T.tokens.some((w) => Math.min(12, w.length) * 6.5 > cs), Top = rot ? 16 + maxW * 5 : 22;
  const font = Math.max(8, Math.min(11, Math.floor(cs / 3.4)));
  T.perType.forEach((P, y) => {
    const wrap = h('div', undefined, heatBox, 'heat');
    wrap.dataset.type = P.type;
    const hd = h('h4', P.type, wrap); hd.style.color = colour(P.type);
    const thr = h('span', 'threshold span(0,0) = ' + fmt(P.threshold, 2), hd, 'thr'); thr.dataset.threshold = String(P.threshold);
    const svg = el('svg', { width: L + n * cs + 8, height: Top + n * cs + 8, 'data-heatmap': P.type }, wrap);
    // The corner holds the threshold, the [CLS] cell (0, 0) every cell is measured against.
    const cls = txt(svg, L - 6, Top - 6, '[CLS] ' + fmt(P.threshold, 2), { 'text-anchor': 'end', class: 'axis' });
    el('title', {}, cls).textContent = P.type + ': the [CLS] cell (0, 0) scores ' + fmt(P.threshold, 4) + ': the threshold every span of the type must beat by more than logit(φ) = ' + sgn(cut, 2);
    const { rows, cols } = gridAxes(svg, T.tokens, L, Top, cs, rot);
    const marks = el('g', { 'pointer-events': 'none' });
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const raw = P.spans[i * n + j], m = raw - P.threshold, fate = fateOf(y, i, j), lower = j < i, wide = !lower && !inWidth(i, j);
      const g = el('g', { 'data-cell': i + ',' + j, 'data-fate': fate, 'data-margin': String(m) }, svg);
      if (lower) g.dataset.lower = '';
      if (wide) g.dataset.wide = '';
      const x = L + j * cs, yy = Top + i * cs;
      el('rect', { x, y: yy, width: cs - 1, height: cs - 1, fill: lower ? LOWER : wide ? WIDE : diverging(m - centre, scale) }, g);
      if (!lower && !wide && cs >= 26) txt(g, x + cs / 2 - 0.5, yy + cs / 2 + font / 3, fmt(m, 1), { 'text-anchor': 'middle', style: 'font-size:' + font + 'px', fill: Math.abs(m - centre) / scale > 0.6 ? '#fff' : '#333' });
      if (fate === 'kept' || fate === 'overlap' || fate === 'wide') el('rect', { x: x + 1, y: yy + 1, width: cs - 3, height: cs - 3, fill: 'none', stroke: fate === 'wide' ? '#b2182b' : '#111', 'stroke-width': fate === 'kept' ? 2.5 : 1.8, 'stroke-dasharray': fate === 'kept' ? '' : fate === 'overlap' ? '4 2' : '1.5 2', 'data-mark': fate }, marks);
      el('title', {}, g).textContent = lower ? explain(y, i, j) : P.type + ' (' + i + ', ' + j + ') "' + words(i, j) + '"\\nspan score ' + fmt(raw, 3) + ' − threshold ' + fmt(P.threshold, 3) + ' = margin ' + sgn(m, 3) + ', σ = ' + fmt(sigmoid(m), 3) + '\\n' + (fate === 'kept' ? 'an entity' : fate === 'overlap' ? 'above the threshold, dropped by the flat read-out' : fate === 'wide' ? 'above the threshold, but wider than ' + W + ' words' : wide ? 'wider than ' + W + ' words (never read)' : 'below the threshold');
      g.addEventListener('click', () => select(y, i, j));
    }
    svg.appendChild(marks);
    const overlay = el('g', { 'data-overlay': '', 'pointer-events': 'none' }, svg);
    maps[y] = { rows, cols, overlay, cs, at: (i, j) => ({ x: L + j * cs, y: Top + i * cs }) };

    // Each word's start and end score, from the [CLS] position's own, under the word's column.
    const BH = 34, bars = el('svg', { width: L + n * cs + 8, height: 2 * (2 * BH + 10) + 6, 'data-bars': P.type }, wrap);
    [['start', P.start, P.startThreshold], ['end', P.end, P.endThreshold]].forEach(([which, vals, base], r) => {
      const mid = r * (2 * BH + 10) + BH + 4;
      txt(bars, L - 6, mid - 3, which, { 'text-anchor': 'end', class: 'axis' });
      const zl = txt(bars, L - 6, mid + 10, '[CLS] ' + fmt(base, 2), { 'text-anchor': 'end', class: 'axis', style: 'font-size:9px' });
      el('title', {}, zl).textContent = 'the [CLS] position\\'s ' + which + ' score for ' + P.type + ': ' + fmt(base, 4) + ' (the bars start here)';
      el('line', { x1: L, x2: L + n * cs, y1: mid, y2: mid, stroke: '#999', 'stroke-width': 1 }, bars);
      vals.forEach((v, i) => {
        const d = v - base, hgt = Math.max(1, Math.min(1, Math.abs(d) / barScale) * BH);
        const b = el('rect', { x: L + i * cs + cs * 0.2, y: d >= 0 ? mid - hgt : mid, width: cs * 0.6, height: hgt, fill: diverging(d >= 0 ? barScale : -barScale, barScale), 'data-value': String(v) }, bars);
        b.setAttribute(which === 'start' ? 'data-start-bar' : 'data-end-bar', String(i));
        el('title', {}, b).textContent = P.type + ' ' + which + ' score of "' + T.tokens[i] + '" (word ' + i + '): ' + fmt(v, 3) + ', the [CLS] ' + which + ' score ' + fmt(base, 3) + ' (' + sgn(d, 3) + ')';
        b.addEventListener('click', () => select(y, i, i));
      });
    });
  });

  // Every span above its threshold, the too-wide ones and the nearest below: the fate of each, and why.
  h('h3', 'Spans above their threshold, and what became of them', root);
  const list = [];
  T.perType.forEach((P, y) => { for (const x of [...P.above, ...P.wide, ...P.below]) list.push({ x, y, P }); });
  list.sort((a, b) => FATE_ORDER[a.x.fate] - FATE_ORDER[b.x.fate] || b.x.margin - a.x.margin);
  const more = T.perType.filter((P) => P.wideCount > P.wide.length).map((P) => P.type + ': ' + (P.wideCount - P.wide.length) + ' more too wide');
  if (!list.length) h('p', 'No span to show.', root, 'note');
  else {
    const sc = h('div', undefined, root, 'scroll');
    const tb = h('table', undefined, sc, 'decisions'); tb.dataset.decisionsTable = '';
    const hr = h('tr', undefined, tb); ['fate', 'type', 'span [start, end]', 'words', 'span score', 'threshold', 'margin', 'σ(margin)', 'why'].forEach((c) => h('th', c, hr));
    list.forEach(({ x, y, P }) => {
      const r = h('tr', undefined, tb); r.dataset.decision = x.fate; r.dataset.type = P.type; r.dataset.span = x.start + ',' + x.end; decisionRows.push(r);
      h('td', FATE[x.fate], r, x.fate);
      h('td', P.type, r).style.color = colour(P.type);
      h('td', '[' + x.start + ', ' + x.end + ']', r); h('td', x.text, r);
      h('td', fmt(x.raw, 2), r, 'num'); h('td', fmt(P.threshold, 2), r, 'num'); h('td', sgn(x.margin, 2), r, 'num'); h('td', fmt(x.score, 3), r, 'num');
      const why = x.fate === 'kept' ? 'margin ' + sgn(x.margin, 2) + ' > ' + sgn(cut, 2) + (flat ? '; no span accepted before it shares a word with it' : '; nested: every span above is kept')
        : x.fate === 'overlap' ? (x.by ? (same(x) ? 'the same span, accepted first as ' + x.by.type : 'overlaps "' + x.by.text + '" [' + x.by.start + ', ' + x.by.end + '] ' + x.by.type + ', accepted first') + ' (span score ' + fmt(x.by.raw, 2) + ' > ' + fmt(x.raw, 2) + ')' : 'the read-out did not keep it')
        : x.fate === 'wide' ? (x.end - x.start + 1) + ' words, wider than ' + W + ': never read'
        : 'margin ' + sgn(x.margin, 2) + ' not above logit(φ) = ' + sgn(cut, 2);
      h('td', why, r).dataset.why = '';
      const on = () => select(y, x.start, x.end);
      r.addEventListener('mouseenter', on); r.addEventListener('click', on);
    });
  }
  if (more.length) h('p', more.join('; ') + ' (not listed).', root, 'note');

  // The entities, and why each was kept.
  h('h3', 'Entities', root);
  if (!T.entities.length) h('p', 'No entity: no span beat its type\\'s threshold by more than logit(φ) = ' + sgn(cut, 2) + ' within ' + W + ' words.', root, 'note');
  else {
    const tb = h('table', undefined, root, 'ents');
    const hd = h('tr', undefined, tb); ['entity', 'type', 'words [start, end)', 'span score', 'threshold', 'margin', 'score σ(margin)', 'why it was kept'].forEach((c) => h('th', c, hd));
    T.entities.forEach((e, k) => {
      const y = T.types.indexOf(e.type), P = T.perType[y];
      const blocked = T.perType.flatMap((Q) => Q.above.filter((x) => x.by && x.by.type === e.type && x.by.start === e.start && x.by.end === e.end - 1).map((x) => '"' + x.text + '" ' + Q.type));
      const r = h('tr', undefined, tb); r.dataset.entity = e.type; entRows[k] = r;
      h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r);
      h('td', fmt(e.raw, 2), r, 'num'); h('td', fmt(P.threshold, 2), r, 'num'); h('td', sgn(e.margin, 2), r, 'num'); h('td', fmt(e.score, 3), r, 'num');
      h('td', 'margin ' + sgn(e.margin, 2) + ' > logit(φ) = ' + sgn(cut, 2) + (flat ? '; no span accepted before it (for a higher span score) shares a word with it' + (blocked.length ? '; it blocked ' + blocked.join(', ') : '') : '; the nested read-out keeps every span above its threshold'), r);
      const on = () => select(y, e.start, e.end - 1);
      r.addEventListener('mouseenter', on); r.addEventListener('click', on);
    });
  }

  layerTable(root, 'Layer table', T.layers);

  // Start on a dropped span (it names what blocked it), else the first entity.
  const d0 = list.find((d) => d.x.fate === 'overlap'), e0 = T.entities[0];
  if (d0) select(d0.y, d0.x.start, d0.x.end);
  else if (e0) select(T.types.indexOf(e0.type), e0.start, e0.end - 1);
}`,
  compare: `  h('h2', 'Two models, the same words and settings', box);
  compareEntities(box, A, B, (f) => (f ? [fmt(f.score, 2) + ' (margin ' + sgn(f.margin, 2) + ')', 'kept'] : ['–', 'below']));`,
};

export function renderTraceHtml(t: Trace, o: TraceHtmlOptions = {}): string {
  return renderTracePage(PAGE, t, o);
}
