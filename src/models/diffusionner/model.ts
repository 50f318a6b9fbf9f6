/**
 * DiffusionNER (spec §1): the shared sentence encoder (scratch or BERT -> BiLSTM), then the span decoder,
 * with the diffusion training step (gold repeated to K, one t per sentence, q-sample, Hungarian matching,
 * losses) and DDIM inference (spec §1.4-1.7).
 */
import * as D from '../../diffusion/index.js';
import * as T from '../../ops/index.js';
import type { InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import type { Device } from '../../tensor/device.js';
import { defaultRng, type RNG } from '../../tensor/random.js';
import { keep, tidy } from '../../tensor/scope.js';
import { noGrad, type Tensor } from '../../tensor/tensor.js';
import type { CliticStyle } from '../../text/tokenize.js';
import type { DecodeSettings, InferenceSettings, NerModel, ParameterGroup, SentenceIn, StepLosses } from '../../ner/contract.js';
import { type EncoderInputs, SentenceEncoder, isScratchEncoderParameter, type WordsIn } from '../../ner/encoders/sentence-encoder.js';
import { DEFAULT_MODE } from '../../ner/defaults.js';
import { type Candidate, type FilterMode, type GoldSpan, goldSpans } from '../../ner/spans.js';
import { diffusionNerLosses, matchProposals } from './criterion.js';
import { decodeSentence } from './decode.js';
import { decoderMemoryTensors, SpanDecoder } from './decoder.js';
import { SAMPLING_DEFAULTS } from './sampling.js';
import { DIFFUSION_DEFAULTS, type DiffusionSettings, EXPANSIONS, INITS, type ModelConfig, TIME_EMBEDDINGS } from './config.js';

export type { ModelConfig } from './config.js';

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

export interface PredictOptions {
  steps?: number; proposals?: number; eta?: number; threshold?: number; mode?: FilterMode; dedupe?: boolean; rng?: RNG;
  /**
   * The timestep DDIM starts from (default timesteps − 1, the official sampler): a smaller one treats the
   * random starting spans as partly denoised already, so the decoder follows them (traces use it to show
   * denoising; predictions never set it). The γ steps are spaced evenly from it down to −1.
   */
  startT?: number;
  /** Called before each DDIM step's decoder runs (index from 0, its timestep). */
  beforeStep?: (index: number, t: number) => void;
  /** Called after each DDIM step with its decoder outputs on the host. */
  onStep?: (s: DdimStepOutputs) => void | Promise<void>;
  /** Called with each sentence's final proposals (to decode them again, e.g. at other thresholds φ). */
  onFinal?: (sentences: FinalProposals[]) => void;
}

/** One sentence's last-step outputs over its own M words: P^l, P^r (K × M), class probabilities (K × C1). */
export interface FinalProposals { left: Float32Array; right: Float32Array; probs: Float32Array; K: number; M: number; C1: number }

/** One DDIM step's decoder outputs for the whole batch. */
export interface DdimStepOutputs {
  index: number; t: number; tNext: number; K: number; M: number; C1: number;
  /** The noisy spans the decoder read, as word positions (B, K, 2). */
  spans: Float32Array;
  /** Boundary probabilities (B, K, M) and class probabilities (B, K, C+1). */
  left: Float32Array; right: Float32Array; probs: Float32Array;
}

/**
 * The official `loss_class_weight`, `loss_boundary_weight`, `match_class_weight`, `match_boundary_weight`
 * (spec §1.6; 5 each in the official CoNLL-2003 and OntoNotes configs, 1 elsewhere). Default 1.
 */
export interface LossWeights { lossClassWeight?: number; lossBoundaryWeight?: number; matchClassWeight?: number; matchBoundaryWeight?: number }


export interface Batch extends EncoderInputs {
  gold: GoldSpan[][]; // inclusive word spans, type 1..C
}

export class DiffusionNER extends Module implements NerModel<Batch, FinalProposals> {
  readonly kind = 'diffusionner';
  readonly c: SentenceEncoder['c'] & Required<DiffusionSettings>;
  readonly encoder: SentenceEncoder;
  readonly decoder: SpanDecoder;
  readonly schedule: D.NoiseSchedule;
  /** Drives word dropout, training noise and timesteps; its state is part of a training checkpoint. */
  readonly rng: RNG;

  constructor(config: ModelConfig, o: InitOptions = {}) {
    super();
    this.rng = o.rng ?? defaultRng();
    this.encoder = new SentenceEncoder(config, o, this.rng);
    this.adopt(this.encoder);
    this.c = { ...DIFFUSION_DEFAULTS, ...config, ...this.encoder.c };
    const c = this.c;
    if (!INITS.includes(c.init)) throw new Error(`DiffusionNER: init must be ${INITS.join(' or ')}, got '${c.init}'`);
    const decoderInit = c.init === 'official' ? { ...o, linearStd: 0.02 } : o;
    if (!EXPANSIONS.includes(c.expansion)) throw new Error(`DiffusionNER: expansion must be ${EXPANSIONS.slice(0, -1).join(', ')} or ${EXPANSIONS.at(-1)}, got '${c.expansion}'`);
    if (!TIME_EMBEDDINGS.includes(c.timeEmbedding)) throw new Error(`DiffusionNER: timeEmbedding must be ${TIME_EMBEDDINGS.join(' or ')}, got '${c.timeEmbedding}'`);
    if (!(Number.isInteger(c.spanLayers) && c.spanLayers >= 1)) throw new Error(`DiffusionNER: spanLayers must be a whole number >= 1, got ${c.spanLayers}`);
    this.decoder = this.child('decoder', new SpanDecoder({ hidden: c.hidden, types: c.types.length, heads: c.heads, ffn: c.ffn, dropout: c.dropout, spanPooling: c.spanPooling, layers: c.spanLayers,
      slotEmbedding: c.slotEmbedding, timeEmbedding: c.timeEmbedding }, decoderInit));
    this.schedule = D.NoiseSchedule.create(c.schedule, c.timesteps);
  }

  get types(): readonly string[] { return this.c.types; }
  get clitics(): CliticStyle { return this.c.clitics; }
  get defaultThreshold(): number { return SAMPLING_DEFAULTS.threshold; }

  /** With BERT: throws, naming the first sentence its positions cannot hold, before training rather than mid-epoch. */
  checkLengths(sentences: readonly WordsIn[]): void { this.encoder.checkLengths(sentences); }

  /** The encoder's inputs and the gold spans of a batch of sentences. */
  batch(sentences: readonly SentenceIn[], device: Device): Batch {
    return { ...this.encoder.inputs(sentences, device, this.training), gold: sentences.map((s) => goldSpans(s.entities ?? [], this.c.types)) };
  }

  disposeBatch(b: Batch): void { SentenceEncoder.dispose(b); }

  /** Frees a batch's tensors. */
  static disposeBatch(b: Batch): void { SentenceEncoder.dispose(b); }

  encode(b: Batch): Tensor { return this.encoder.forward(b); }

  parameterGroups(): ParameterGroup[] {
    const named = [...this.namedParameters()];
    return [{ name: 'encoder', parameters: named.filter(([n]) => isScratchEncoderParameter(n)) }, { name: 'decoder', parameters: named.filter(([n]) => !isScratchEncoderParameter(n)) }];
  }

  folder(): { config: Record<string, unknown>; files: Record<string, string> } {
    const { vocab, ...config } = this.c;
    return { config: { kind: this.kind, ...config }, files: { 'vocab.txt': vocab.join('\n') + '\n' } };
  }

  /** The mean of the three probabilities: the decoder's ranking score P^l + P^r + P_type, over 3. */
  confidence(c: Candidate): number { return c.score / 3; }

  decode(f: FinalProposals, o: DecodeSettings): Candidate[] {
    return decodeSentence(f.left, f.right, f.probs, f.K, f.M, f.C1, { mode: o.mode, threshold: o.threshold, dedupe: o.dedupe });
  }

  /** DDIM sampling of a batch; per sentence its final proposals, to decode at any φ. */
  async infer(b: Batch, s: InferenceSettings, rng: RNG): Promise<FinalProposals[]> {
    let finals: FinalProposals[] = [];
    await this.predict(b, { steps: s.steps as number | undefined, proposals: s.proposals as number | undefined, eta: s.eta as number | undefined, rng, onFinal: (f) => { finals = f; } });
    return finals;
  }

  /**
   * One training step's forward and backward (gradients accumulate into the parameters; the caller
   * clips and steps the optimiser). Returns the loss terms as numbers and their sum, before the weights
   * `w` (which scale the backward and the matcher's cost). Memory: everything but the
   * parameters' gradients is freed before it returns.
   */
  async lossAndBackward(b: Batch, w: LossWeights = {}): Promise<StepLosses & { matched: number }> {
    const K = this.c.proposals, B = b.lengths.length, M = b.ids.shape[1], C1 = this.c.types.length + 1, dev = b.ids.device;
    const { x0v, rows } = this.expandGold(b.gold, b.lengths);
    const t = Array.from({ length: B }, () => this.rng.int(this.c.timesteps));
    const fwd = tidy(() => {
      const xt = D.qSample(this.schedule, T.tensor(x0v, { shape: [B, K, 2], device: dev }), t, T.randn([B, K, 2], { device: dev, rng: this.rng }));
      const out = this.decoder.forward(D.xToPairs(xt, this.c.scale), this.decoder.prepare(this.encode(b), b.mask, b.lengths, K), t);
      return { logits: out.logits, left: out.left, right: out.right, probs: noGrad(() => T.softmax(out.logits, -1)) };
    });
    // Matching runs on the host: one readback per step.
    const [pl, pr, pc] = await Promise.all([fwd.left.data(), fwd.right.data(), fwd.probs.data()]);
    if (!allFinite(pl) || !allFinite(pr) || !allFinite(pc)) {
      // A diverged forward pass: no matching, no backward; the trainer skips and counts the step. The
      // graph tidy() kept for the backward is freed here, as backward would have.
      T.releaseGraph(fwd.logits, fwd.left, fwd.right);
      Object.values(fwd).forEach((v) => v.dispose());
      return { terms: { classification: NaN, boundary: NaN }, total: NaN, matched: 0 };
    }
    const matches = matchProposals(pl, pr, pc, rows, K, M, C1, w.matchBoundaryWeight ?? 1, w.matchClassWeight ?? 1);
    const losses = tidy(() => {
      const parts = diffusionNerLosses(fwd.logits, fwd.left, fwd.right, b.mask, rows, matches);
      T.add(T.affine(parts.classification, w.lossClassWeight ?? 1), T.affine(parts.boundary, w.lossBoundaryWeight ?? 1)).backward();
      return noGrad(() => T.stack([T.reshape(parts.classification, [1]), T.reshape(parts.boundary, [1])], 0));
    });
    Object.values(fwd).forEach((v) => v.dispose());
    const [classification, boundary] = await losses.data();
    losses.dispose();
    return { terms: { classification, boundary }, total: classification + boundary, matched: matches.reduce((n, m) => n + m.proposals.length, 0) };
  }

  /**
   * The K rows each sentence diffuses, x0 (B, K, 2) in diffusion space, and the gold rows its proposals
   * are matched against (model.expansion; spec §1.4.4). The whole-sentence span is (left 0, width 1),
   * i.e. (−λ, λ).
   */
  expandGold(gold: GoldSpan[][], lengths: number[]): { x0v: Float32Array; rows: GoldSpan[][] } {
    const K = this.c.proposals, scale = this.c.scale, strategy = this.c.expansion;
    const rows = gold.map((g) => (strategy === 'random' ? g.slice(0, K) : g.length ? Array.from({ length: K }, (_, i) => g[i % g.length]) : []));
    const randomSpan = (): [number, number] => {
      const left = 0.5 + this.rng.normal() / 6, width = Math.max(0.5 + this.rng.normal() / 6, 1e-4);
      return [(2 * left - 1) * scale, (2 * width - 1) * scale];
    };
    const x0v = new Float32Array(gold.length * K * 2);
    rows.forEach((r, s) => {
      const x = r.length ? D.spansToX0(r.map((g) => [g.left, g.right]), lengths[s], scale) : null;
      for (let i = 0; i < K; i++) {
        let v: [number, number];
        if (i < r.length) v = [x![2 * i], x![2 * i + 1]];
        else if (strategy === 'random' || (strategy === 'concat' && i > 0)) v = randomSpan();
        else v = [-scale, scale];
        x0v.set(v, (s * K + i) * 2);
      }
    });
    return { x0v, rows };
  }

  /**
   * DDIM sampling (spec §1.4.5) and decoding (§1.7); returns kept entities per sentence. With `onStep`,
   * every step's decoder outputs are read back and handed over (for traces; it costs a readback a step).
   */
  async predict(b: Batch, o: PredictOptions = {}): Promise<Candidate[][]> {
    const K = o.proposals ?? this.c.proposals, B = b.lengths.length, M = b.ids.shape[1], C1 = this.c.types.length + 1, dev = b.ids.device;
    const rng = o.rng ?? this.rng;
    // Gradients off for every synchronous block (noGrad cannot span an await).
    // The encoder, the decoder's word-side projections and its slot embedding run once; only the spans change per step.
    const memory = noGrad(() => tidy(() => this.decoder.prepare(this.encode(b), b.mask, b.lengths, K)));
    const lens = keep(T.tensor(Float32Array.from(b.lengths), { device: dev }));
    let x = keep(T.randn([B, K, 2], { device: dev, rng }));
    let last: { probs: Tensor | null; left: Tensor; right: Tensor; spans: Tensor } | null = null;
    let index = 0;
    if (o.startT !== undefined && !(Number.isInteger(o.startT) && o.startT >= 0 && o.startT < this.c.timesteps)) throw new Error(`DDIM: the start timestep must be a whole number in 0..${this.c.timesteps - 1}, got ${o.startT}`);
    // ddimTimesteps(T, γ) spaces γ + 1 points from −1 to T − 1: from startT it is ddimTimesteps(startT + 1, γ).
    for (const [t, tn] of D.ddimTimesteps(o.startT === undefined ? this.c.timesteps : o.startT + 1, o.steps ?? SAMPLING_DEFAULTS.steps)) {
      const xt = x;
      o.beforeStep?.(index, t);
      // The class logits of the last step alone are output; a trace reads every step's.
      const classify = tn < 0 || !!o.onStep;
      const next = noGrad(() => tidy(() => {
        const pairs = D.xToPairs(xt, this.c.scale), times = Array(B).fill(t);
        const out = classify ? this.decoder.forward(pairs, memory, times) : { logits: null, ...this.decoder.boundaries(pairs, memory, times) };
        const x0 = D.boundariesToX0(T.argmax(out.left, -1), T.argmax(out.right, -1), lens, this.c.scale);
        const step = D.ddimStep(this.schedule, xt, x0, t, tn, o.eta ?? SAMPLING_DEFAULTS.eta, T.randn([B, K, 2], { device: dev, rng }));
        return { x: step.x, out: { probs: out.logits ? T.softmax(out.logits, -1) : null, left: out.left, right: out.right, spans: out.words } };
      }));
      if (o.onStep) {
        const [left, right, probs, spans] = await Promise.all([next.out.left.data(), next.out.right.data(), next.out.probs!.data(), next.out.spans.data()]);
        await o.onStep({ index, t, tNext: tn, K, M, C1, spans: Float32Array.from(spans), left: Float32Array.from(left), right: Float32Array.from(right), probs: Float32Array.from(probs) });
      }
      index++;
      x.dispose();
      x = next.x;
      if (last) Object.values(last).forEach((v) => v?.dispose());
      last = next.out;
    }
    const [pl, pr, pc] = await Promise.all([last!.left.data(), last!.right.data(), last!.probs!.data()]);
    [x, lens, ...Object.values(last!), ...decoderMemoryTensors(memory)].forEach((v) => v?.dispose());
    const finals = b.lengths.map((m, s) => {
      // Each sentence's proposals over its own words only.
      const sub = (a: ArrayLike<number>) => Float32Array.from({ length: K * m }, (_, i) => a[(s * K + Math.floor(i / m)) * M + (i % m)]);
      return { left: sub(pl), right: sub(pr), probs: Float32Array.from(pc.slice(s * K * C1, (s + 1) * K * C1)), K, M: m, C1 };
    });
    o.onFinal?.(finals);
    return finals.map((f) => decodeSentence(f.left, f.right, f.probs, K, f.M, C1, { mode: o.mode ?? DEFAULT_MODE, threshold: o.threshold ?? SAMPLING_DEFAULTS.threshold, dedupe: o.dedupe }));
  }
}
