/**
 * The trace page in a real browser (Debian's chromium, headless, as ../shared/reference/machine-notes.md
 * starts it): it renders with no console errors and no network, shows as many steps and spans as the
 * trace holds, and teaches: how-to lines, the noisy span beside the decoded one in indexed rows, a grey
 * probability scale with its bar (never a type's colour), labelled schedule axes, entities highlighted
 * whole, and the layer table. Screenshots go to test/output/trace-*.png (git-ignored): trace-tiny.png
 * (a tiny model), trace-plain.png (the bundled conll2003 model) and trace-compare.png (the bundled model
 * beside an untrained one of the same configuration, as `trace --compare` sets them).
 */
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { openModel } from '../../src/models/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { tablePhases, type Trace, traceSentence } from '../../src/models/diffusionner/trace.js';
import { renderTraceHtml, type TraceHtmlOptions } from '../../src/models/diffusionner/trace-html.js';
import { moduleTableRows } from '../../src/ner/trace.js';
import { assertNoErrors, chromiumMissing, readTracePage, screenshot, withBrowser, withPage } from '../page-helpers.js';

const s = suite('trace HTML page in headless Chromium');
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#6b8e23'];
const rgbOf = (hex: string) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;

/** Opens the page of `trace` (and `o`), checks what every page must show, screenshots it, and returns what it counted. */
async function checkPage(browser: Browser, trace: Trace, o: TraceHtmlOptions, name: string, width = 1200) {
  return withPage(browser, renderTraceHtml(trace, o), width, async (tab, errors) => {
    const got = await readTracePage<{
      steps: number; spansPerStep: number[]; indices: string[]; sideBySide: boolean; heatmaps: number; heatFills: string[]; scale: number; scaleText: string;
      axes: string[]; charts: string[]; entities: number; heads: string[]; track: string | null;
    }>(tab, `
        steps: all('[data-step]', tr).length,
        spansPerStep: all('[data-step]', tr).map((e) => e.querySelectorAll('[data-span]').length),
        // Row #k of every step is labelled #k.
        indices: all('[data-step]', tr).map((e) => all('[data-index]', e).map((x) => x.textContent).join(',')),
        sideBySide: all('[data-step]', tr).every((e) => e.textContent.includes('noisy span read') && e.textContent.includes('decoded span')),
        heatmaps: all('[data-heatmap]', tr).length,
        heatFills: [...new Set(all('[data-heatmap] rect', tr).map((r) => r.getAttribute('fill')).filter((f) => f !== 'none'))],
        scale: all('[data-scale]', tr).length,
        scaleText: all('[data-scale] text', tr).map((x) => x.textContent).join(' '),
        axes: all('[data-chart="schedule"] [data-axis]', tr).map((x) => x.textContent),
        charts: all('[data-chart]', tr).map((x) => x.getAttribute('data-chart')),
        entities: all('[data-entity]', tr).length,
        heads: all('[data-entity-head]', tr).map((e) => [...e.childNodes].filter((c) => c.nodeName !== 'SUB').map((c) => c.textContent).join('').trim()),
        track: tr.querySelector('[data-track]')?.getAttribute('data-track') ?? null,`);
    assertNoErrors(errors);
    // Clicking a span row follows that span through the steps.
    await tab.dispatchEvent('[data-trace="0"] [data-step="0"] [data-span="1"]', 'click');
    const followed = await tab.evaluate(`document.querySelector('[data-trace="0"] [data-track]').getAttribute('data-track')`);
    await screenshot(tab, name);
    assertNoErrors(errors);
    if (got.howto < 4) throw new Error(`${got.howto} lines on how to read the page`);
    if (followed !== '1') throw new Error(`clicking row #1 follows span ${followed}`);
    const traces = [trace, ...(o.compare ? [o.compare.trace] : [])];
    if (got.traces.length !== traces.length) throw new Error(`${got.traces.length} traces drawn, ${traces.length} given`);
    got.traces.forEach((g, i) => {
      const t = traces[i], K = t.options.proposals, what = `trace ${i}`;
      if (g.steps !== t.steps.length) throw new Error(`${what}: ${g.steps} steps drawn, trace has ${t.steps.length}`);
      if (g.spansPerStep.some((n) => n !== K)) throw new Error(`${what}: spans per step ${g.spansPerStep}, K = ${K}`);
      const want = Array.from({ length: K }, (_, k) => `#${k}`).join(',');
      if (g.indices.some((x) => x !== want)) throw new Error(`${what}: row indices ${g.indices[0]}`);
      if (!g.sideBySide) throw new Error(`${what}: a step without the noisy and decoded panels`);
      if (g.heatmaps !== 2 || g.scale !== 1 || !/\b0\b/.test(g.scaleText) || !/\b1\b/.test(g.scaleText)) throw new Error(`${what}: ${g.heatmaps} heatmaps, ${g.scale} scale bars (${g.scaleText})`);
      // Probabilities are greys; no cell wears a type's colour.
      const bad = g.heatFills.filter((f) => { const m = /^rgb\((\d+),(\d+),(\d+)\)$/.exec(f); return !m || m[1] !== m[2] || m[2] !== m[3]; });
      if (bad.length || g.heatFills.some((f) => PALETTE.some((p) => rgbOf(p).replace(/ /g, '') === f || p === f))) throw new Error(`${what}: heatmap fills ${bad.slice(0, 3)}`);
      if (g.axes.length !== 2 || !/step/.test(g.axes[0]!) || !/ᾱ/.test(g.axes[1]!)) throw new Error(`${what}: schedule axes ${JSON.stringify(g.axes)}`);
      if (!g.charts.includes('distance') || !g.charts.includes('changed')) throw new Error(`${what}: charts ${g.charts}`);
      if (g.entities !== t.entities.length) throw new Error(`${what}: ${g.entities} entity rows, trace has ${t.entities.length}`);
      if (JSON.stringify(g.heads) !== JSON.stringify([...t.entities].sort((a, b) => a.start - b.start).map((e) => e.text))) throw new Error(`${what}: sentence highlights ${JSON.stringify(g.heads)}, entities ${t.entities.map((e) => e.text)}`);
      if (JSON.stringify(g.layerRows) !== JSON.stringify(moduleTableRows(t.modules, tablePhases(t)))) throw new Error(`${what}: layer table of ${g.layerRows.length} rows differs from the text table's`);
      if (g.track === null) throw new Error(`${what}: no span followed through the steps`);
    });
    return got;
  });
}

