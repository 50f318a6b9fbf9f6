/**
 * The trace as one self-contained, offline HTML page: the sentence; for every DDIM step the K spans
 * drawn over the words (noisy input as a grey tick, decoded span as a bar: kept in its type's colour,
 * filtered candidates outlined, the rest faint), so a reader sees them converge; per-span boundary-
 * probability heatmaps over the words for the chosen step; the final entities; the schedule (ᾱ per step).
 * No external resources: the trace is embedded as JSON and drawn by a small inline script.
 */
import type { Trace } from './trace.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));

export function renderTraceHtml(t: Trace): string {
  // Module records are left out of the page (the JSON has them); `<` is escaped so no string can close the script.
  const data = JSON.stringify({ tokens: t.tokens, types: t.types, options: t.options, steps: t.steps, entities: t.entities }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DiffusionNER trace: ${escapeHtml(t.tokens.join(' ').slice(0, 80))}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.sentence { font-size: 18px; } .ent { border-radius: 3px; padding: 0 3px; }
.step { margin: 10px 0 18px; } .step h3 { font-size: 13px; margin: 4px 0; font-weight: 600; }
svg text { font: 12px system-ui, sans-serif; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
th { text-align: left; } .legend span { margin-right: 14px; }
.heat { display: inline-block; margin-right: 24px; vertical-align: top; }
.controls button { margin-right: 4px; } .controls button.on { font-weight: bold; }
</style></head><body>
<h1>DiffusionNER: denoising trace</h1>
<p class="sentence" id="sentence"></p>
<p id="summary"></p>
<p class="legend" id="legend"></p>
<h2>Spans at each DDIM step</h2>
<p>Each row is one of the K proposals. Grey tick: the noisy span the decoder read; bar: the span it decoded (coloured and solid if kept, outlined if a candidate removed by filtering, faint if below φ).</p>
<div id="steps"></div>
<h2>Boundary probabilities</h2>
<div class="controls" id="controls"></div>
<div id="heatmaps"></div>
<h2>Final entities</h2>
<div id="entities"></div>
<h2>Schedule</h2>
<div id="schedule"></div>
<script type="application/json" id="trace">${data}</script>
<script>
'use strict';
const T = JSON.parse(document.getElementById('trace').textContent);
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const colour = (type) => palette[Math.max(0, T.types.indexOf(type)) % palette.length];
const NS = 'http://www.w3.org/2000/svg';
const el = (name, attrs, parent) => { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (parent) parent.appendChild(e); return e; };
const h = (tag, text, parent) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (parent) parent.appendChild(e); return e; };

// Sentence with the final entities highlighted.
const sent = document.getElementById('sentence');
T.tokens.forEach((w, i) => {
  const ent = T.entities.find((e) => i >= e.start && i < e.end);
  const s = h('span', w + ' ', sent);
  if (ent) { s.className = 'ent'; s.style.background = colour(ent.type) + '33'; s.title = ent.type; }
});
document.getElementById('summary').textContent = T.steps.length + ' DDIM steps, K = ' + T.options.proposals + ' spans, η = ' + T.options.eta + ', φ = ' + T.options.threshold + ', ' + T.options.mode + ' decoding, seed ' + T.options.seed;
const legend = document.getElementById('legend');
T.types.forEach((ty) => { const s = h('span', '■ ' + ty, legend); s.style.color = colour(ty); });

// Word columns shared by every drawing.
const W = Math.max(48, Math.min(110, Math.floor(1000 / T.tokens.length)));
const X0 = 40, rowH = 7;
function wordAxis(svg, y) {
  T.tokens.forEach((w, i) => {
    const t = el('text', { x: X0 + i * W + W / 2, y, 'text-anchor': 'middle' }, svg);
    t.textContent = w.length > 12 ? w.slice(0, 11) + '…' : w;
  });
}

const stepsDiv = document.getElementById('steps');
T.steps.forEach((st) => {
  const box = h('div', undefined, stepsDiv); box.className = 'step'; box.dataset.step = String(st.index);
  h('h3', 'step ' + (st.index + 1) + ' of ' + T.steps.length + ': t = ' + st.t + ' → ' + st.tNext + ', ᾱ = ' + st.alphaBar.toFixed(4) + '; kept ' + st.spans.filter((s) => s.kept).length + ', candidates ' + st.spans.filter((s) => s.candidate).length, box);
  const height = 22 + st.spans.length * rowH + 6;
  const svg = el('svg', { width: X0 + T.tokens.length * W + 10, height }, box);
  wordAxis(svg, 14);
  T.tokens.forEach((_, i) => el('line', { x1: X0 + i * W, x2: X0 + i * W, y1: 18, y2: height, stroke: '#f0f0f0' }, svg));
  st.spans.forEach((s, k) => {
    const y = 22 + k * rowH;
    const g = el('g', { 'data-span': String(k) }, svg);
    const title = el('title', {}, g);
    title.textContent = '#' + k + ' [' + s.left + ', ' + s.right + '] ' + s.type + '  P(l) ' + s.leftProb.toFixed(2) + '  P(r) ' + s.rightProb.toFixed(2) + '  P(type) ' + s.typeProb.toFixed(2) + (s.kept ? '  kept' : s.candidate ? '  filtered' : '  below φ');
    el('rect', { x: X0 + s.noisyLeft * W + W / 2 - 1, y: y + 1, width: Math.max(2, (s.noisyRight - s.noisyLeft) * W + 2), height: 2, fill: '#bbb' }, g);
    if (s.left <= s.right) {
      const c = s.type === 'None' ? '#999' : colour(s.type);
      el('rect', {
        x: X0 + s.left * W + 3, y: y, width: (s.right - s.left + 1) * W - 6, height: rowH - 2, rx: 2,
        fill: s.kept ? c : 'none', stroke: s.candidate ? c : '#ddd', 'stroke-width': s.candidate && !s.kept ? 1.2 : 0.6, opacity: s.kept || s.candidate ? 1 : 0.5,
      }, g);
    }
  });
});

// Heatmaps of P(left) and P(right) per span over the words, for the chosen step.
const controls = document.getElementById('controls'), heat = document.getElementById('heatmaps');
function drawHeat(stepIndex) {
  [...controls.children].forEach((b, i) => b.classList.toggle('on', i === stepIndex));
  heat.textContent = '';
  const st = T.steps[stepIndex];
  for (const [name, rows, hue] of [['P(left boundary)', st.leftProbs, '31,119,180'], ['P(right boundary)', st.rightProbs, '214,39,40']]) {
    const wrap = h('div', undefined, heat); wrap.className = 'heat';
    h('div', name + ', step ' + (stepIndex + 1), wrap);
    const cw = Math.max(14, Math.min(40, Math.floor(500 / T.tokens.length))), ch = 11;
    const svg = el('svg', { width: 40 + T.tokens.length * cw, height: 70 + rows.length * ch, 'data-heatmap': name }, wrap);
    T.tokens.forEach((w, i) => { const t = el('text', { x: 40 + i * cw + cw / 2, y: 60, transform: 'rotate(-45 ' + (40 + i * cw + cw / 2) + ' 60)' }, svg); t.textContent = w.slice(0, 10); });
    rows.forEach((r, k) => {
      const lab = el('text', { x: 2, y: 64 + k * ch + ch - 2, 'font-size': 9 }, svg); lab.textContent = '#' + k;
      r.forEach((p, i) => el('rect', { x: 40 + i * cw, y: 64 + k * ch, width: cw - 1, height: ch - 1, fill: 'rgba(' + hue + ',' + p.toFixed(3) + ')' }, svg));
    });
  }
}
T.steps.forEach((st, i) => { const b = h('button', 'step ' + (i + 1), controls); b.onclick = () => drawHeat(i); });
if (T.steps.length) drawHeat(T.steps.length - 1);

// Final entities.
const ents = document.getElementById('entities');
if (!T.entities.length) h('p', 'No entity passed the threshold.', ents);
else {
  const tb = h('table', undefined, ents);
  const hd = h('tr', undefined, tb); ['entity', 'type', 'words', 'score'].forEach((c) => h('th', c, hd));
  T.entities.forEach((e) => { const r = h('tr', undefined, tb); r.dataset.entity = ''; h('th', e.text, r).style.color = colour(e.type); h('td', e.type, r); h('td', '[' + e.start + ', ' + e.end + ')', r); h('td', e.score.toFixed(3), r); });
}

// Schedule: ᾱ at each step's t, as a table and a small chart.
const sch = document.getElementById('schedule');
const tb = h('table', undefined, sch);
const hr = h('tr', undefined, tb); ['step', 't', 'ᾱ(t)', 'next t', 'ᾱ(next)'].forEach((c) => h('th', c, hr));
T.steps.forEach((s) => { const r = h('tr', undefined, tb); [s.index + 1, s.t, s.alphaBar.toFixed(5), s.tNext, s.alphaBarNext.toFixed(5)].forEach((v) => h('td', String(v), r)); });
const svg = el('svg', { width: 320, height: 120 }, sch);
el('rect', { x: 30, y: 10, width: 280, height: 90, fill: 'none', stroke: '#ccc' }, svg);
const pts = T.steps.map((s, i) => (30 + (T.steps.length > 1 ? i / (T.steps.length - 1) : 0.5) * 280) + ',' + (100 - s.alphaBar * 90));
el('polyline', { points: pts.join(' '), fill: 'none', stroke: '#1f77b4', 'stroke-width': 2 }, svg);
pts.forEach((p) => { const [x, y] = p.split(','); el('circle', { cx: x, cy: y, r: 3, fill: '#1f77b4' }, svg); });
const lab = el('text', { x: 32, y: 115 }, svg); lab.textContent = 'ᾱ at each step (0 → 1 as noise is removed)';
</script>
</body></html>
`;
}
