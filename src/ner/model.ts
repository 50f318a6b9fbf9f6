/**
 * DiffusionNER with one of two encoders, then the span decoder:
 *   scratch: word embeddings over the training vocabulary (with word dropout to UNK while training) and
 *            an optional character CNN -> BiLSTM (+ optional sinusoidal word-position features)
 *   bert:    a BERT (WordPiece sub-words, pooled to words by max or mean, spec §1.2) -> BiLSTM (spec §1.3)
 * and the diffusion training step
 * (gold repeated to K, one t per sentence, q-sample, Hungarian matching, losses) and DDIM inference
 * (spec §1.4-1.7).
 */
import * as D from '../diffusion/index.js';
import * as T from '../ops/index.js';
import { Dropout, Embedding, type InitOptions } from '../nn/layers.js';
import { LSTM } from '../nn/lstm.js';
import { CharCNN } from '../nn/char-cnn.js';
import { BertModel, type BertConfig, poolWords } from '../nn/bert.js';
import { type BertInput, bertInput } from './bert-input.js';
import { WordPieceTokenizer } from '../text/wordpiece.js';
import type { CliticStyle } from '../text/tokenize.js';
import { Module } from '../nn/module.js';
import { defaultRng, type RNG } from '../tensor/random.js';
import { keep, tidy } from '../tensor/scope.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';
import { diffusionNerLosses, type GoldSpan, matchProposals } from './criterion.js';
import { type Candidate, decodeSentence } from './decode.js';
import { decoderMemoryTensors, SpanDecoder } from './decoder.js';

export interface ModelConfig {
  /** scratch: the word vocabulary; bert: the WordPiece vocabulary (vocab.txt of the BERT folder). */
  vocab: string[];
  encoder?: 'scratch' | 'bert';
  /** The BERT's config.json (encoder bert). */
  bert?: BertConfig;
  /** Sub-word -> word pooling (encoder bert): max (official default) or mean (its GENIA setting). */
  pooling?: 'max' | 'mean';
  types: string[];
  hidden: number;
  embedding?: number;
  lstmLayers?: number;
  proposals?: number;
  heads?: number;
  ffn?: number;
  dropout?: number;
  spanPooling?: 'lrconcat' | 'meanpool';
  /**
   * How plain text is split into words for this model (predict, trace): the training data's convention
   * for clitics, 'split' ("Germany 's", CoNLL-2003) or 'attached' ("Burkitt's", GENIA). Training infers it
   * from the training set; the model itself never reads it.
   */
  clitics?: CliticStyle;
  timesteps?: number;
  schedule?: D.ScheduleKind;
  scale?: number;
  /**
   * Sinusoidal word positions added to the BiLSTM output: on by default for the scratch encoder, which
   * has no absolute positions; off by default for BERT, as in the official code (spec §1.3: H_S is the
   * LSTM output, nothing added).
   */
  positionFeatures?: boolean;
  lowercase?: boolean;
  /** Character vocabulary (index 0 padding, 1 unknown); with charEmbedding > 0 the char CNN is on. */
  chars?: string[];
  charEmbedding?: number;
  charFilters?: number;
  /** Characters kept per word (the rest are cut). */
  maxChars?: number;
  /** While training, each word id becomes UNK with this probability. */
  wordDropout?: number;
  /**
   * Scratch encoder: dropout on the BiLSTM's input (word embedding + character features) while training,
   * the usual regulariser of BiLSTM taggers trained from scratch (Lample et al. 2016 use 0.5). Default 0;
   * the official BERT path has no dropout there (spec §1.3).
   */
  embeddingDropout?: number;
  /**
   * Initialisation of the decoder (spec §1.3): `official` (default) as Hugging Face's `_init_weights` in the
   * official code, every Linear N(0, 0.02) with zero bias (the attention in-projections keep Xavier, the
   * LSTM torch's default); `pytorch` keeps PyTorch's default uniform init, which the runs recorded in
   * docs/RESULTS.md before session 10 used. The scratch encoder's embeddings and character CNN, which the
   * official model does not have, keep PyTorch's defaults either way.
   */
  init?: 'official' | 'pytorch';
  /**
   * How a sentence's N gold spans become the K rows that are noised in training (spec §1.4.4, §1.11
   * item 11). `repeat` (default; the official CoNLL-2003 and GENIA setting): gold repeated cyclically to K
   * and matched K to K; an entity-less sentence diffuses the whole-sentence span K times. `concat` (the
   * official setting of ACE04/05, OntoNotes and MSRA): as `repeat`, except that an entity-less sentence
   * diffuses the whole-sentence span once and K − 1 random spans. `random` (the paper's random strategy):
   * the N gold spans and K − N random spans, matched against the gold padded with no-entity, so the
   * proposals left unmatched learn the None class. Random spans are (left, width) in [0, 1] units drawn
   * from N(0.5, (1/6)²), the width clipped to ≥ 1e-4, as the official placeholders.
   */
  expansion?: 'repeat' | 'concat' | 'random';
  /** Span layers of the decoder: 2 in the official code, 1 in the paper (spec §1.11 item 7). */
  spanLayers?: number;
  /** The span-slot position embedding (official; not in the paper, spec §1.11 item 8). Default true. */
  slotEmbedding?: boolean;
  /** `mlp` (official: sinusoid → Linear → GELU → Linear) or `sinusoid` (the paper's E_t, §1.11 item 9). */
  timeEmbedding?: 'mlp' | 'sinusoid';
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

export interface PredictOptions {
  steps?: number; proposals?: number; eta?: number; threshold?: number; mode?: 'flat' | 'nested'; dedupe?: boolean; rng?: RNG;
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

/** A sentence's words as the model reads them; `origin` (file:line) names it in errors. */
export interface WordsIn { origin?: string; tokens: readonly string[]; ltokens?: readonly string[]; rtokens?: readonly string[] }

export interface Batch {
  ids: Tensor; // (B, M) i32
  mask: Tensor; // (B, M) f32
  /** Char CNN input: ids (B·M, L + 2) i32 and mask (B·M, L, 1), when the model has one. */
  chars: { ids: Tensor; mask: Tensor } | null;
  /** BERT input: sub-word ids and attention mask (B, S), each word's sub-word span [start, end). */
  pieces: { ids: Tensor; mask: Tensor; spans: [number, number][][] } | null;
  lengths: number[];
  gold: GoldSpan[][]; // inclusive word spans, type 1..C
}

export class DiffusionNER extends Module {
  readonly c: Required<ModelConfig>;
  readonly embed: Embedding | null;
  readonly charCnn: CharCNN | null;
  /** Scratch encoder, embeddingDropout > 0: dropout on the BiLSTM input. */
  readonly inputDropout: Dropout | null;
  readonly bert: BertModel | null;
  readonly tokenizer: WordPieceTokenizer | null;
  readonly lstm: LSTM;
  readonly decoder: SpanDecoder;
  readonly schedule: D.NoiseSchedule;
  private vocabIndex: Map<string, number>;
  private charIndex: Map<string, number>;
  /** Drives word dropout, training noise and timesteps; its state is part of a training checkpoint. */
  readonly rng: RNG;

