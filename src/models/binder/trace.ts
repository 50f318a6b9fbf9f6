/**
 * A trace of one sentence through BINDER: every module's forward (shapes and statistics, values on
 * request), the logit scales θ, and per type: its threshold (the score of the text's [CLS] cell (0, 0)),
 * the whole span score matrix, the start and end scores of every word beside the [CLS] ones, the spans
 * above the threshold with their margins and what became of each (kept, or dropped by the flat read-out
 * for overlapping a span with a higher score, named), the spans above it that are too wide to be read,
 * and the nearest spans below it; then the entities the read-out keeps.
 */
import type { Device } from '../../tensor/device.js';
import { recordForwards, type ForwardRecord } from '../../nn/hooks.js';
import * as T from '../../ops/index.js';
import { tidy } from '../../tensor/scope.js';
import { noGrad } from '../../tensor/tensor.js';
import { DEFAULT_MODE } from '../../ner/defaults.js';
import { type FilterMode, overlaps } from '../../ner/spans.js';
import { formatModuleTable, moduleValuesFilter } from '../../ner/trace.js';
import { marginCut, type ScoredSpan, sigmoid, type SpanScores } from './decode.js';
import type { Binder } from './model.js';

/**
 * What became of a span: `kept` (an entity); `overlap` (above the threshold, but the flat read-out had
 * already accepted `by`, which shares a word with it and has a higher span score); `wide` (above the
 * threshold but longer than maxSpanWidth words, so never read); `below` (not above the threshold).
 */
export type SpanFate = 'kept' | 'overlap' | 'wide' | 'below';

/** A span that blocked another in the flat read-out: inclusive word indices, its type and raw span score. */
export interface Blocker { start: number; end: number; type: string; text: string; raw: number }

/** A span of a type (inclusive word indices) with its raw score, its margin over the type's threshold, its score sigmoid(margin) and its fate. */
export interface TracedSpan { start: number; end: number; text: string; raw: number; margin: number; score: number; fate: SpanFate; by?: Blocker }

/** One type's scores and spans. */
export interface TypeTrace {
  type: string;
  /** Its threshold span[k, 0, 0], the [CLS] cell's score. */
  threshold: number;
  /** span[k, i, j] for every pair of words, row-major n × n (cell (i, j) at i·n + j; the lower triangle j < i is no span). */
  spans: number[];
  /** start[k, i] and end[k, i] per word, and the [CLS] position's start[k, 0] and end[k, 0]: trained by the same losses, not read by the read-out. */
  start: number[]; end: number[]; startThreshold: number; endThreshold: number;
  /** The spans above logit(φ) that are at most maxSpanWidth words, best first, each kept or dropped. */
  above: TracedSpan[];
  /** The spans above logit(φ) that are longer than maxSpanWidth words, best first (at most WIDE_SHOWN), and how many there are. */
  wide: TracedSpan[]; wideCount: number;
  /** The best few width-limited spans not above logit(φ). */
  below: TracedSpan[];
}

export interface Trace {
  kind: 'binder';
  tokens: string[];
  types: string[];
  /** What each type's vector was read from: its description, or a free vector ('embeddings'). */
  typeInputs: string;
  descriptions: string[] | null;
  options: { threshold: number; mode: FilterMode; maxSpanWidth: number };
  /** e^θ of the start, end and span scores. */
  scales: { start: number; end: number; span: number };
  modules: ForwardRecord[];
  perType: TypeTrace[];
  /** The entities (end exclusive): score sigmoid(margin), margin = raw − the type's threshold. */
  entities: { start: number; end: number; type: string; text: string; score: number; margin: number; raw: number }[];
}

export interface TraceOptions { threshold?: number; mode?: FilterMode; dedupe?: boolean; values?: boolean | readonly string[] }

/** The spans below the cut shown per type. */
const NEAR_MISSES = 3;
/** The too-wide spans above the cut listed per type. */
const WIDE_SHOWN = 10;

/** Per type (M × n, row-major) the start and end scores of the words, and the [CLS] position's (M). */
export interface BoundaryScores { start: Float32Array | number[]; end: Float32Array | number[]; startCls: Float32Array | number[]; endCls: Float32Array | number[] }

/**
 * The per-type part and the entities of a trace, from a sentence's scores and the spans its read-out
 * kept (`kept`: inclusive word indices, type 0..M−1). Each span above the cut that was not kept is
 * traced to the span that blocked it, following the flat read-out's order (decode.ts flatGreedy).
 */
