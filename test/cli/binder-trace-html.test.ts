/**
 * BINDER's trace page (`trace --html` for the binder kind), checked as a string and in a real browser
 * (Debian's chromium, headless, as ../shared/reference/machine-notes.md starts it): no external
 * resources, a word `</script>` cannot close the script; it renders with no console errors and no
 * network; one heatmap per type with n × n cells coloured by the margin against the type's threshold
 * (warm above, cool below; the lower triangle and the spans wider than the limit greyed), the threshold
 * written per type; a start and an end bar per word; every entity a bar under the sentence; every span
 * above its threshold (and the nearest below) a row saying what became of it and why; the layer table as
 * the text output prints it; and with `compare` the two traces side by side. The traces: a tiny untrained
 * model's, and one built by hand from known scores (an entity kept, a span dropped by the flat read-out
 * for overlapping it, one of another type dropped the same way, one below its threshold, one too wide),
 * whose text trace is checked too. Screenshots go to test/output/binder-trace-*.png (git-ignored).
 */
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as T from '../../src/index.js';
import { Binder, binder, withDescriptions } from '../../src/models/binder/index.js';
import type { BinderConfig } from '../../src/models/binder/config.js';
import { decodeSpans, type SpanScores } from '../../src/models/binder/decode.js';
import { formatSummary, formatTrace, readOut, type Trace, traceSentence } from '../../src/models/binder/trace.js';
import { renderTraceHtml, type TraceHtmlOptions } from '../../src/models/binder/trace-html.js';
import type { FilterMode } from '../../src/ner/spans.js';
import { moduleTableRows } from '../../src/ner/trace.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { assertPageShell, assertSelfContained, chromiumMissing, NASTY, readTracePage, screenshot, withBrowser, withPage } from '../page-helpers.js';

const s = suite('BINDER trace HTML page');

/** A tiny untrained BINDER over `tokens` (PER, LOC with built-in descriptions; spans of at most 4 words). */
function tinyModel(tokens: string[], seed: number): Binder {
  const vocab = ['[PAD]', '[UNK]', ...new Set(tokens)];
  const c = withDescriptions({ vocab, hidden: 8, embedding: 6, types: ['PER', 'LOC'], linearSize: 5, spanWidths: 7, maxSpanWidth: 4 } as BinderConfig);
  return new Binder(c, { device: T.cpu, rng: new T.RNG(seed) });
}

const HAND_TOKENS = ['Ann', 'met', 'Bob', 'Smith', 'in', 'New', 'York', '.'];
const HAND_TYPES = ['PER', 'LOC'];

/**
 * A trace built by hand from known scores, read as the model's read-out reads them (decode.ts), through
 * the trace's own readOut. PER (threshold 1): "Bob Smith" 4 (an entity), "Smith" 2.5 (above, dropped:
 * it shares a word with Bob Smith), "Ann" 0.8 (margin −0.2, below), "New York" 2.7 (above, dropped: the
 * same span is kept as LOC, for its higher score). LOC (threshold 0.5): "New York" 3
 * (an entity), "Bob" 3.8 (above, dropped for Bob Smith PER, whose score 4 is higher), "in New York ."
 * 5 (above, but 4 words, wider than the limit 3). Every other span scores 2 below its threshold, less
 * 0.1 a word; the lower triangle scores 9 (no span: it must be ignored).
 */
function handTrace(mode: FilterMode = 'flat', threshold = 0.5): Trace {
  const n = HAND_TOKENS.length, M = HAND_TYPES.length, thresholds = Float32Array.from([1, 0.5]);
  const spans = new Float32Array(M * n * n);
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) spans[(k * n + i) * n + j] = j < i ? 9 : thresholds[k] - 2 - 0.1 * (j - i);
  const set = (k: number, i: number, j: number, v: number) => { spans[(k * n + i) * n + j] = v; };
  set(0, 2, 3, 4); set(0, 3, 3, 2.5); set(0, 0, 0, 0.8); set(0, 5, 6, 2.7);
  set(1, 5, 6, 3); set(1, 2, 2, 3.8); set(1, 4, 7, 5);
  const scores: SpanScores = { n, spans, thresholds, maxSpanWidth: 3 };
  const start = new Float32Array(M * n).fill(-0.5), end = new Float32Array(M * n).fill(-0.5);
  start[0 * n + 2] = 2; end[0 * n + 3] = 2; start[1 * n + 5] = 1.5; end[1 * n + 6] = 1.5; end[1 * n + 1] = -1.5;
  const options = { threshold, mode, maxSpanWidth: 3 };
  const kept = decodeSpans(scores, threshold, mode);
  return {
    kind: 'binder', tokens: [...HAND_TOKENS], types: [...HAND_TYPES], typeInputs: 'descriptions', descriptions: ['a person', 'a place'], options,
    scales: { start: 14.29, end: 14.29, span: 14.29 }, modules: [],
    ...readOut(HAND_TOKENS, HAND_TYPES, scores, { start, end, startCls: [0.25, 0], endCls: [0.25, 0] }, options, kept),
  };
}