  constructor(config: ModelConfig, o: InitOptions = {}) {
    super();
    this.c = {
      embedding: config.hidden, lstmLayers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, spanPooling: 'lrconcat',
      timesteps: 1000, schedule: 'cosine', scale: 1, lowercase: false,
      chars: [], charEmbedding: 0, charFilters: 50, maxChars: 20, wordDropout: 0, embeddingDropout: 0, encoder: 'scratch', pooling: 'max', init: 'official',
      expansion: 'repeat', spanLayers: 2, slotEmbedding: true, timeEmbedding: 'mlp', clitics: 'split',
      bert: undefined as unknown as BertConfig, ...config, positionFeatures: config.positionFeatures ?? config.encoder !== 'bert',
    };
    const c = this.c;
    if (c.hidden % 2 !== 0) throw new Error('DiffusionNER: hidden size must be even (two LSTM directions)');
    this.rng = o.rng ?? defaultRng();
    this.vocabIndex = new Map(c.vocab.map((w, i) => [w, i]));
    this.charIndex = new Map(c.chars.map((ch, i) => [ch, i]));
    let input: number;
    if (c.encoder === 'bert') {
      if (!c.bert) throw new Error('DiffusionNER: encoder bert needs the BERT config (config.bert)');
      if (c.embeddingDropout > 0) throw new Error('DiffusionNER: embeddingDropout is for the scratch encoder (the official BERT path has no dropout before the BiLSTM)');
      this.bert = this.child('bert', new BertModel(c.bert, o));
      this.tokenizer = new WordPieceTokenizer(c.vocab, { lowercase: c.lowercase });
      this.embed = null; this.charCnn = null; this.inputDropout = null;
      input = c.bert.hidden_size;
    } else {
      this.bert = null; this.tokenizer = null;
      this.embed = this.child('word_embed', new Embedding(c.vocab.length, c.embedding, o));
      const useChars = c.charEmbedding > 0;
      if (useChars && c.chars.length < 2) throw new Error('DiffusionNER: charEmbedding > 0 needs a character vocabulary (config.chars)');
      this.charCnn = useChars ? this.child('char_cnn', new CharCNN(c.chars.length, c.charEmbedding, c.charFilters, c.dropout, o)) : null;
      input = c.embedding + (useChars ? c.charFilters : 0);
      this.inputDropout = c.embeddingDropout > 0 ? this.child('input_dropout', new Dropout(c.embeddingDropout, this.rng)) : null;
    }
    // Dropout between the LSTM layers, as the official prop_drop (spec §1.3).
    this.lstm = this.child('lstm', new LSTM(input, c.hidden / 2, { ...o, layers: c.lstmLayers, bidirectional: true, dropout: c.dropout }));
    if (c.init !== 'official' && c.init !== 'pytorch') throw new Error(`DiffusionNER: init must be official or pytorch, got '${c.init}'`);
    const decoderInit = c.init === 'official' ? { ...o, linearStd: 0.02 } : o;
    if (!['repeat', 'concat', 'random'].includes(c.expansion)) throw new Error(`DiffusionNER: expansion must be repeat, concat or random, got '${c.expansion}'`);
    if (c.timeEmbedding !== 'mlp' && c.timeEmbedding !== 'sinusoid') throw new Error(`DiffusionNER: timeEmbedding must be mlp or sinusoid, got '${c.timeEmbedding}'`);
    if (!(Number.isInteger(c.spanLayers) && c.spanLayers >= 1)) throw new Error(`DiffusionNER: spanLayers must be a whole number >= 1, got ${c.spanLayers}`);
    this.decoder = this.child('decoder', new SpanDecoder({ hidden: c.hidden, types: c.types.length, heads: c.heads, ffn: c.ffn, dropout: c.dropout, spanPooling: c.spanPooling, layers: c.spanLayers,
      slotEmbedding: c.slotEmbedding, timeEmbedding: c.timeEmbedding }, decoderInit));
    this.schedule = D.NoiseSchedule.create(c.schedule, c.timesteps);
  }