export function readOut(tokens: readonly string[], types: readonly string[], s: SpanScores, b: BoundaryScores, options: Trace['options'], kept: readonly { start: number; end: number; type: number }[]): Pick<Trace, 'perType' | 'entities'> {
  const n = s.n, M = types.length, cut = marginCut(options.threshold), W = s.maxSpanWidth;
  if (tokens.length !== n) throw new Error(`binder trace: ${tokens.length} words but scores over ${n}`);
  const words = (i: number, j: number) => tokens.slice(i, j + 1).join(' ');
  const key = (x: { start: number; end: number; type: number }) => `${x.type},${x.start},${x.end}`;
  const keptKeys = new Set(kept.map(key));
  const every: ScoredSpan[] = [];
  for (let k = 0; k < M; k++) for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    const raw = s.spans[(k * n + i) * n + j], margin = raw - s.thresholds[k];
    every.push({ start: i, end: j, type: k, raw, margin, score: sigmoid(margin) });
  }
  const inWidth = (x: ScoredSpan) => x.end - x.start < W, above = (x: ScoredSpan) => x.margin > cut;
  // The flat read-out's order; a span it did not keep is blamed on the first accepted span it overlaps.
  const blockers = new Map<string, ScoredSpan>();
  if (options.mode === 'flat') {
    const order = every.filter((x) => inWidth(x) && above(x)).sort((a, z) => z.raw - a.raw || a.start - z.start || a.end - z.end || a.type - z.type);
    const accepted: ScoredSpan[] = [];
    const span = (x: ScoredSpan) => ({ left: x.start, right: x.end, type: x.type });
    for (const c of order) {
      if (keptKeys.has(key(c))) { accepted.push(c); continue; }
      const by = accepted.find((a) => overlaps(span(a), span(c)));
      if (by) blockers.set(key(c), by);
    }
  }
  const traced = (x: ScoredSpan, fate: SpanFate): TracedSpan => {
    const by = blockers.get(key(x));
    return {
      start: x.start, end: x.end, text: words(x.start, x.end), raw: x.raw, margin: x.margin, score: x.score, fate,
      ...(fate === 'overlap' && by ? { by: { start: by.start, end: by.end, type: types[by.type], text: words(by.start, by.end), raw: by.raw } } : {}),
    };
  };
  const at = (a: ArrayLike<number>, i: number) => a[i];
  const perType = types.map((type, k): TypeTrace => {
    const mine = every.filter((x) => x.type === k).sort((a, z) => z.margin - a.margin);
    const wide = mine.filter((x) => !inWidth(x) && above(x));
    return {
      type, threshold: s.thresholds[k], spans: Array.from(s.spans.subarray(k * n * n, (k + 1) * n * n)),
      start: Array.from({ length: n }, (_, i) => at(b.start, k * n + i)), end: Array.from({ length: n }, (_, i) => at(b.end, k * n + i)),
      startThreshold: at(b.startCls, k), endThreshold: at(b.endCls, k),
      above: mine.filter((x) => inWidth(x) && above(x)).map((x) => traced(x, keptKeys.has(key(x)) ? 'kept' : 'overlap')),
      wide: wide.slice(0, WIDE_SHOWN).map((x) => traced(x, 'wide')), wideCount: wide.length,
      below: mine.filter((x) => inWidth(x) && !above(x)).slice(0, NEAR_MISSES).map((x) => traced(x, 'below')),
    };
  });
  const entities = kept.map((c) => {
    const raw = s.spans[(c.type * n + c.start) * n + c.end], margin = raw - s.thresholds[c.type];
    return { start: c.start, end: c.end + 1, type: types[c.type], text: words(c.start, c.end), score: sigmoid(margin), margin, raw };
  }).sort((x, y) => x.start - y.start || x.end - y.end || types.indexOf(x.type) - types.indexOf(y.type));
  return { perType, entities };
}

/** The start and end scores of one sentence (a forward of its own, outside the recorded one: the read-out does not use them). */
async function boundaryScores(model: Binder, device: Device, tokens: string[]): Promise<BoundaryScores> {
  const b = model.batch([{ tokens }], device), M = model.types.length, n = tokens.length, n1 = n + 1;
  try {
    const both = noGrad(() => tidy(() => {
      const s = model.scores(b.parts[0], b.descriptions, true);
      return T.concat([s.start!, s.end!], -1); // (1, M, 2n')
    }));
    const v = await both.data();
    both.dispose();
    const out = { start: new Float32Array(M * n), end: new Float32Array(M * n), startCls: new Float32Array(M), endCls: new Float32Array(M) };
    for (let k = 0; k < M; k++) {
      const row = k * 2 * n1;
      out.startCls[k] = v[row]; out.endCls[k] = v[row + n1];
      for (let i = 0; i < n; i++) { out.start[k * n + i] = v[row + 1 + i]; out.end[k * n + i] = v[row + n1 + 1 + i]; }
    }
    return out;
  } finally {
    model.disposeBatch(b);
  }
}

