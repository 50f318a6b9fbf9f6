/**
 * A trace of one sentence through DiffusionNER: every module's forward (shapes and statistics, values
 * on request), and every DDIM step's K spans (the noisy span the decoder read, the decoded left, right
 * and type, the three probabilities, and whether it would survive filtering if this were the last step),
 * with the boundary probabilities over the words for heatmaps, the schedule and the final entities.
 * Per step it also measures the denoising: how far the noisy spans lie from the decoded ones, and how
 * many decoded spans changed since the step before. A start timestep below T − 1 (`startT`) begins DDIM
 * from spans the decoder treats as partly denoised, so the noisy spans arrive within the trace.
 */
import type { Device } from '../../tensor/device.js';
import { RNG } from '../../tensor/random.js';
import { recordForwards, type ForwardRecord } from '../../nn/hooks.js';
import { readProposals } from './decode.js';
import { DiffusionNER } from './model.js';
import { SAMPLING_DEFAULTS } from './sampling.js';
import { DEFAULT_MODE, DEFAULT_SEED } from '../../ner/defaults.js';
import type { FilterMode } from '../../ner/spans.js';
import { formatModuleTable, moduleValuesFilter } from '../../ner/trace.js';

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
  /** Mean over the K spans of how many words the noisy span's ends lie from the decoded span's ((|Δleft| + |Δright|) / 2). */
  distance: number;
  /** Spans whose decoded boundaries or type differ from the step before (0 at the first step). */
  changed: number;
}

export interface Trace {
  tokens: string[];
  types: string[];
  /** `startT`: the timestep DDIM began from (timesteps − 1 unless the trace chose a smaller one). */
  options: { steps: number; proposals: number; eta: number; threshold: number; mode: FilterMode; dedupe: boolean; seed: number; startT: number; timesteps: number };
  modules: ForwardRecord[];
  steps: TracedStep[];
  entities: { start: number; end: number; type: string; text: string; score: number }[];
}

/**
 * `startT`: begin DDIM at this timestep instead of timesteps − 1 (a trace-only choice: predictions always
 * start at the top). `values`: keep tensor values, of every module (true) or of the modules these
 * names or `*` patterns choose (moduleValuesFilter).
 */
export interface TraceOptions { steps?: number; proposals?: number; eta?: number; threshold?: number; mode?: FilterMode; dedupe?: boolean; seed?: number; startT?: number; values?: boolean | readonly string[] }

