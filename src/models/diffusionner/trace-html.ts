/**
 * The trace as one self-contained, offline HTML page that teaches how DiffusionNER reached its answer:
 * a few lines on how to read it; the sentence with its entities; how far the noisy spans lay from the
 * decoded ones at each step and how many decoded spans changed; for every DDIM step the K spans, the
 * noisy span the decoder read beside the span it decoded (row #k is the same proposal at every step);
 * one span followed through the steps; per-span boundary-probability heatmaps on a grey scale with its
 * bar (the type colours mean types only); the final entities; the schedule with labelled axes; and the
 * layer table (the rows the text output prints). With a second trace (`compare`: the same words, seed
 * and settings through another model, an earlier checkpoint say) the two are drawn side by side.
 * No external resources: the traces are embedded as JSON and drawn by a small inline script.
 */
import { renderTracePage, type TracePage, type TracePageOptions } from '../../ner/trace-page.js';
import { denoisingVerdict, tablePhases, type Trace } from './trace.js';

export type TraceHtmlOptions = TracePageOptions<Trace>;

const PAGE: TracePage<Trace> = {
  model: 'DiffusionNER',
  /** The steps, the entities and the verdict; the layer table lists the encoder and step 1. */
  data: (t) => ({ options: t.options, steps: t.steps, entities: t.entities, verdict: denoisingVerdict(t) }),
  layerPhases: tablePhases,
  css: `.sentence { font-size: 18px; line-height: 2; } .ent { border-radius: 4px; padding: 1px 4px; margin: 0 1px; border: 1px solid; }
.ent sub { font-size: 10px; font-weight: 600; margin-left: 3px; }
.step { margin: 6px 0 14px; } .step h4 { font-size: 13px; margin: 4px 0; font-weight: 600; }
svg text { font: 12px system-ui, sans-serif; } svg .small { font-size: 9px; fill: #555; } svg .axis { font-size: 11px; fill: #333; }
td, th { text-align: right; } th { text-align: left; }
.heat { display: inline-block; margin-right: 24px; vertical-align: top; }
.controls button { margin-right: 4px; } .controls button.on { font-weight: bold; background: #333; color: #fff; }
.verdict { background: #eef5ee; border-left: 4px solid #5a9a5a; padding: 4px 10px; }`,
  heading: 'DiffusionNER: how one sentence was denoised',
  howto: [
    `<b>What happens.</b> The model starts from K random spans (the noisy input). At each DDIM step the decoder reads every noisy span and predicts a clean one (a left and a right boundary word and a type); the sampler then moves the noisy spans part of the way towards those predictions (and adds fresh noise, η). After the last step the predictions whose P(left) + P(right) + P(type) exceeds φ are filtered into the entities.`,
    `<b>Spans at each step.</b> Row #k is the same proposal at every step. Left half: the noisy span the decoder read (grey); right half: the span it decoded (solid in its type's colour if kept, outlined if a candidate removed by filtering, dashed grey if below φ). Click a row to follow that span through the steps.`,
    `<b>Where the denoising shows.</b> A well-trained model is often sure from step 1: the right halves stay the same while the left halves converge on them (the distance chart falls). An uncertain sentence, or an earlier checkpoint set beside it (<code>--compare DIR</code>), shows decoded spans changing from step to step; <code>--start-t T</code> begins lower, so the noisy spans arrive within the trace.`,
    `<b>Heatmaps</b> show P(left boundary) and P(right boundary) of each span over the words, white 0 to black 1 (scale bar beside them); the magenta box marks the boundary of the noisy span the decoder read. A sure model puts all its probability on one word per row.`,
    `<b>Layer table</b>: every module call of the encoder and of step 1 (the text output's table): a NaN (rows in red), a LayerNorm output whose std is far from 1, or an output that is all alike is where to look.`,
  ],
  script: `// Probabilities use a grey scale; the type colours mean types only.
const grey = (p) => { const v = Math.round(252 - 235 * Math.min(1, Math.max(0, p))); return 'rgb(' + v + ',' + v + ',' + v + ')'; };
const NOISY = '#9aa0a6', MARK = '#e6007e';
const fmt = (v, d) => Number(v).toFixed(d);

// A small chart: x = the steps, y from 0 to yMax, with both axes labelled.
function chart(parent, o) {
  const w = o.width || 330, hgt = 170, L = 46, R = 12, Tp = 22, B = 52, pw = w - L - R, ph = hgt - Tp - B;
  const svg = el('svg', { width: w, height: hgt, 'data-chart': o.name }, parent);
  txt(svg, L, 14, o.title, { 'font-weight': 600 });
  el('rect', { x: L, y: Tp, width: pw, height: ph, fill: 'none', stroke: '#ccc' }, svg);
  const n = o.values.length, X = (i) => L + (n > 1 ? (i + 0.5) / n : 0.5) * pw, Y = (v) => Tp + ph - (o.yMax > 0 ? v / o.yMax : 0) * ph;
  o.yTicks.forEach((v) => { el('line', { x1: L - 4, x2: L, y1: Y(v), y2: Y(v), stroke: '#999' }, svg); txt(svg, L - 6, Y(v) + 4, String(v), { 'text-anchor': 'end', class: 'axis' }); });
  o.xLabels.forEach((s, i) => { const [a, b] = s.split('\\n'); txt(svg, X(i), Tp + ph + 14, a, { 'text-anchor': 'middle', class: 'axis' }); if (b) txt(svg, X(i), Tp + ph + 26, b, { 'text-anchor': 'middle', class: 'small' }); });
  txt(svg, L + pw / 2, hgt - 6, o.xTitle, { 'text-anchor': 'middle', class: 'axis', 'data-axis': 'x' });
  const yt = txt(svg, 12, Tp + ph / 2, o.yTitle, { 'text-anchor': 'middle', class: 'axis', 'data-axis': 'y', transform: 'rotate(-90 12 ' + (Tp + ph / 2) + ')' });
  if (o.bars) o.values.forEach((v, i) => { if (v !== null) el('rect', { x: X(i) - pw / n / 4, y: Y(v), width: pw / n / 2, height: Tp + ph - Y(v), fill: '#777' }, svg); });
  else {
    el('polyline', { points: o.values.map((v, i) => X(i) + ',' + Y(v)).join(' '), fill: 'none', stroke: '#333', 'stroke-width': 2 }, svg);
    o.values.forEach((v, i) => el('circle', { cx: X(i), cy: Y(v), r: 3.5, fill: '#333' }, svg));
  }
  o.values.forEach((v, i) => txt(svg, X(i), Y(v || 0) - 6, v === null ? '–' : o.bars ? String(v) : fmt(v, 2), { 'text-anchor': 'middle', class: 'small' }));
  return yt;
}
const niceMax = (v) => { for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]) if (v <= m) return m; return Math.ceil(v); };

// Word labels over columns from yTop down, rotated where the columns are narrow; returns the height used.
function wordAxis(svg, x0, w, yTop, tokens) {
  const rotate = tokens.some((word) => Math.min(14, word.length) * 7 > w);
  const y = yTop + (rotate ? 52 : 14);
  tokens.forEach((word, i) => {
    const x = x0 + i * w + w / 2, s = word.length > 14 ? word.slice(0, 13) + '…' : word;
    txt(svg, rotate ? x - 3 : x, y, s, rotate ? { transform: 'rotate(-40 ' + (x - 3) + ' ' + y + ')', 'text-anchor': 'start' } : { 'text-anchor': 'middle' });
  });
  return rotate ? 58 : 20;
}

// The sentence with its entities highlighted whole (nested ones inside the outer).
function sentence(parent, T) {
  const ents = [...T.entities].sort((a, b) => a.start - b.start || b.end - a.end);
  const fill = (into, start, end, pool) => {
    for (let i = start; i < end;) {
      const e = pool.find((x) => x.start === i && x.end <= end);
      if (e) {
        const s = h('span', undefined, into, 'ent');
        s.dataset.entityHead = e.type; s.title = e.type + ', score ' + fmt(e.score, 3);
        s.style.background = colour(e.type) + '26'; s.style.borderColor = colour(e.type);
        fill(s, i, e.end, pool.filter((x) => x !== e));
        const sub = h('sub', e.type, s); sub.style.color = colour(e.type);
        into.appendChild(document.createTextNode(' '));
        i = e.end;
      } else { into.appendChild(document.createTextNode(T.tokens[i] + (i + 1 < end ? ' ' : ''))); i++; }
    }
  };
  fill(parent, 0, T.tokens.length, ents);
}

function renderTrace(root, T, ti) {
  const width = Math.max(420, root.clientWidth || 1100), K = T.options.proposals, m = T.tokens.length, S = T.steps;
  if (T.label) h('h2', T.label, root);
  const sent = h('p', undefined, root, 'sentence'); sent.dataset.sentence = ''; sentence(sent, T);
  h('p', S.length + ' DDIM steps from t = ' + T.options.startT + (T.options.startT === T.options.timesteps - 1 ? ' (the top)' : ' (below the top: --start-t)') + ', K = ' + K + ' spans, η = ' + T.options.eta + ', φ = ' + T.options.threshold + ', ' + T.options.mode + ' filtering, seed ' + T.options.seed, root, 'note');
  const legend = h('p', undefined, root, 'legend');
  T.types.forEach((ty) => { const s = h('span', '■ ' + ty, legend); s.style.color = colour(ty); });
  const nl = h('span', '▬ noisy span read', legend); nl.style.color = NOISY;

  // Denoising at a glance.
  h('h3', 'Denoising at a glance', root);
  const glance = h('div', undefined, root);
  const xl = S.map((s) => (s.index + 1) + '\\nt=' + s.t), cw = Math.min(360, Math.floor((width - 20) / 2));
  const dMax = niceMax(Math.max(0.5, ...S.map((s) => s.distance)));
  chart(glance, { name: 'distance', width: cw, title: 'noisy span read → decoded span', values: S.map((s) => s.distance), yMax: dMax, yTicks: [0, dMax / 2, dMax], xLabels: xl, xTitle: 'DDIM step (timestep t)', yTitle: 'words apart (mean)' });
  chart(glance, { name: 'changed', width: cw, bars: true, title: 'decoded spans changed since the step before', values: S.map((s) => (s.index ? s.changed : null)), yMax: K, yTicks: [0, K], xLabels: xl, xTitle: 'DDIM step (timestep t)', yTitle: 'spans of ' + K });
  if (T.verdict) h('p', T.verdict, root, 'verdict');

  // The K spans at every step: the noisy span read (left) beside the decoded span (right).
  h('h3', 'Spans at each DDIM step', root);
  h('p', 'Left: the noisy span each row read; right: the span it decoded. Row numbers are the proposals #0..#' + (K - 1) + '; click a row to follow it below.', root, 'note');
  const IX = 34, GAP = 26, PW = Math.floor((width - IX - GAP - 10) / 2), W = PW / m, rowH = 9;
  const selected = { k: -1 };
  const rowsByK = [];
  S.forEach((st) => {
    const box = h('div', undefined, root, 'step'); box.dataset.step = String(st.index);
    h('h4', 'step ' + (st.index + 1) + ' of ' + S.length + ': t = ' + st.t + ' → ' + st.tNext + ', ᾱ = ' + fmt(st.alphaBar, 4) + '; kept ' + st.spans.filter((s) => s.kept).length + ', candidates ' + st.spans.filter((s) => s.candidate).length + '; noisy spans ' + fmt(st.distance, 2) + ' words from the decoded ones' + (st.index ? ', ' + st.changed + ' decoded spans changed' : ''), box);
    const svg = el('svg', { width: IX + 2 * PW + GAP + 4, height: 0 }, box);
    txt(svg, IX, 12, 'noisy span read (x_t)', { 'font-weight': 600 });
    txt(svg, IX + PW + GAP, 12, 'decoded span (x̂₀)', { 'font-weight': 600 });
    const axisH = Math.max(wordAxis(svg, IX, W, 18, T.tokens), wordAxis(svg, IX + PW + GAP, W, 18, T.tokens));
    const y0 = 18 + axisH + 2, height = y0 + K * rowH + 6;
    svg.setAttribute('height', height);
    for (const x0 of [IX, IX + PW + GAP]) for (let i = 0; i <= m; i++) el('line', { x1: x0 + i * W, x2: x0 + i * W, y1: y0 - 4, y2: height - 2, stroke: '#eee' }, svg);
    txt(svg, IX + PW + GAP / 2, y0 + K * rowH / 2, '→', { 'text-anchor': 'middle', fill: '#999' });
    st.spans.forEach((s, k) => {
      const y = y0 + k * rowH;
      const g = el('g', { 'data-span': String(k), cursor: 'pointer' }, svg);
      g.addEventListener('click', () => select(k));
      const hl = el('rect', { x: 0, y: y - 1, width: IX + 2 * PW + GAP, height: rowH, fill: 'transparent' }, g);
      (rowsByK[k] = rowsByK[k] || []).push(hl);
      el('title', {}, g).textContent = '#' + k + ': noisy [' + s.noisyLeft + ', ' + s.noisyRight + '] → [' + s.left + ', ' + s.right + '] ' + s.type + '  P(l) ' + fmt(s.leftProb, 2) + '  P(r) ' + fmt(s.rightProb, 2) + '  P(type) ' + fmt(s.typeProb, 2) + (s.kept ? '  kept' : s.candidate ? '  filtered' : '  below φ');
      txt(g, IX - 4, y + rowH - 2, '#' + k, { 'text-anchor': 'end', class: 'small', 'data-index': String(k) });
      const nL = Math.min(s.noisyLeft, s.noisyRight), nR = Math.max(s.noisyLeft, s.noisyRight);
      el('rect', { x: IX + nL * W + 2, y: y + 1, width: Math.max(3, (nR - nL + 1) * W - 4), height: rowH - 3, rx: 2, fill: NOISY }, g);
      const x0 = IX + PW + GAP;
      if (s.left <= s.right) {
        const c = s.type === 'None' ? '#999' : colour(s.type);
        el('rect', { x: x0 + s.left * W + 2, y: y + 0.5, width: Math.max(3, (s.right - s.left + 1) * W - 4), height: rowH - 2, rx: 2,
          fill: s.kept ? c : 'none', stroke: s.candidate ? c : '#999', 'stroke-width': s.candidate && !s.kept ? 1.2 : 0.8, 'stroke-dasharray': s.candidate ? 'none' : '3 2' }, g);
      } else txt(g, x0 + 4, y + rowH - 2, 'reversed [' + s.left + ', ' + s.right + ']', { class: 'small' });
    });
  });

  // One span through the steps.
  h('h3', 'One span through the steps', root);
  const pick = h('select', undefined, root); pick.dataset.trackPick = '';
  for (let k = 0; k < K; k++) { const last = S.length ? S[S.length - 1].spans[k] : null; h('option', '#' + k + (last ? ': ends as [' + last.left + ', ' + last.right + '] ' + last.type + (last.kept ? ', kept' : '') : ''), pick).value = String(k); }
  pick.addEventListener('change', () => select(Number(pick.value)));
  const track = h('div', undefined, root);
  function drawTrack(k) {
    track.textContent = '';
    const LX = 118, TW = Math.min(90, (width - LX - 20) / m), tr = el('svg', { width: LX + m * TW + 10, height: 0, 'data-track': String(k) }, track);
    const top = wordAxis(tr, LX, TW, 0, T.tokens) + 6, rh = 30;
    S.forEach((st, i) => {
      const s = st.spans[k], y = top + i * rh;
      txt(tr, 4, y + 12, 'step ' + (st.index + 1) + ' (t=' + st.t + ')', { class: 'axis' });
      const nL = Math.min(s.noisyLeft, s.noisyRight), nR = Math.max(s.noisyLeft, s.noisyRight);
      el('rect', { x: LX + nL * TW + 2, y: y + 2, width: Math.max(3, (nR - nL + 1) * TW - 4), height: 8, rx: 2, fill: NOISY }, tr);
      if (s.left <= s.right) {
        const c = s.type === 'None' ? '#999' : colour(s.type);
        el('rect', { x: LX + s.left * TW + 2, y: y + 13, width: Math.max(3, (s.right - s.left + 1) * TW - 4), height: 10, rx: 2, fill: s.kept ? c : 'none', stroke: c }, tr);
      }
    });
    tr.setAttribute('height', top + S.length * rh + 4);
    const s0 = S[0] && S[0].spans[k], sN = S.length && S[S.length - 1].spans[k];
    if (s0) h('p', 'Span #' + k + ': read noisy [' + s0.noisyLeft + ', ' + s0.noisyRight + '] at step 1 and [' + sN.noisyLeft + ', ' + sN.noisyRight + '] at step ' + S.length + '; decoded [' + s0.left + ', ' + s0.right + '] ' + s0.type + ' first and [' + sN.left + ', ' + sN.right + '] ' + sN.type + ' last (P(l) ' + fmt(sN.leftProb, 2) + ', P(r) ' + fmt(sN.rightProb, 2) + ', P(type) ' + fmt(sN.typeProb, 2) + ', ' + (sN.kept ? 'kept' : sN.candidate ? 'filtered' : 'below φ') + '). Grey: the noisy span read; coloured: the decoded span.', track, 'note');
  }
  function select(k) {
    if (selected.k >= 0) (rowsByK[selected.k] || []).forEach((r) => r.setAttribute('fill', 'transparent'));
    selected.k = k; (rowsByK[k] || []).forEach((r) => r.setAttribute('fill', '#fff3b0'));
    pick.value = String(k); drawTrack(k);
  }

  // Heatmaps of P(left) and P(right) per span over the words, for the chosen step, on the grey scale.
  h('h3', 'Boundary probabilities', root);
  const controls = h('div', undefined, root, 'controls'), heat = h('div', undefined, root);
  function drawHeat(si) {
    [...controls.children].forEach((b, i) => b.classList.toggle('on', i === si));
    heat.textContent = '';
    const st = S[si];
    const cellW = Math.max(14, Math.min(40, Math.floor((width / 2 - 150) / m))), ch = 9;
    for (const [name, rows, side] of [['P(left boundary)', st.leftProbs, 'noisyLeft'], ['P(right boundary)', st.rightProbs, 'noisyRight']]) {
      const wrap = h('div', undefined, heat, 'heat');
      h('div', name + ', step ' + (si + 1) + ' (t = ' + st.t + ')', wrap);
      const svg = el('svg', { width: 40 + m * cellW + 10, height: 0, 'data-heatmap': name }, wrap);
      const top = 4 + wordAxis(svg, 40, cellW, 0, T.tokens.map((w) => w.slice(0, 10)));
      svg.setAttribute('height', top + rows.length * ch + 4);
      rows.forEach((r, k) => {
        txt(svg, 36, top + k * ch + ch - 1, '#' + k, { 'text-anchor': 'end', class: 'small' });
        r.forEach((p, i) => el('rect', { x: 40 + i * cellW, y: top + k * ch, width: cellW - 1, height: ch - 1, fill: grey(p) }, svg));
        const n = st.spans[k][side];
        if (n >= 0 && n < m) el('rect', { x: 40 + n * cellW + 0.5, y: top + k * ch + 0.5, width: cellW - 2, height: ch - 2, fill: 'none', stroke: MARK, 'stroke-width': 1.2 }, svg);
      });
    }
    // The scale bar: 0 (white) to 1 (black).
    const wrap = h('div', undefined, heat, 'heat');
    h('div', 'probability', wrap);
    const sb = el('svg', { width: 90, height: 230, 'data-scale': '' }, wrap);
    for (let i = 0; i < 50; i++) el('rect', { x: 10, y: 12 + (49 - i) * 4, width: 18, height: 4.5, fill: grey(i / 49) }, sb);
    el('rect', { x: 10, y: 12, width: 18, height: 200, fill: 'none', stroke: '#999' }, sb);
    [[1, 12], [0.5, 112], [0, 212]].forEach(([v, y]) => { el('line', { x1: 28, x2: 33, y1: y, y2: y, stroke: '#666' }, sb); txt(sb, 36, y + 4, String(v), { class: 'axis' }); });
    el('rect', { x: 10, y: 220, width: 18, height: 8, fill: 'none', stroke: MARK, 'stroke-width': 1.2 }, sb);
    txt(sb, 32, 228, 'noisy', { class: 'small' });
  }
  S.forEach((st, i) => { const b = h('button', 'step ' + (i + 1), controls); b.onclick = () => drawHeat(i); });
  if (S.length) drawHeat(S.length - 1);

  // Final entities.
  h('h3', 'Final entities', root);
  if (!T.entities.length) h('p', 'No entity passed the threshold φ = ' + T.options.threshold + '.', root);
  else {
    const tb = h('table', undefined, root);
    const hd = h('tr', undefined, tb); ['entity', 'type', 'words [start, end)', 'P(l) + P(r) + P(type)'].forEach((c) => h('th', c, hd));
    T.entities.forEach((e) => { const r = h('tr', undefined, tb); r.dataset.entity = ''; h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r); h('td', fmt(e.score, 3), r); });
  }

  // Schedule: ᾱ at each step's t, as a chart with labelled axes and a table.
  h('h3', 'Schedule', root);
  const sch = h('div', undefined, root);
  chart(sch, { name: 'schedule', width: Math.min(420, width - 20), title: 'ᾱ(t): the share of the clean span in x_t (0 noise, 1 clean)', values: S.map((s) => s.alphaBar), yMax: 1, yTicks: [0, 0.5, 1], xLabels: xl, xTitle: 'DDIM step (timestep t)', yTitle: 'ᾱ(t)' });
  const tb = h('table', undefined, sch);
  const hr = h('tr', undefined, tb); ['step', 't', 'ᾱ(t)', 'next t', 'ᾱ(next)'].forEach((c) => h('th', c, hr));
  S.forEach((s) => { const r = h('tr', undefined, tb); [s.index + 1, s.t, fmt(s.alphaBar, 5), s.tNext, fmt(s.alphaBarNext, 5)].forEach((v) => h('td', String(v), r)); });

  layerTable(root, 'Layer table (encoder and step 1)', T.layers);

  const first = S.length ? S[S.length - 1].spans.findIndex((s) => s.kept) : -1;
  if (K) select(Math.max(0, first));
}`,
  compare: `  h('h2', 'Two models, the same words, seed and settings', box);
  const tb = h('table', undefined, box); tb.dataset.compareTable = '';
  const hr = h('tr', undefined, tb);
  ['step', 't', A.label + ': words apart', 'changed', 'kept', B.label + ': words apart', 'changed', 'kept'].forEach((c) => h('th', c, hr));
  for (let i = 0; i < Math.max(A.steps.length, B.steps.length); i++) {
    const r = h('tr', undefined, tb), a = A.steps[i], b = B.steps[i];
    [i + 1, (a || b).t].concat(...[a, b].map((s) => (s ? [fmt(s.distance, 2), s.index ? s.changed : '–', s.spans.filter((x) => x.kept).length] : ['', '', '']))).forEach((v) => h('td', String(v), r));
  }
  for (const T of [A, B]) h('p', T.label + ': ' + (T.entities.length ? T.entities.map((e) => e.text + ' [' + e.type + ']').join(', ') : 'no entities'), box);`,
};

export function renderTraceHtml(t: Trace, o: TraceHtmlOptions = {}): string {
  return renderTracePage(PAGE, t, o);
}