s('a tiny model\'s page: every step and span, the teaching parts, escaped words, no console errors', async () => {
  if (chromiumMissing()) return;
  const tokens = ['Alice', 'flew', 'from', 'New', 'York', 'to', '<Paris>', '&', 'back', '.'];
  const vocab = ['[PAD]', '[UNK]', ...new Set(tokens)];
  const model = new DiffusionNER({ vocab, types: ['PER', 'LOC'], hidden: 16, lstmLayers: 1, proposals: 7, heads: 2, ffn: 16, dropout: 0 }, { device: T.cpu, rng: new T.RNG(13) });
  // An untrained classifier says None everywhere: bias it to PER, and take φ = 0, so spans are kept.
  // A zero left-pointer vector makes P(left) flat, so the left boundary is word 0 and spans are well-formed.
  model.decoder.classifier.l2.bias!.copyFrom([0, 5, 0]);
  model.decoder.leftPointer.w.copyFrom(new Float32Array(16));
  const trace = await traceSentence(model, T.cpu, tokens, { steps: 3, threshold: 0, mode: 'flat' });
  model.dispose();
  // (With seed 13 the kept span covers eight words, '<Paris> &' among them, and decoded spans change over the steps.)
  if (!trace.entities.some((e) => e.end - e.start > 1)) throw new Error('the test wants a multi-word entity');
  await withBrowser(async (b) => {
    const got = await checkPage(b, trace, {}, 'trace-tiny.png');
    if (!got.traces[0].sentence.includes('<Paris> &')) throw new Error(`sentence text not escaped faithfully: ${got.traces[0].sentence}`);
  });
});

s('the bundled model\'s page, and beside it an untrained model of its configuration (trace --compare)', async () => {
  if (chromiumMissing()) return;
  const tokens = 'Peter Blackburn of Reuters reported from Brussels .'.split(' ');
  const trained = await openModel('conll2003', T.cpu) as DiffusionNER;
  const fresh = new DiffusionNER({ ...trained.c }, { device: T.cpu, rng: new T.RNG(1) });
  const settings = { threshold: 1.5, mode: 'flat' as const, seed: 0 };
  const a = await traceSentence(trained, T.cpu, tokens, settings);
  const b = await traceSentence(fresh, T.cpu, tokens, settings);
  trained.dispose();
  fresh.dispose();
  if (!a.entities.some((e) => e.text === 'Peter Blackburn')) throw new Error(`bundled model's entities: ${a.entities.map((e) => e.text)}`);
  await withBrowser(async (br) => {
    await checkPage(br, a, { label: 'conll2003' }, 'trace-plain.png');
    const got = await checkPage(br, a, { label: 'conll2003', compare: { trace: b, label: 'untrained (same configuration)' } }, 'trace-compare.png', 1800);
    if (got.compareRows !== a.steps.length + 1) throw new Error(`comparison table of ${got.compareRows} rows`);
  });
});

s.run();
