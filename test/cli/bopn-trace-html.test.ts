/**
 * BOPN's trace page (`trace --html` for the bopn kind), checked as a string and in a real browser (Debian's
 * chromium, headless, as ../shared/reference/machine-notes.md starts it): no external resources, a word
 * `</script>` cannot close the script; it renders with no console errors and no network; one heatmap per
 * type with n × n cells (labels as the trace holds them, the lower triangle greyed); every entity a bar
 * under the sentence; every voted span a row of the votes table, and clicking one outlines its voting
 * cells with arrows into the voted cell; the layer table as the text output prints it; and with `compare`
 * the two traces side by side. The traces: a tiny untrained model's (arbitrary labels) and one built by
 * hand from a known grid (a centre entity, a nested entity found by votes alone, a stray vote that does
 * not pass), and a one-word sentence with neither. Screenshots go to test/output/bopn-trace-*.png (git-ignored).
 */
import type { Browser } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as T from '../../src/index.js';
import { bopn } from '../../src/models/bopn/index.js';
import { BOPN } from '../../src/models/bopn/model.js';
import { decodeOffsets, type OffsetDecoding, readGrid, votedIn } from '../../src/models/bopn/decode.js';
import { labelGrid, offsetLabels } from '../../src/models/bopn/labels.js';
import { type Trace, traceSentence } from '../../src/models/bopn/trace.js';
import { renderTraceHtml, type TraceHtmlOptions } from '../../src/models/bopn/trace-html.js';
import { moduleTableRows } from '../../src/ner/trace.js';
import { assertPageShell, assertSelfContained, chromiumMissing, NASTY, readTracePage, screenshot, withBrowser, withPage } from '../page-helpers.js';

const s = suite('BOPN trace HTML page');

/** A tiny untrained BOPN over `tokens` (PER, LOC; S = 2). */
function tinyModel(tokens: string[], seed: number): BOPN {
  const vocab = ['[PAD]', '[UNK]', ...new Set(tokens)];
  return new BOPN({ vocab, hidden: 8, embedding: 6, types: ['PER', 'LOC'], biaffine: 5, gridEmbedding: 3 }, { device: T.cpu, rng: new T.RNG(seed) });
}

/**
 * A trace built by hand from a known label grid, read as BOPN's decoding reads it (decode.ts): the gold grid
 * of `entities` with the centres of `dropCentres` set to none, plus `extra` cells, every labelled cell's
 * probability 0.9 (the extra cells' their own) and every none cell's 0.7.
 */
function handTrace(o: {
  tokens: string[]; types: string[]; entities: { start: number; end: number; type: number }[]; dropCentres: { start: number; end: number; type: number }[];
  extra: { type: number; i: number; j: number; label: string; p: number }[]; decoding: OffsetDecoding; threshold: number; S?: number;
}): Trace {
  const n = o.tokens.length, M = o.types.length, S = o.S ?? 2, labels = offsetLabels(S);
  const grid = labelGrid(n, o.entities, M, S), probs = new Float32Array(grid.length);
  const at = (y: number, i: number, j: number) => (y * n + i) * n + j;
  for (const d of o.dropCentres) { grid[at(d.type, d.start, d.end)] = 0; grid[at(d.type, d.end, d.start)] = 0; }
  for (let k = 0; k < grid.length; k++) probs[k] = grid[k] === 0 ? 0.7 : 0.9 - 0.05 * (k % 3);
  for (const x of o.extra) { grid[at(x.type, x.i, x.j)] = labels.indexOf(x.label); probs[at(x.type, x.i, x.j)] = x.p; }
  const spans = decodeOffsets(grid, n, M, S, o.decoding, probs).filter((x) => x.score >= o.threshold);
  const { centres, voted } = readGrid(grid, n, M, S, probs);
  const key = (v: { type: number; start: number; end: number }) => `${v.type},${v.start},${v.end}`;
  const centreKey = new Set(centres.map(key)), keptKey = new Set(spans.map(key));
  return {
    kind: 'bopn', tokens: o.tokens, types: o.types, labels, window: S, options: { decoding: o.decoding, overlapFilter: false, threshold: o.threshold, mode: 'nested' }, modules: [],
    grids: o.types.map((type, y) => ({ type, labels: Array.from(grid.subarray(y * n * n, (y + 1) * n * n)), probs: Array.from(probs.subarray(y * n * n, (y + 1) * n * n)) })),
    votes: voted.map((v) => ({ start: v.start, end: v.end, type: o.types[v.type], startVotes: v.startVotes, endVotes: v.endVotes, centre: centreKey.has(key(v)), kept: keptKey.has(key(v)) && (centreKey.has(key(v)) || votedIn(v, o.decoding, S)) })),
    entities: spans.map((c) => ({ start: c.start, end: c.end + 1, type: o.types[c.type], text: o.tokens.slice(c.start, c.end + 1).join(' '), score: c.score, by: centreKey.has(key(c)) ? 'centre' as const : 'votes' as const }))
      .sort((x, y) => x.start - y.start || x.end - y.end),
  };
}

