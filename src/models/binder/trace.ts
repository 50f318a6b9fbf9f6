/**
 * A trace of one sentence through BINDER: every module's forward (shapes and statistics, values on
 * request), the logit scales θ, each type's threshold (the score of the text's [CLS] cell (0, 0)), the
 * spans above it with their margins (and the nearest spans below it), and the entities the read-out keeps.
 */
import type { Device } from '../../tensor/device.js';
import { recordForwards, type ForwardRecord } from '../../nn/hooks.js';
import { DEFAULT_MODE } from '../../ner/defaults.js';
import type { FilterMode } from '../../ner/spans.js';
import { formatModuleTable, moduleValuesFilter } from '../../ner/trace.js';
import { keptSpans, marginCut, type ScoredSpan, sigmoid } from './decode.js';
import type { Binder } from './model.js';

/** A span of a type with its raw score, its margin over the type's threshold and its score sigmoid(margin). */
export interface TracedSpan { start: number; end: number; text: string; raw: number; margin: number; score: number }

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
  /** Per type: its threshold span[k, 0, 0]; the spans above logit(φ) (width-limited), best first; the best few below it. */
  perType: { type: string; threshold: number; above: TracedSpan[]; below: TracedSpan[] }[];
  entities: { start: number; end: number; type: string; text: string; score: number; margin: number }[];
}

export interface TraceOptions { threshold?: number; mode?: FilterMode; dedupe?: boolean; values?: boolean | readonly string[] }

/** The spans below the cut shown per type. */
const NEAR_MISSES = 3;

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
  const n = tokens.length, words = (s: number, e: number) => tokens.slice(s, e + 1).join(' ');
  const traced = (x: ScoredSpan): TracedSpan => ({ start: x.start, end: x.end, text: words(x.start, x.end), raw: x.raw, margin: x.margin, score: x.score });
  const all = keptSpans(scores, 0); // every width-limited span, to rank those below the cut too
  const cut = marginCut(options.threshold);
  const kept = model.decode(scores, { threshold: options.threshold, mode: options.mode, dedupe: o.dedupe });
  const scale = async (t: typeof model.span_logit_scale) => Math.exp(await t.item());
  return {
    kind: 'binder', tokens, types: [...model.types], typeInputs: model.c.typeInputs, descriptions: model.c.typeInputs === 'descriptions' ? [...model.c.descriptions!] : null, options,
    scales: { start: await scale(model.start_logit_scale), end: await scale(model.end_logit_scale), span: await scale(model.span_logit_scale) }, modules,
    perType: model.types.map((type, k) => {
      const mine = all.filter((x) => x.type === k).sort((a, z) => z.margin - a.margin);
      return { type, threshold: scores.thresholds[k], above: mine.filter((x) => x.margin > cut).map(traced), below: mine.filter((x) => !(x.margin > cut)).slice(0, NEAR_MISSES).map(traced) };
    }),
    entities: kept.map((c) => {
      const margin = scores.spans[((c.type - 1) * n + c.left) * n + c.right] - scores.thresholds[c.type - 1];
      return { start: c.left, end: c.right + 1, type: model.types[c.type - 1], text: words(c.left, c.right), score: sigmoid(margin), margin };
    }).sort((x, y) => x.start - y.start || x.end - y.end),
  };
}

const f = (v: number, digits = 2) => (v >= 0 ? '+' : '') + v.toFixed(digits);

/** Per type: its threshold, the spans above the cut with their margins, and the nearest below it. */
export function formatTypes(t: Trace): string {
  const list = (xs: TracedSpan[]) => xs.map((x) => `"${x.text}" [${x.start},${x.end}] ${f(x.margin)}`).join(', ');
  return t.perType.map((p) => `  ${p.type}: threshold span(0,0) = ${p.threshold.toFixed(2)}; above (margin): ${p.above.length ? list(p.above) : '(none)'}` +
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
  return `How it was read (BINDER, ${t.options.mode}): ${above} spans beat their type's [CLS] threshold, ${t.entities.length} kept.\n${formatTypes(t)}`;
}