const pageOf = (t: Trace, o: TraceHtmlOptions = {}) => renderTraceHtml(t, o);
const fates = (t: Trace) => t.perType.flatMap((p) => [...p.above, ...p.wide, ...p.below].map((x) => `${p.type} ${x.text} ${x.fate}${x.by ? ` by ${x.by.text} ${x.by.type}` : ''}`));

s('the hand-built trace reads as intended, and its text trace says why', () => {
  const t = handTrace();
  assert.equal(t.entities.map((e) => `${e.text}|${e.type}|${e.margin}`), ['Bob Smith|PER|3', 'New York|LOC|2.5']);
  assert.equal(fates(t), [
    'PER Bob Smith kept', 'PER New York overlap by New York LOC', 'PER Smith overlap by Bob Smith PER', 'PER Ann below', 'PER met below', 'PER Bob below',
    'LOC Bob overlap by Bob Smith PER', 'LOC New York kept', 'LOC in New York . wide', 'LOC Ann below', 'LOC met below', 'LOC Smith below',
  ]);
  const per = t.perType[0], loc = t.perType[1];
  assert.equal(per.above.map((x) => `${x.text} ${x.fate}`), ['Bob Smith kept', 'New York overlap', 'Smith overlap']);
  assert.equal(per.above[1].by, { start: 5, end: 6, type: 'LOC', text: 'New York', raw: 3 });
  assert.equal(per.above[2].by, { start: 2, end: 3, type: 'PER', text: 'Bob Smith', raw: 4 });
  assert.equal(per.below[0].text, 'Ann'); assert.is(per.below[0].fate, 'below');
  assert.ok(Math.abs(per.below[0].margin + 0.2) < 1e-6);
  assert.equal(loc.above.map((x) => `${x.text} ${x.fate}`), ['Bob overlap', 'New York kept']);
  assert.equal(loc.above[0].by, { start: 2, end: 3, type: 'PER', text: 'Bob Smith', raw: 4 });
  assert.equal(loc.wide.map((x) => `${x.text} ${x.fate}`), ['in New York . wide']); assert.is(loc.wideCount, 1);
  assert.is(per.spans.length, 64); assert.is(per.spans[2 * 8 + 3], 4); assert.is(per.threshold, 1);
  assert.equal(per.start.length, 8); assert.is(per.startThreshold, 0.25); assert.is(loc.end[6], 1.5);
  const text = formatTrace(t);
  assert.match(text, /PER: threshold span\(0,0\) = 1\.00; above \(margin\): "Bob Smith" \[2,3\] \+3\.00, "New York" \[5,6\] \+1\.70 \(dropped: the same span was kept first as LOC for its higher span score 3\.00\), "Smith" \[3,3\] \+1\.50 \(dropped: overlaps "Bob Smith" \[2,3\] PER, kept first for its higher span score 4\.00\); nearest below: "Ann" \[0,0\] -0\.20/);
  assert.match(text, /LOC: .*"Bob" \[2,2\] \+3\.30 \(dropped: overlaps "Bob Smith" \[2,3\] PER/);
  assert.match(text, /too wide \(over 3 words\): "in New York \." \[4,7\] \+4\.50/);
  assert.match(text, /entities: Bob Smith \[PER\] 0\.95 \(margin \+3\.00\), New York \[LOC\] 0\.92 \(margin \+2\.50\)/);
  assert.match(formatSummary(t), /5 spans beat their type's \[CLS\] threshold, 2 kept, 3 dropped for overlapping a span with a higher score/);
  // Nested: every span above is kept, nothing is blamed.
  const nested = handTrace('nested');
  assert.equal(nested.entities.map((e) => `${e.text}|${e.type}`), ['Bob|LOC', 'Bob Smith|PER', 'Smith|PER', 'New York|PER', 'New York|LOC']);
  assert.ok(nested.perType.every((p) => p.above.every((x) => x.fate === 'kept' && !x.by)));
});

s('no external resources; a `</script>` inside a word cannot break the page', () => {
  const t = handTrace();
  t.tokens = [...t.tokens]; t.tokens[1] = NASTY;
  const html = pageOf(t, { label: `a <b>label</b> ${NASTY}`, compare: { trace: handTrace(), label: NASTY } });
  const data = assertSelfContained(html, { urlIds: false });
  assert.is(data.traces[0].tokens[1], NASTY);
  assert.is(data.traces[1].label, NASTY);
  assert.ok(html.includes('<title>BINDER trace: Ann &lt;/script&gt;'), 'the title is escaped');
});

s('the registry\'s binder trace view draws this page; other traces are refused', () => {
  const t = handTrace();
  assert.is(binder.trace.html(t), pageOf(t));
  assert.is(binder.trace.html(t, { label: 'a', compare: { trace: t, label: 'b' } }), pageOf(t, { label: 'a', compare: { trace: t, label: 'b' } }));
  assert.throws(() => pageOf({ ...t, kind: 'bopn' } as unknown as Trace), /a 'bopn' trace cannot be drawn as BINDER's/);
});

/** 'rgb(r, g, b)' or 'rgb(r,g,b)' as numbers. */
const rgb = (c: string) => (/rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c) ?? []).slice(1).map(Number);

/** Opens the page of `trace` (and `o`), checks what every page must show, clicks `click` (a CSS selector) if given, screenshots it. */
async function checkPage(browser: Browser, trace: Trace, o: TraceHtmlOptions, name: string, width = 1200, click?: string) {
  return withPage(browser, pageOf(trace, o), width, async (tab, errors) => {
    const got = await readTracePage<{
      heatmaps: { type: string; cells: number; lower: number; wide: number; greyFills: string[]; fates: Record<string, string>; fills: Record<string, string>; marks: string[] }[];
      thresholds: string[]; heads: string[]; startBars: number[]; endBars: number[];
      bars: string[]; decisions: { fate: string; type: string; span: string; why: string }[]; entityRows: number; words: string[]; selection: string; summary: string;
    }>(tab, `
        heatmaps: all('[data-heatmap]', tr).map((m) => ({
          type: m.getAttribute('data-heatmap'),
          cells: all('[data-cell]', m).length,
          lower: all('[data-cell][data-lower]', m).length,
          wide: all('[data-cell][data-wide]', m).length,
          greyFills: [...new Set(all('[data-cell][data-lower] rect, [data-cell][data-wide] rect', m).map((r) => r.getAttribute('fill')))].sort(),
          fates: Object.fromEntries(all('[data-cell]', m).map((c) => [c.getAttribute('data-cell'), c.getAttribute('data-fate')])),
          fills: Object.fromEntries(all('[data-cell]', m).map((c) => [c.getAttribute('data-cell'), c.querySelector('rect').getAttribute('fill')])),
          marks: all('[data-mark]', m).map((r) => r.getAttribute('data-mark')).sort(),
        })),
        thresholds: all('[data-threshold]', tr).map((x) => x.getAttribute('data-threshold')),
        heads: all('.heat h4', tr).map((x) => x.textContent),
        startBars: all('[data-start-bar]', tr).map((b) => Number(b.getAttribute('data-value'))),
        endBars: all('[data-end-bar]', tr).map((b) => Number(b.getAttribute('data-value'))),
        bars: all('[data-entity-bar]', tr).map((b) => b.dataset.type + '|' + b.dataset.text),
        decisions: all('[data-decisions-table] tr[data-decision]', tr).map((r) => ({ fate: r.dataset.decision, type: r.dataset.type, span: r.dataset.span, why: r.querySelector('[data-why]').textContent })),
        entityRows: all('tr[data-entity]', tr).length,
        words: all('[data-word]', tr).map((w) => w.textContent),
        selection: tr.querySelector('[data-selection]').textContent,
        summary: tr.querySelector('[data-summary]').textContent,`);
    let after: { selection: string; targets: number; blockers: number } | null = null;
    if (click) {
      await tab.dispatchEvent(click, 'click');
      after = await tab.evaluate(`(() => ({
        selection: document.querySelector('[data-trace="0"] [data-selection]').textContent,
        targets: document.querySelectorAll('[data-trace="0"] [data-overlay] [data-target]').length,
        blockers: document.querySelectorAll('[data-trace="0"] [data-overlay] [data-blocker]').length,
      }))()`) as { selection: string; targets: number; blockers: number };
    }
    await screenshot(tab, name);
    const traces = [trace, ...(o.compare ? [o.compare.trace] : [])];
    assertPageShell(got, errors, { model: 'BINDER', howto: 5, traces: traces.length });
    got.traces.forEach((g, ti) => {
      const t = traces[ti], n = t.tokens.length, W = t.options.maxSpanWidth, what = `trace ${ti}`;
      let wide = 0;
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) if (j - i >= W) wide++;
      assert.equal(g.heatmaps.map((m) => m.type), t.types, `${what}: one heatmap per type`);
      assert.equal(g.thresholds.map(Number), t.perType.map((p) => p.threshold), `${what}: each type's threshold`);
      g.heads.forEach((hd, y) => assert.ok(hd.includes(`threshold span(0,0) = ${t.perType[y].threshold.toFixed(2)}`), hd));
      g.heatmaps.forEach((m, y) => {
        const P = t.perType[y];
        assert.is(m.cells, n * n, `${what} ${m.type}: n × n cells`);
        assert.is(m.lower, n * (n - 1) / 2, `${what} ${m.type}: lower triangle`);
        assert.is(m.wide, wide, `${what} ${m.type}: spans wider than ${W}`);
        assert.equal(m.greyFills, [...(n > 1 ? ['#dcdcdc'] : []), ...(wide ? ['#ececec'] : [])].sort(), `${what} ${m.type}: greyed`);
        // Each in-width span's colour says on which side of the threshold it lies, and entities are marked.
        for (let i = 0; i < n; i++) for (let j = i; j < n && j - i < W; j++) {
          const margin = P.spans[i * n + j] - P.threshold, cut = Math.log(t.options.threshold / (1 - t.options.threshold));
          const [r, , b] = rgb(m.fills[`${i},${j}`]), d = margin - (Number.isFinite(cut) ? cut : 0);
          if (Math.abs(d) > 1e-3) assert.ok(d > 0 ? r > b : b > r, `${what} ${m.type} (${i},${j}) margin ${margin}: fill ${m.fills[`${i},${j}`]}`);
          const fate = m.fates[`${i},${j}`], x = P.above.find((a) => a.start === i && a.end === j);
          assert.is(fate, x ? x.fate : 'below', `${what} ${m.type} (${i},${j}) fate`);
        }
        assert.equal(m.marks, [...P.above.map((x) => x.fate), ...Array(P.wideCount).fill('wide')].sort(), `${what} ${m.type}: marked cells`);
      });
      assert.equal(g.startBars, t.perType.flatMap((p) => p.start), `${what}: a start bar per word and type`);
      assert.equal(g.endBars, t.perType.flatMap((p) => p.end), `${what}: an end bar per word and type`);
      assert.equal(g.words, t.tokens, `${what}: the words, faithfully`);
      assert.equal([...g.bars].sort(), t.entities.map((e) => `${e.type}|${e.text}`).sort(), `${what}: entity bars`);
      assert.is(g.entityRows, t.entities.length, `${what}: entity rows`);
      assert.is(g.decisions.length, t.perType.reduce((a, p) => a + p.above.length + p.wide.length + p.below.length, 0), `${what}: a row per span above (and the nearest below)`);
      assert.is(g.decisions.filter((d) => d.fate === 'kept').length, t.entities.length, `${what}: kept rows`);
      assert.equal(g.layerRows, moduleTableRows(t.modules), `${what}: layer table`);
    });
    return { got, after };
  });
}

s('a hand-built trace: the page says which span was kept, which dropped and why', async () => {
  if (chromiumMissing()) return;
  const t = handTrace();
  await withBrowser(async (b) => {
    const { got, after } = await checkPage(b, t, { label: 'hand-built scores' }, 'binder-trace-hand.png', 1200, '[data-trace="0"] [data-heatmap="LOC"] [data-cell="2,2"]');
    const g = got.traces[0], row = (type: string, span: string) => g.decisions.find((d) => d.type === type && d.span === span)!;
    assert.equal(g.bars.sort(), ['LOC|New York', 'PER|Bob Smith']);
    assert.is(row('PER', '2,3').fate, 'kept');
    assert.match(row('PER', '3,3').why, /^overlaps "Bob Smith" \[2, 3\] PER, accepted first \(span score 4\.00 > 2\.50\)/);
    assert.match(row('LOC', '2,2').why, /^overlaps "Bob Smith" \[2, 3\] PER, accepted first \(span score 4\.00 > 3\.80\)/);
    assert.match(row('PER', '5,6').why, /^the same span, accepted first as LOC \(span score 3\.00 > 2\.70\)/);
    assert.is(row('PER', '0,0').fate, 'below');
    assert.match(row('PER', '0,0').why, /margin -0\.20 not above logit\(φ\) = \+0\.00/);
    assert.is(row('LOC', '4,7').fate, 'wide');
    assert.match(row('LOC', '4,7').why, /4 words, wider than 3/);
    const [per, loc] = g.heatmaps;
    assert.is(per.fates['2,3'], 'kept'); assert.is(per.fates['3,3'], 'overlap'); assert.is(per.fates['0,0'], 'below'); assert.is(per.fates['3,2'], 'lower');
    assert.is(loc.fates['4,7'], 'wide'); assert.is(loc.fates['5,6'], 'kept'); assert.is(loc.fates['2,2'], 'overlap');
    assert.equal(got.traces[0].thresholds, ['1', '0.5']);
    assert.match(g.summary, /5 spans beat their threshold: 2 kept, 3 dropped for overlapping a span of higher score; 1 more beat it but are too wide/);
    // The page opens on a dropped span; a click on LOC "Bob" explains it and outlines Bob Smith in PER's map.
    assert.match(after!.selection, /^LOC \[2, 2\] "Bob": span score 3\.80, threshold span\(0,0\) 0\.50, margin \+3\.30 > {2}logit\(φ\) = \+0\.00, score σ = 0\.964 → dropped: it shares a word with "Bob Smith" \[2, 3\] PER, accepted first for its higher span score 4\.00\./);
    assert.is(after!.targets, 1); assert.is(after!.blockers, 1);
  });
});

s('a tiny untrained model\'s page in headless Chromium; its start and end scores are the model\'s', async () => {
  if (chromiumMissing()) return;
  const tokens = ['Alice', 'flew', 'from', 'New', 'York', NASTY, 'to', 'Paris', '&', '.'];
  const model = tinyModel(tokens, 1);
  // φ low, so that the arbitrary scores make entities and the flat read-out drops some.
  const trace = await traceSentence(model, T.cpu, tokens, { threshold: 0.2, mode: 'flat' });
  assert.ok(trace.modules.length > 0);
  assert.ok(trace.entities.length > 0, 'the test wants entities');
  assert.ok(trace.perType.some((p) => p.above.some((x) => x.fate === 'overlap')), 'the test wants a dropped span');
  assert.ok(trace.perType.some((p) => p.wideCount > 0), 'the test wants a span too wide');
  // The start and end scores as the model gives them (position 0 the [CLS]).
  const b = model.batch([{ tokens }], T.cpu);
  const sc = noGrad(() => model.scores(b.parts[0], b.descriptions, true));
  const [st, en] = [await sc.start!.data(), await sc.end!.data()];
  sc.start!.dispose(); sc.end!.dispose(); sc.span.dispose(); model.disposeBatch(b);
  const n1 = tokens.length + 1, close = (a: number, z: number) => Math.abs(a - z) < 1e-5;
  trace.perType.forEach((p, k) => {
    assert.ok(close(p.startThreshold, st[k * n1]) && close(p.endThreshold, en[k * n1]), `${p.type}: [CLS] start and end`);
    p.start.forEach((v, i) => assert.ok(close(v, st[k * n1 + 1 + i]), `${p.type} start ${i}`));
    p.end.forEach((v, i) => assert.ok(close(v, en[k * n1 + 1 + i]), `${p.type} end ${i}`));
  });
  model.dispose();
  assert.match(formatTrace(trace), /dropped: overlaps/);
  await withBrowser(async (br) => {
    const { got } = await checkPage(br, trace, {}, 'binder-trace-tiny.png', 1200);
    assert.ok(got.traces[0].sentence.includes(NASTY));
    assert.match(got.traces[0].selection, /dropped: it shares a word with/);
  });
});

s('a one-word sentence with no entity draws its empty states', async () => {
  if (chromiumMissing()) return;
  const tokens = ['Hello'];
  const model = tinyModel(tokens, 3);
  const t = await traceSentence(model, T.cpu, tokens, { threshold: 1 });
  model.dispose();
  assert.is(t.entities.length, 0);
  await withBrowser(async (b) => { await checkPage(b, t, {}, 'binder-trace-empty.png', 900); });
});

s('two untrained models side by side (trace --compare)', async () => {
  if (chromiumMissing()) return;
  const tokens = 'Peter Blackburn of Reuters reported from Brussels .'.split(' ');
  const a = tinyModel(tokens, 1), b = tinyModel(tokens, 2);
  const settings = { threshold: 0.3, mode: 'nested' as const };
  const ta = await traceSentence(a, T.cpu, tokens, settings), tb = await traceSentence(b, T.cpu, tokens, settings);
  a.dispose(); b.dispose();
  const union = new Set([...ta.entities, ...tb.entities].map((e) => `${e.type},${e.start},${e.end}`));
  await withBrowser(async (br) => {
    const { got } = await checkPage(br, ta, { label: 'seed 1', compare: { trace: tb, label: 'seed 2' } }, 'binder-trace-compare.png', 1800);
    assert.is(got.compareRows, union.size + 1);
  });
});

s.run();