export async function traceSentence(model: Binder, device: Device, tokens: string[], o: TraceOptions = {}): Promise<Trace> {
  if (tokens.length === 0) throw new Error('trace: the sentence has no words');
  const options = { threshold: o.threshold ?? model.defaultThreshold, mode: o.mode ?? DEFAULT_MODE, maxSpanWidth: model.c.maxSpanWidth };
  const values = Array.isArray(o.values) ? moduleValuesFilter(o.values, [...model.namedModules()].map(([n]) => n)) : !!o.values;
  model.eval();
  const rec = recordForwards(model, { values });
  rec.phase('encode');
  const b = model.batch([{ tokens }], device);
  let scores;
  try {
    [scores] = await model.infer(b);
  } finally {
    model.disposeBatch(b);
  }
  const modules = await rec.finish();
  const boundaries = await boundaryScores(model, device, tokens);
  const kept = model.decode(scores, { threshold: options.threshold, mode: options.mode, dedupe: o.dedupe }).map((c) => ({ start: c.left, end: c.right, type: c.type - 1 }));
  const scale = async (t: typeof model.span_logit_scale) => Math.exp(await t.item());
  return {
    kind: 'binder', tokens, types: [...model.types], typeInputs: model.c.typeInputs, descriptions: model.c.typeInputs === 'descriptions' ? [...model.c.descriptions!] : null, options,
    scales: { start: await scale(model.start_logit_scale), end: await scale(model.end_logit_scale), span: await scale(model.span_logit_scale) }, modules,
    ...readOut(tokens, model.types, scores, boundaries, options, kept),
  };
}

const f = (v: number, digits = 2) => (v >= 0 ? '+' : '') + v.toFixed(digits);

/** Why a span above the cut was dropped, in words. */
export function dropReason(x: TracedSpan, o: Trace['options']): string {
  if (x.fate === 'overlap') {
    if (!x.by) return 'dropped by the read-out';
    return (x.by.start === x.start && x.by.end === x.end ? `the same span was kept first as ${x.by.type}` : `overlaps "${x.by.text}" [${x.by.start},${x.by.end}] ${x.by.type}, kept first`) + ` for its higher span score ${x.by.raw.toFixed(2)}`;
  }
  if (x.fate === 'wide') return `${x.end - x.start + 1} words, wider than ${o.maxSpanWidth}`;
  if (x.fate === 'below') return `margin ${f(x.margin)} not above logit(φ) = ${f(marginCut(o.threshold))}`;
  return 'kept';
}

/** Per type: its threshold, the spans above the cut with their margins (and why any was dropped), the too-wide ones, and the nearest below it. */
export function formatTypes(t: Trace): string {
  const list = (xs: TracedSpan[], why = false) => xs.map((x) => `"${x.text}" [${x.start},${x.end}] ${f(x.margin)}${why && x.fate !== 'kept' ? ` (dropped: ${dropReason(x, t.options)})` : ''}`).join(', ');
  return t.perType.map((p) => `  ${p.type}: threshold span(0,0) = ${p.threshold.toFixed(2)}; above (margin): ${p.above.length ? list(p.above, true) : '(none)'}` +
    (p.wideCount ? `; too wide (over ${t.options.maxSpanWidth} words): ${list(p.wide)}${p.wideCount > p.wide.length ? ` and ${p.wideCount - p.wide.length} more` : ''}` : '') +
    (p.below.length ? `; nearest below: ${list(p.below)}` : '')).join('\n');
}

/** The trace as `diffusionner trace` prints it: the words, the layer table, θ, each type's threshold and spans, the entities. */
export function formatTrace(t: Trace): string {
  return [
    `${t.tokens.join(' ')}\n`,
    formatModuleTable(t.modules),
    `\nLogit scales e^θ: start ${t.scales.start.toFixed(2)}, end ${t.scales.end.toFixed(2)}, span ${t.scales.span.toFixed(2)}; type vectors from ${t.typeInputs}`,
    `\nSpans per type (a span is kept when span(i,j) − span(0,0) > logit(φ) = ${f(marginCut(t.options.threshold))}, φ = ${t.options.threshold}; at most ${t.options.maxSpanWidth} words; ${t.options.mode} read-out):`,
    formatTypes(t),
    `\nentities: ${t.entities.length ? t.entities.map((e) => `${e.text} [${e.type}] ${e.score.toFixed(2)} (margin ${f(e.margin)})`).join(', ') : '(none)'}`,
  ].join('\n');
}

/** How the scores made the entities, briefly. */
export function formatSummary(t: Trace): string {
  const above = t.perType.reduce((a, p) => a + p.above.length, 0);
  const dropped = t.perType.reduce((a, p) => a + p.above.filter((x) => x.fate === 'overlap').length, 0);
  return `How it was read (BINDER, ${t.options.mode}): ${above} spans beat their type's [CLS] threshold, ${t.entities.length} kept` +
    (dropped ? `, ${dropped} dropped for overlapping a span with a higher score` : '') + `.\n${formatTypes(t)}`;
}