/** 'Ann visited the Bank of New York today .': PER Ann (centre), ORG Bank of New York (centre), LOC New York nested in it (votes alone), a stray PER vote. */
const HAND = () => handTrace({
  tokens: ['Ann', 'visited', 'the', 'Bank', 'of', 'New', 'York', 'today', '.'], types: ['PER', 'ORG', 'LOC'],
  entities: [{ start: 0, end: 0, type: 0 }, { start: 3, end: 6, type: 1 }, { start: 5, end: 6, type: 2 }],
  dropCentres: [{ start: 5, end: 6, type: 2 }],
  // e:1 at (1, 2) votes for (1, 1) "visited": one end vote, fewer than S = 2, so not an entity.
  extra: [{ type: 0, i: 1, j: 2, label: 'e:1', p: 0.4 }],
  decoding: 'votes', threshold: 0.5,
});

const pageOf = (t: Trace, o: TraceHtmlOptions = {}) => renderTraceHtml(t, o);

s('the hand-built trace reads as intended', () => {
  const t = HAND();
  assert.equal(t.entities.map((e) => `${e.text}|${e.type}|${e.by}`), ['Ann|PER|centre', 'Bank of New York|ORG|centre', 'New York|LOC|votes']);
  const ny = t.votes.find((v) => v.type === 'LOC' && v.start === 5 && v.end === 6)!;
  assert.ok(ny.startVotes.length >= 2 && ny.endVotes.length >= 2 && ny.kept && !ny.centre);
  const stray = t.votes.find((v) => v.type === 'PER' && v.start === 1 && v.end === 1)!;
  assert.ok(stray && !stray.kept && stray.endVotes.length === 1);
});

s('no external resources; a `</script>` inside a word cannot break the page', () => {
  const t = HAND();
  t.tokens = [...t.tokens]; t.tokens[2] = NASTY;
  const html = pageOf(t, { label: `a <b>label</b> ${NASTY}`, compare: { trace: HAND(), label: NASTY } });
  const data = assertSelfContained(html, { urlIds: true });
  assert.is(data.traces[0].tokens[2], NASTY);
  assert.is(data.traces[1].label, NASTY);
  assert.ok(html.includes('<title>BOPN trace: Ann visited &lt;/script&gt;'), 'the title is escaped');
});

s('the registry\'s bopn trace view draws this page', () => {
  const t = HAND();
  assert.is(bopn.trace.html(t), pageOf(t));
  assert.is(bopn.trace.html(t, { label: 'a', compare: { trace: t, label: 'b' } }), pageOf(t, { label: 'a', compare: { trace: t, label: 'b' } }));
});

/** Opens the page of `trace` (and `o`), checks what every page must show, clicks `click` (a CSS selector) if given, screenshots it. */
async function checkPage(browser: Browser, trace: Trace, o: TraceHtmlOptions, name: string, width = 1200, click?: string) {
  return withPage(browser, pageOf(trace, o), width, async (tab, errors) => {
    const got = await readTracePage<{
      heatmaps: { type: string; cells: number; labels: string[]; lower: number; lowerFills: string[] }[];
      bars: string[]; voteRows: number; entityRows: number; words: string[]; selection: string;
    }>(tab, `
        heatmaps: all('[data-heatmap]', tr).map((m) => ({
          type: m.getAttribute('data-heatmap'),
          cells: all('[data-cell]', m).length,
          labels: all('[data-cell]', m).map((c) => c.getAttribute('data-label')),
          lower: all('[data-cell][data-lower]', m).length,
          lowerFills: [...new Set(all('[data-cell][data-lower] rect:first-of-type', m).map((r) => r.getAttribute('fill')))],
        })),
        bars: all('[data-entity-bar]', tr).map((b) => b.dataset.type + '|' + b.dataset.text),
        voteRows: all('[data-votes-table] tr[data-vote]', tr).length,
        entityRows: all('tr[data-entity]', tr).length,
        words: all('[data-word]', tr).map((w) => w.textContent),
        selection: tr.querySelector('[data-selection]').textContent,`);
    let overlay: { voters: string[]; arrows: number; targets: number } | null = null;
    if (click) {
      await tab.dispatchEvent(click, 'click');
      overlay = await tab.evaluate(`(() => {
        const all = (sel) => [...document.querySelectorAll(sel)];
        return { voters: all('[data-trace="0"] [data-overlay] [data-voter]').map((v) => v.getAttribute('data-voter')), arrows: all('[data-trace="0"] [data-overlay] [data-arrow]').length, targets: all('[data-trace="0"] [data-overlay] [data-target]').length };
      })()`) as { voters: string[]; arrows: number; targets: number };
    }
    await screenshot(tab, name);
    const traces = [trace, ...(o.compare ? [o.compare.trace] : [])];
    assertPageShell(got, errors, { model: 'BOPN', howto: 5, traces: traces.length });
    got.traces.forEach((g, ti) => {
      const t = traces[ti], n = t.tokens.length, what = `trace ${ti}`;
      assert.equal(g.heatmaps.map((m) => m.type), t.types, `${what}: one heatmap per type`);
      g.heatmaps.forEach((m, y) => {
        assert.is(m.cells, n * n, `${what} ${m.type}: n × n cells`);
        assert.equal(m.labels, t.grids[y].labels.map((l) => t.labels[l]), `${what} ${m.type}: cell labels`);
        assert.is(m.lower, n * (n - 1) / 2, `${what} ${m.type}: lower triangle`);
        assert.equal(m.lowerFills, n > 1 ? ['#dcdcdc'] : [], `${what} ${m.type}: the lower triangle greyed`);
      });
      assert.equal(g.words, t.tokens, `${what}: the words, faithfully`);
      assert.equal([...g.bars].sort(), t.entities.map((e) => `${e.type}|${e.text}`).sort(), `${what}: entity bars`);
      assert.is(g.entityRows, t.entities.length, `${what}: entity rows`);
      assert.is(g.voteRows, t.votes.length, `${what}: vote rows`);
      assert.equal(g.layerRows, moduleTableRows(t.modules), `${what}: layer table`);
    });
    return { got, overlay };
  });
}

