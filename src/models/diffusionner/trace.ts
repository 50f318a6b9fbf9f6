/**
 * A trace of one sentence through DiffusionNER: every module's forward (shapes and statistics, values
 * on request), and every DDIM step's K spans (the noisy span the decoder read, the decoded left, right
 * and type, the three probabilities, and whether it would survive filtering if this were the last step),
 * with the boundary probabilities over the words for heatmaps, the schedule and the final entities.
 */
import type { Device } from '../../tensor/device.js';
import { RNG } from '../../tensor/random.js';
import { recordForwards, type ForwardRecord } from '../../nn/hooks.js';
import { readProposals } from './decode.js';
import { DiffusionNER } from './model.js';
import { SAMPLING_DEFAULTS } from './sampling.js';
import { DEFAULT_MODE, DEFAULT_SEED } from '../../ner/defaults.js';
import type { FilterMode } from '../../ner/spans.js';
import { formatModuleTable } from '../../ner/trace.js';

export interface TracedSpan {
  /** The noisy input span (word positions) and the decoded span, inclusive word indices. */
  noisyLeft: number; noisyRight: number;
  left: number; right: number; type: string;
  leftProb: number; rightProb: number; typeProb: number; score: number;
  candidate: boolean; kept: boolean;
}

export interface TracedStep {
  index: number; t: number; tNext: number;
  /** ᾱ at t and at the next timestep (1 after the last step). */
  alphaBar: number; alphaBarNext: number;
  spans: TracedSpan[];
  /** Boundary probabilities per span over the words: [K][M]. */
  leftProbs: number[][]; rightProbs: number[][];
}

export interface Trace {
  tokens: string[];
  types: string[];
  options: { steps: number; proposals: number; eta: number; threshold: number; mode: FilterMode; dedupe: boolean; seed: number };
  modules: ForwardRecord[];
  steps: TracedStep[];
  entities: { start: number; end: number; type: string; text: string; score: number }[];
}

export interface TraceOptions { steps?: number; proposals?: number; eta?: number; threshold?: number; mode?: FilterMode; dedupe?: boolean; seed?: number; values?: boolean }

export async function traceSentence(model: DiffusionNER, device: Device, tokens: string[], o: TraceOptions = {}): Promise<Trace> {
  if (tokens.length === 0) throw new Error('trace: the sentence has no words');
  const opts = { steps: o.steps ?? SAMPLING_DEFAULTS.steps, proposals: o.proposals ?? model.c.proposals, eta: o.eta ?? SAMPLING_DEFAULTS.eta, threshold: o.threshold ?? SAMPLING_DEFAULTS.threshold, mode: o.mode ?? DEFAULT_MODE, dedupe: o.dedupe ?? false, seed: o.seed ?? DEFAULT_SEED };
  model.eval();
  const rec = recordForwards(model, { values: o.values });
  rec.phase('encode');
  const b = model.batch([{ tokens, entities: [] }], device);
  const abar = model.schedule.alphasCumprod;
  const steps: TracedStep[] = [];
  let entities: Trace['entities'] = [];
  try {
    const pred = await model.predict(b, {
      ...opts, rng: new RNG(opts.seed),
      beforeStep: (i, t) => rec.phase(`step ${i + 1} (t=${t})`),
      onStep: (s) => {
        const M = s.M, K = s.K, C1 = s.C1, m = tokens.length;
        // The sentence's own words only (M may exceed it by nothing here: one sentence per batch).
        const sub = (a: Float32Array) => Float32Array.from({ length: K * m }, (_, i) => a[Math.floor(i / m) * M + (i % m)]);
        const pl = sub(s.left), pr = sub(s.right);
        const read = readProposals(pl, pr, s.probs, K, m, C1, { mode: opts.mode, threshold: opts.threshold, dedupe: opts.dedupe });
        const rows = (a: Float32Array) => Array.from({ length: K }, (_, k) => Array.from(a.subarray(k * m, (k + 1) * m)));
        steps.push({
          index: s.index, t: s.t, tNext: s.tNext, alphaBar: abar[s.t], alphaBarNext: s.tNext >= 0 ? abar[s.tNext] : 1,
          spans: read.map((p, k) => ({
            noisyLeft: s.spans[2 * k], noisyRight: s.spans[2 * k + 1], left: p.left, right: p.right,
            type: p.type === 0 ? 'None' : model.c.types[p.type - 1], leftProb: p.leftScore, rightProb: p.rightScore, typeProb: p.typeScore,
            score: p.score, candidate: p.candidate, kept: p.kept,
          })),
          leftProbs: rows(pl), rightProbs: rows(pr),
        });
      },
    });
    entities = pred[0].map((c) => ({ start: c.left, end: c.right + 1, type: model.c.types[c.type - 1], text: tokens.slice(c.left, c.right + 1).join(' '), score: c.score }))
      .sort((x, y) => x.start - y.start);
  } finally {
    DiffusionNER.disposeBatch(b);
  }
  return { tokens, types: model.c.types, options: opts, modules: await rec.finish(), steps, entities };
}