  /**
   * BERT's input for one sentence, or an error naming it when BERT's positions cannot hold it. Kept per
   * sentence object (sentences are never edited in place), so checkLengths and every epoch's batches
   * encode each sentence once.
   */
  private bertPieces(s: WordsIn): BertInput {
    const known = this.bertInputs.get(s);
    if (known) return known;
    try {
      const input = bertInput(this.tokenizer!, s, this.c.bert!.max_position_embeddings);
      this.bertInputs.set(s, input);
      return input;
    } catch (e) {
      throw new Error(`${s.origin ?? 'a sentence'}: ${(e as Error).message} (split the sentence; predict does with --max-words)`);
    }
  }
  private readonly bertInputs = new WeakMap<WordsIn, BertInput>();

  /** With BERT: throws, naming the first sentence its positions cannot hold, before training rather than mid-epoch. */
  checkLengths(sentences: readonly WordsIn[]): void {
    if (this.tokenizer) for (const s of sentences) this.bertPieces(s);
  }

  /** Word ids for a batch of token lists (index 0 = padding, 1 = unknown). */
  batch(sentences: (WordsIn & { entities?: { start: number; end: number; type: string }[] })[], device: Tensor['device']): Batch {
    const B = sentences.length, M = Math.max(1, ...sentences.map((s) => s.tokens.length));
    const ids = new Int32Array(B * M), mask = new Float32Array(B * M);
    const typeIndex = new Map(this.c.types.map((t, i) => [t, i + 1]));
    const dropWords = this.training ? this.c.wordDropout : 0;
    sentences.forEach((s, b) => s.tokens.forEach((w, j) => {
      ids[b * M + j] = dropWords > 0 && this.rng.uniform() < dropWords ? 1 : this.vocabIndex.get(this.c.lowercase ? w.toLowerCase() : w) ?? 1;
      mask[b * M + j] = 1;
    }));
    let chars: Batch['chars'] = null, pieces: Batch['pieces'] = null;
    if (this.tokenizer) {
      const enc = sentences.map((s) => this.bertPieces(s));
      const S = Math.max(...enc.map((e) => e.ids.length));
      const pid = new Int32Array(B * S), pmask = new Float32Array(B * S);
      enc.forEach((e, b) => e.ids.forEach((id, j) => { pid[b * S + j] = id; pmask[b * S + j] = 1; }));
      pieces = { ids: T.tensor(pid, { shape: [B, S], device }), mask: T.tensor(pmask, { shape: [B, S], device }), spans: enc.map((e) => e.spans) };
    }
    if (this.charCnn) {
      const words = sentences.flatMap((s) => Array.from({ length: M }, (_, j) => s.tokens[j] ?? ''));
      const c = CharCNN.indices(words, this.charIndex, this.c.maxChars);
      chars = { ids: T.tensor(c.ids, { shape: [B * M, c.L + 2], device }), mask: T.tensor(c.mask, { shape: [B * M, c.L, 1], device }) };
    }
    return {
      ids: T.tensor(ids, { shape: [B, M], device }),
      mask: T.tensor(mask, { shape: [B, M], device }),
      chars,
      pieces,
      lengths: sentences.map((s) => s.tokens.length),
      gold: sentences.map((s) => (s.entities ?? []).map((e) => ({ left: e.start, right: e.end - 1, type: typeIndex.get(e.type) ?? 0 }))),
    };
  }