export async function traceSentence(model: DiffusionNER, device: Device, tokens: string[], o: TraceOptions = {}): Promise<Trace> {
  if (tokens.length === 0) throw new Error('trace: the sentence has no words');
  const T_ = model.c.timesteps, startT = o.startT ?? T_ - 1;
  if (!(Number.isInteger(startT) && startT >= 0 && startT < T_)) throw new Error(`trace: the start timestep must be a whole number in 0..${T_ - 1}, got ${startT}`);
  const opts = { steps: o.steps ?? SAMPLING_DEFAULTS.steps, proposals: o.proposals ?? model.c.proposals, eta: o.eta ?? SAMPLING_DEFAULTS.eta, threshold: o.threshold ?? SAMPLING_DEFAULTS.threshold, mode: o.mode ?? DEFAULT_MODE, dedupe: o.dedupe ?? false, seed: o.seed ?? DEFAULT_SEED, startT, timesteps: T_ };
  if (opts.steps > startT + 1) throw new Error(`trace: ${opts.steps} DDIM steps cannot start from t = ${startT} (at most ${startT + 1})`);
  const values = Array.isArray(o.values) ? moduleValuesFilter(o.values, [...model.namedModules()].map(([n]) => n)) : !!o.values;
  model.eval();
  const rec = recordForwards(model, { values });
  rec.phase('encode');
  const b = model.batch([{ tokens, entities: [] }], device);
  const abar = model.schedule.alphasCumprod;
  const steps: TracedStep[] = [];
  let entities: Trace['entities'] = [];
  try {
    const pred = await model.predict(b, {
      ...opts, startT: o.startT === undefined ? undefined : startT, rng: new RNG(opts.seed),
      beforeStep: (i, t) => rec.phase(`step ${i + 1} (t=${t})`),
      onStep: (s) => {
        const M = s.M, K = s.K, C1 = s.C1, m = tokens.length;
        // The sentence's own words only (M may exceed it by nothing here: one sentence per batch).
        const sub = (a: Float32Array) => Float32Array.from({ length: K * m }, (_, i) => a[Math.floor(i / m) * M + (i % m)]);
        const pl = sub(s.left), pr = sub(s.right);
        const read = readProposals(pl, pr, s.probs, K, m, C1, { mode: opts.mode, threshold: opts.threshold, dedupe: opts.dedupe });
        const rows = (a: Float32Array) => Array.from({ length: K }, (_, k) => Array.from(a.subarray(k * m, (k + 1) * m)));
        const spans: TracedSpan[] = read.map((p, k) => ({
          noisyLeft: s.spans[2 * k], noisyRight: s.spans[2 * k + 1], left: p.left, right: p.right,
          type: p.type === 0 ? 'None' : model.c.types[p.type - 1], leftProb: p.leftScore, rightProb: p.rightScore, typeProb: p.typeScore,
          score: p.score, candidate: p.candidate, kept: p.kept,
        }));
        const before = steps.at(-1)?.spans;
        steps.push({
          index: s.index, t: s.t, tNext: s.tNext, alphaBar: abar[s.t], alphaBarNext: s.tNext >= 0 ? abar[s.tNext] : 1,
          spans, leftProbs: rows(pl), rightProbs: rows(pr),
          distance: spans.reduce((a, x) => a + (Math.abs(x.noisyLeft - x.left) + Math.abs(x.noisyRight - x.right)) / 2, 0) / K,
          changed: before ? spans.filter((x, k) => x.left !== before[k].left || x.right !== before[k].right || x.type !== before[k].type).length : 0,
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
    out.push(`step ${s.index + 1}/${t.steps.length}  t=${s.t} -> ${s.tNext}  ᾱ=${s.alphaBar.toFixed(4)}  kept ${s.spans.filter((x) => x.kept).length}, candidates ${s.spans.filter((x) => x.candidate).length} of ${s.spans.length}` +
      `; noisy spans ${s.distance.toFixed(2)} words from the decoded ones${s.index > 0 ? `, ${s.changed} decoded spans changed` : ''}`);
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

/** The phases of the layer table a trace shows: the encoder and the first DDIM step (later steps repeat the decoder's modules). */
export const tablePhases = (t: Trace) => (ph: string) => ph === 'encode' || ph.startsWith(t.steps.length ? 'step 1 ' : '');

/**
 * What the steps did, in a sentence or two: whether the decoded spans moved after the first step, and
 * how far the noisy spans travelled towards them.
 */
export function denoisingVerdict(t: Trace): string {
  if (!t.steps.length) return '';
  const first = t.steps[0], last = t.steps[t.steps.length - 1];
  const changed = t.steps.reduce((a, s) => a + s.changed, 0);
  const travel = `each noisy span lay ${first.distance.toFixed(2)} words from its decoded span on average at step 1, ${last.distance.toFixed(2)} at step ${t.steps.length}`;
  if (t.steps.length === 1) return `One DDIM step: the decoder read the random spans once (they lay ${first.distance.toFixed(2)} words from the decoded spans on average).`;
  if (changed === 0) {
    return `The decoded spans never changed after step 1, though the noisy spans they read did: this model takes its answer from the sentence (and each span's slot), not from the noisy span; ` +
      `the steps move the noisy spans onto that answer (${travel}).` +
      (t.options.startT === t.options.timesteps - 1 ? ' Begin lower (--start-t 200) to watch them arrive, or set an earlier checkpoint beside it (--compare DIR).' : '');
  }
  return `${changed} decoded spans changed over steps 2..${t.steps.length}: here the noisy span a decoder reads sways what it decodes, so the answer moves from step to step; ${travel}.`;
}

/** The trace as `diffusionner trace` prints it: the words, the first step's layer table, the denoising, the entities. */
export function formatTrace(t: Trace): string {
  return [
    `${t.tokens.join(' ')}\n`,
    formatModuleTable(t.modules, tablePhases(t)),
    ...(t.steps.length > 1 ? [`(steps 2..${t.steps.length} run the same decoder modules again; --json lists every call)`] : []),
    `\nDenoising (${t.steps.length} DDIM steps from t = ${t.options.startT}, K = ${t.options.proposals}):`,
    formatDenoising(t),
    `\n${denoisingVerdict(t)}`,
    `\nentities: ${t.entities.length ? t.entities.map((e) => `${e.text} [${e.type}]`).join(', ') : '(none)'}`,
  ].join('\n');
}

/** How a sentence was denoised, briefly: the strongest spans at each DDIM step. */
export function formatSummary(t: Trace): string {
  return `How it was denoised (K = ${t.options.proposals} noisy spans, ${t.steps.length} DDIM steps; the strongest spans per step):\n${formatDenoising(t, { onlyInteresting: true, maxSpans: 4 })}\n${denoisingVerdict(t)}`;
}