/** The K spans at every DDIM step, one compact block per step. */
export function formatDenoising(t: Trace, o: { onlyInteresting?: boolean; maxSpans?: number } = {}): string {
  const out: string[] = [];
  const word = (i: number) => t.tokens[i] ?? '?';
  for (const s of t.steps) {
    out.push(`step ${s.index + 1}/${t.steps.length}  t=${s.t} -> ${s.tNext}  ᾱ=${s.alphaBar.toFixed(4)}  kept ${s.spans.filter((x) => x.kept).length}, candidates ${s.spans.filter((x) => x.candidate).length} of ${s.spans.length}`);
    const spans = s.spans.map((x, k) => [x, k] as const).filter(([x]) => !o.onlyInteresting || x.candidate || x.type !== 'None')
      .sort((a, b) => Number(b[0].kept) - Number(a[0].kept) || b[0].score - a[0].score).slice(0, o.maxSpans ?? s.spans.length);
    for (const [x, k] of spans) {
      const text = x.left <= x.right ? t.tokens.slice(x.left, x.right + 1).join(' ') : `${word(x.left)} … ${word(x.right)} (reversed)`;
      out.push(`  #${String(k).padStart(2)}  noisy [${x.noisyLeft}, ${x.noisyRight}] -> [${x.left}, ${x.right}] ${x.type.padEnd(6)} ` +
        `P(l) ${x.leftProb.toFixed(2)} P(r) ${x.rightProb.toFixed(2)} P(type) ${x.typeProb.toFixed(2)} sum ${x.score.toFixed(2)} ` +
        `${x.kept ? 'KEPT' : x.candidate ? 'filtered' : 'below φ'}  "${text}"`);
    }
  }
  return out.join('\n');
}

/** The trace as `diffusionner trace` prints it: the words, the first step's layer table, the denoising, the entities. */
export function formatTrace(t: Trace): string {
  const first = t.steps.length ? 'step 1 ' : '';
  return [
    `${t.tokens.join(' ')}\n`,
    formatModuleTable(t.modules, (ph) => ph === 'encode' || ph.startsWith(first)),
    ...(t.steps.length > 1 ? [`(steps 2..${t.steps.length} run the same decoder modules again; --json lists every call)`] : []),
    `\nDenoising (${t.steps.length} DDIM steps, K = ${t.options.proposals}):`,
    formatDenoising(t),
    `\nentities: ${t.entities.length ? t.entities.map((e) => `${e.text} [${e.type}]`).join(', ') : '(none)'}`,
  ].join('\n');
}

/** How a sentence was denoised, briefly: the strongest spans at each DDIM step. */
export function formatSummary(t: Trace): string {
  return `How it was denoised (K = ${t.options.proposals} noisy spans, ${t.steps.length} DDIM steps; the strongest spans per step):\n${formatDenoising(t, { onlyInteresting: true, maxSpans: 4 })}`;
}