  encode(b: Batch): Tensor {
    let x: Tensor;
    if (this.bert) {
      if (!b.pieces) throw new Error('DiffusionNER: a BERT model needs batches made by its own batch()');
      x = poolWords(this.bert.forward(b.pieces.ids, b.pieces.mask), b.pieces.spans, this.c.pooling); // (B, M, hidden)
    } else {
      x = this.embed!.forward(b.ids); // (B, M, E)
    }
    if (this.charCnn && b.chars) {
      const [B, M] = b.ids.shape;
      x = T.concat([x, T.reshape(this.charCnn.forward(b.chars.ids, b.chars.mask), [B, M, this.c.charFilters])], -1);
    }
    if (this.inputDropout) x = this.inputDropout.forward(x);
    let h = this.lstm.forward(x, b.lengths);
    if (this.c.positionFeatures) {
      const M = b.ids.shape[1];
      h = T.add(h, T.reshape(D.sinusoidalEmbedding(T.arange(0, M, 1, { device: b.ids.device }), this.c.hidden), [1, M, this.c.hidden]));
    }
    return h;
  }

  /**
   * One training step's forward and backward (gradients accumulate into the parameters; the caller
   * clips and steps the optimiser). Returns the loss terms as numbers, before the weights `w` (which
   * scale the backward and the matcher's cost). Memory: everything but the
   * parameters' gradients is freed before it returns.
   */
  async lossAndBackward(b: Batch, w: LossWeights = {}): Promise<{ classification: number; boundary: number; matched: number }> {
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
      return { classification: NaN, boundary: NaN, matched: 0 };
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
    return { classification, boundary, matched: matches.reduce((n, m) => n + m.proposals.length, 0) };
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

  /** Frees a batch's tensors. */
  static disposeBatch(b: Batch): void {
    b.ids.dispose(); b.mask.dispose();
    if (b.chars) { b.chars.ids.dispose(); b.chars.mask.dispose(); }
    if (b.pieces) { b.pieces.ids.dispose(); b.pieces.mask.dispose(); }
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
    for (const [t, tn] of D.ddimTimesteps(this.c.timesteps, o.steps ?? 5)) {
      const xt = x;
      o.beforeStep?.(index, t);
      // The class logits of the last step alone are output; a trace reads every step's.
      const classify = tn < 0 || !!o.onStep;
      const next = noGrad(() => tidy(() => {
        const pairs = D.xToPairs(xt, this.c.scale), times = Array(B).fill(t);
        const out = classify ? this.decoder.forward(pairs, memory, times) : { logits: null, ...this.decoder.boundaries(pairs, memory, times) };
        const x0 = D.boundariesToX0(T.argmax(out.left, -1), T.argmax(out.right, -1), lens, this.c.scale);
        const step = D.ddimStep(this.schedule, xt, x0, t, tn, o.eta ?? 1, T.randn([B, K, 2], { device: dev, rng }));
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
    return finals.map((f) => decodeSentence(f.left, f.right, f.probs, K, f.M, C1, { mode: o.mode ?? 'flat', threshold: o.threshold, dedupe: o.dedupe }));
  }
}