s('a tiny untrained model\'s page in headless Chromium', async () => {
  if (chromiumMissing()) return;
  const tokens = ['Alice', 'flew', 'from', 'New', 'York', NASTY, '&', '.'];
  const model = tinyModel(tokens, 1);
  // `offsets` decoding and φ = 0, so the arbitrary labels make votes and entities.
  const trace = await traceSentence(model, T.cpu, tokens, { threshold: 0, mode: 'nested', inference: { decoding: 'offsets' } as never });
  model.dispose();
  assert.ok(trace.votes.length > 0 && trace.entities.length > 0, 'the test wants votes and entities');
  assert.ok(trace.modules.length > 0);
  await withBrowser(async (b) => {
    const { got, overlay } = await checkPage(b, trace, {}, 'bopn-trace-tiny.png', 1200, '[data-trace="0"] tr[data-vote="0"]');
    assert.ok(got.traces[0].sentence.includes(NASTY));
    const v = trace.votes[0];
    assert.is(overlay!.voters.length, v.startVotes.length + v.endVotes.length);
    assert.is(overlay!.targets, 1);
  });
});

s('a hand-built trace: centre and vote entities, nested, votes drawn as arrows on click', async () => {
  if (chromiumMissing()) return;
  const t = HAND();
  const k = t.votes.findIndex((v) => v.type === 'LOC' && v.start === 5 && v.end === 6);
  const v = t.votes[k];
  await withBrowser(async (b) => {
    const { got, overlay } = await checkPage(b, t, { label: 'hand-built grid' }, 'bopn-trace-hand.png', 1200, `[data-trace="0"] tr[data-vote="${k}"]`);
    // New York's start votes at (3,6), (4,6), (6,6); end votes at (5,5), (5,7), (5,8): six cells, six arrows.
    assert.equal(overlay!.voters.sort(), [...v.startVotes.map(() => 's'), ...v.endVotes.map(() => 'e')].sort());
    assert.is(overlay!.arrows, v.startVotes.length + v.endVotes.length);
    assert.is(overlay!.targets, 1);
    assert.equal(got.traces[0].bars.sort(), ['LOC|New York', 'ORG|Bank of New York', 'PER|Ann']);
    assert.ok(got.traces[0].selection.includes('New York'), got.traces[0].selection);
  });
});

s('a one-word sentence with no votes and no entities draws its empty states', async () => {
  if (chromiumMissing()) return;
  const t = handTrace({ tokens: ['Hello'], types: ['PER', 'LOC'], entities: [], dropCentres: [], extra: [], decoding: 'centres', threshold: 0 });
  assert.is(t.votes.length + t.entities.length, 0);
  await withBrowser(async (b) => { await checkPage(b, t, {}, 'bopn-trace-empty.png', 900); });
});

s('two untrained models side by side (trace --compare)', async () => {
  if (chromiumMissing()) return;
  const tokens = 'Peter Blackburn of Reuters reported from Brussels .'.split(' ');
  const a = tinyModel(tokens, 1), b = tinyModel(tokens, 2);
  const settings = { threshold: 0, mode: 'nested' as const, inference: { decoding: 'offsets' } as never };
  const ta = await traceSentence(a, T.cpu, tokens, settings), tb = await traceSentence(b, T.cpu, tokens, settings);
  a.dispose(); b.dispose();
  const union = new Set([...ta.entities, ...tb.entities].map((e) => `${e.type},${e.start},${e.end}`));
  await withBrowser(async (br) => {
    const { got } = await checkPage(br, ta, { label: 'seed 1', compare: { trace: tb, label: 'seed 2' } }, 'bopn-trace-compare.png', 1800);
    assert.is(got.compareRows, union.size + 1);
  });
});

s.run();
