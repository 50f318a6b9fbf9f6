/**
 * BINDER (Zhang et al., ICLR 2023; official code microsoft/binder; heads-notes §2, spec §3) on the shared
 * encoder, at word level: a text encoder reads [CLS] + the words, a type encoder (a second encoder
 * of the same class, starting from a copy of the text encoder's initial weights) reads [CLS] + each type's
 * description, and a type's vectors are compared by cosine with each word (start, end) and each span
 * (i, j) of the text. A span is an entity of type k when its score beats the score of the text's [CLS]
 * cell (0, 0) for k, the dynamic threshold the threshold loss trains.
 * Scratch encoder: the [CLS] is a learnt vector read before the words. BERT: it is the [CLS] piece
 * ("[CLS] pieces [SEP]"), both BERTs start from the folder's weights (afterPretrained), and with
 * subwordSpans a span's ends are its first word's first and its last word's last sub-word state.
 * Shapes: B sentences, n words (padded), n' = 1 + n positions with the [CLS] at 0, M types, H encoder
 * width, d = linearSize.
 */
import * as T from '../../ops/index.js';
import { Dropout, Embedding, type InitOptions, Linear } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { type Device, resolveDevice } from '../../tensor/device.js';
import { defaultRng, type RNG } from '../../tensor/random.js';
import { tidy } from '../../tensor/scope.js';
import { noGrad, type Tensor } from '../../tensor/tensor.js';
import type { CliticStyle } from '../../text/tokenize.js';
import { cellsThatFit, groupByCells } from '../../ner/batch-parts.js';
import type { DecodeSettings, NerModel, ParameterGroup, SentenceIn, StepLosses } from '../../ner/contract.js';
import { bertInput } from '../../ner/encoders/bert-input.js';
import { type EncoderInputs, isScratchEncoderParameter, SentenceEncoder, type WordsIn } from '../../ner/encoders/sentence-encoder.js';
import type { Candidate } from '../../ner/spans.js';
import { BERT_ENCODER_DEFAULTS, BINDER_DEFAULTS, type BinderConfig, type BinderLossSettings, type BinderSettings, INIT_TEMPERATURE, LOSS_DEFAULTS, MAX_LOGIT_SCALE, SPAN_FOLDS, TYPE_INPUTS } from './config.js';
import { decodeSpans, type SpanScores } from './decode.js';
import { descriptionTokens } from './descriptions.js';
import { l2Normalize, TypeEncoder, WidthEmbedding, widthIndex } from './layers.js';

/** A sentence's gold mentions: type index, and start and end word (inclusive, 0-based). */
export interface Mention { type: number; start: number; end: number }

/** Sentences that go through the model together. */
export interface BatchPart extends EncoderInputs {
  /** (n', n') i32: each cell's row of the width table (widthIndex). */
  width: Tensor;
  /** Training: each sentence's gold mentions of the model's types (null without gold). */
  gold: Mention[][] | null;
}

/**
 * A batch, in parts small enough for the device: a part's widest tensor (B, n', n', d) (with the concat
 * span projection (B, n', n', 2H + d)) must fit the largest buffer a kernel can bind, so long sentences
 * are split off into parts of their own. Training weights each part's threshold loss by its share of the
 * batch's (sentence, type) rows and its mention loss by its share of the mentions: the whole batch's loss
 * under maskTiny 1e-13. Under 1e-4 a padded position stays in the softmax 9.2 nats down, so a row's loss
 * depends a little on its part's padding (0.35 % in the parity fixture). The descriptions' inputs are
 * shared by the parts.
 */
export interface Batch { parts: BatchPart[]; descriptions: EncoderInputs | null }

/** The scores of a batch part: start and end (B, M, n'), span (B, M, n'·n') (cell (i, j) at i·n' + j), each e^θ · cosine. */
export interface Scores { start: Tensor | null; end: Tensor | null; span: Tensor }

/** The loss terms of one step (each before weighting) and the logit scales θ it ran with. */
export const LOSS_TERMS = ['mention', 'threshold', 'mentionStart', 'mentionEnd', 'mentionSpan', 'thresholdStart', 'thresholdEnd', 'thresholdSpan'] as const;

export class Binder extends Module implements NerModel<Batch, SpanScores> {
  readonly kind = 'binder';
  readonly c: SentenceEncoder['c'] & Required<Omit<BinderSettings, 'descriptions'>> & { descriptions?: string[] };
  /** The text encoder (its parameters at the root: word_embed.*, char_cnn.*, lstm.*, or bert.* (+ lstm.*)). */
  readonly encoder: SentenceEncoder;
  readonly rng: RNG;
  /** Scratch encoder: the text's [CLS] vector (1, encoder input width), read before the words. BERT: none (its [CLS] piece). */
  readonly text_cls: Tensor | undefined;
  /** typeInputs 'descriptions': the type encoder (type_encoder.*). */
  readonly type_encoder: TypeEncoder | null;
  /** typeInputs 'embeddings': free type vectors (M, H). */
  readonly type_embeddings: Tensor | null;
  readonly type_start_linear: Linear; readonly type_end_linear: Linear; readonly type_span_linear: Linear;
  readonly start_linear: Linear; readonly end_linear: Linear;
  /** Linear(2H + d -> d) over [h_i; h_j; W(j − i + 1)], its weight [A | B | C] as the official layout. */
  readonly span_linear: Linear;
  readonly width_embeddings: WidthEmbedding;
  /** θ (scalars): scores are e^θ · cosine. */
  readonly start_logit_scale: Tensor; readonly end_logit_scale: Tensor; readonly span_logit_scale: Tensor;
  private readonly dropout: Dropout;
  /** The descriptions as the type encoder reads them (kept: the BERT encoder caches their pieces per object). */
  private readonly descriptionInputs: WordsIn[];

  constructor(config: BinderConfig, o: InitOptions = {}) {
    super();
    this.rng = o.rng ?? defaultRng();
    const init = { ...o, rng: this.rng };
    const M = config.types.length;
    if (M < 1) throw new Error('BINDER: needs at least one entity type');
    const bert = config.encoder === 'bert';
    // BERT: no BiLSTM unless asked (the official model); [CLS] pieces [SEP], the [CLS] piece's state as position 0.
    const encoderConfig = bert ? { ...BERT_ENCODER_DEFAULTS, ...config } : config;
    const encoderOptions = bert ? { clsRow: true, closingSep: true } : { prefix: 1 };
    const subwordSpans = config.subwordSpans ?? (bert && encoderConfig.lstmLayers === 0);
    if (subwordSpans && !bert) throw new Error('BINDER: subwordSpans is for encoder bert');
    if (subwordSpans && encoderConfig.lstmLayers !== 0) throw new Error('BINDER: subwordSpans needs BERT alone (lstmLayers 0)');
    if (bert && config.tiedEmbeddings) throw new Error('BINDER: tiedEmbeddings is for the scratch encoder');
    const settings = { ...BINDER_DEFAULTS, ...config, subwordSpans };
    if (!TYPE_INPUTS.includes(settings.typeInputs)) throw new Error(`BINDER: typeInputs must be ${TYPE_INPUTS.join(' or ')}, got '${settings.typeInputs}'`);
    if (!SPAN_FOLDS.includes(settings.spanFold)) throw new Error(`BINDER: spanFold must be ${SPAN_FOLDS.join(' or ')}, got '${settings.spanFold}'`);
    const described = settings.typeInputs === 'descriptions';
    if (described && (!config.descriptions || config.descriptions.length !== M)) throw new Error(`BINDER: typeInputs 'descriptions' needs one description per type (${M}), got ${config.descriptions?.length ?? 0}`);
    if (settings.tiedEmbeddings && !described) throw new Error("BINDER: tiedEmbeddings needs the type encoder (typeInputs 'descriptions')");
    // The type encoder starts as a copy of the text encoder's initial weights (the official two copies of
    // one checkpoint): the generator is rewound to where the text encoder's draws began, and then moved
    // on to where it stood, so both encoders (and their dropout) hold the model's own generator.
    const before = this.rng.state;
    this.encoder = new SentenceEncoder(encoderConfig, init, this.rng, encoderOptions);
    this.adopt(this.encoder);
    this.c = { ...settings, ...this.encoder.c, subwordSpans };
    const c = this.c, H = c.hidden, d = c.linearSize, P = this.encoder.prefixWidth;
    const dev = { device: resolveDevice(o.device), dtype: o.dtype };
    const clsState = this.rng.state;
    this.text_cls = bert ? undefined : this.param('text_cls', T.randn([1, P], { ...dev, rng: this.rng }));
    if (described) {
      const after = this.rng.state;
      this.rng.state = before;
      // Tied: the type encoder reads the text encoder's table; drawing (and dropping) a table of its own keeps the draws in step.
      if (c.tiedEmbeddings) new Embedding(c.vocab.length, c.embedding, init).dispose();
      const words = new SentenceEncoder(encoderConfig, init, this.rng, { ...encoderOptions, wordEmbedding: c.tiedEmbeddings ? this.encoder.embed! : undefined });
      this.rng.state = clsState;
      this.type_encoder = this.child('type_encoder', new TypeEncoder(words, bert ? null : T.randn([1, P], { ...dev, rng: this.rng })));
      this.rng.state = after;
      this.type_embeddings = null;
    } else {
      this.type_encoder = null;
      this.type_embeddings = this.param('type_embeddings', T.randn([M, H], { ...dev, rng: this.rng }));
    }
    this.descriptionInputs = described ? c.descriptions!.map((x) => ({ tokens: descriptionTokens(x, c.clitics) })) : [];
    if (bert && described) this.checkDescriptions();
    // Every new Linear and Embedding of the head: N(0, 0.02), bias 0 (the official _init_weights).
    const head = { ...init, linearStd: 0.02 };
    this.type_start_linear = this.child('type_start_linear', new Linear(H, d, head));
    this.type_end_linear = this.child('type_end_linear', new Linear(H, d, head));
    this.type_span_linear = this.child('type_span_linear', new Linear(H, d, head));
    this.start_linear = this.child('start_linear', new Linear(H, d, head));
    this.end_linear = this.child('end_linear', new Linear(H, d, head));
    this.span_linear = this.child('span_linear', new Linear(2 * H + d, d, head));
    this.width_embeddings = this.child('width_embeddings', new WidthEmbedding(c.spanWidths, d, init));
    const theta = () => T.full([], Math.log(1 / INIT_TEMPERATURE), dev);
    this.start_logit_scale = this.param('start_logit_scale', theta());
    this.end_logit_scale = this.param('end_logit_scale', theta());
    this.span_logit_scale = this.param('span_logit_scale', theta());
    this.dropout = this.child('dropout', new Dropout(c.linearDropout, this.rng));
  }

  get types(): readonly string[] { return this.c.types; }
  get clitics(): CliticStyle { return this.c.clitics; }
  /** sigmoid(margin) > 0.5 is the official rule span[k, i, j] > span[k, 0, 0] (decode.ts). */
  get defaultThreshold(): number { return 0.5; }

  checkLengths(sentences: readonly WordsIn[]): void { this.encoder.checkLengths(sentences); }

  /** BERT: each description must fit BERT's positions as [CLS] pieces [SEP]; an error names the type. */
  private checkDescriptions(): void {
    const enc = this.type_encoder!.encoder;
    this.descriptionInputs.forEach((x, k) => {
      try {
        bertInput(enc.tokenizer!, x, enc.c.bert!.max_position_embeddings, true);
      } catch (e) {
        throw new Error(`BINDER: the description of type '${this.c.types[k]}' has ${(e as Error).message}; shorten it (the types file, data.types)`);
      }
    });
  }

  /** Both BERTs start from the folder's weights: the trainer loaded the text encoder's; the type encoder's get a copy. */
  async afterPretrained(): Promise<void> {
    const typeBert = this.type_encoder?.encoder.bert;
    if (typeBert) await typeBert.loadStateDict(this.encoder.bert!.stateDict());
  }

  /** The float type of the model's parameters (f64 in the parity tests). */
  private get dtype(): Tensor['dtype'] { return this.span_logit_scale.dtype; }

  /** The most grid cells (B·n'²) one part may hold on this device. */
  cellBudget(device: Device): number {
    const c = this.c;
    const widest = Math.max(c.linearSize, c.spanFold === 'concat' ? 2 * c.hidden + c.linearSize : 0, c.types.length);
    return cellsThatFit(device, widest, this.dtype);
  }

  /** `budget`: the most cells a part may hold (default: what the device can bind). */
  batch(sentences: readonly SentenceIn[], device: Device, budget = this.cellBudget(device)): Batch {
    const parts = groupByCells(sentences, budget, 1).map((group) => this.batchPart(group, device));
    const descriptions = this.type_encoder ? this.type_encoder.encoder.inputs(this.descriptionInputs, device, this.training) : null;
    return { parts, descriptions };
  }

  private batchPart(sentences: readonly SentenceIn[], device: Device): BatchPart {
    const inputs = this.encoder.inputs(sentences, device, this.training);
    const n1 = inputs.ids.shape[1] + 1;
    const width = T.tensor(widthIndex(n1, this.c.spanWidths), { shape: [n1, n1], device });
    const gold = sentences.every((s) => s.entities)
      ? sentences.map((s) => s.entities!.map((e) => ({ type: this.c.types.indexOf(e.type), start: e.start, end: e.end - 1 })).filter((m) => m.type >= 0))
      : null;
    return { ...inputs, width, gold };
  }

  disposeBatch(b: Batch): void {
    for (const p of b.parts) { SentenceEncoder.dispose(p); p.width.dispose(); }
    if (b.descriptions) SentenceEncoder.dispose(b.descriptions);
  }

  /** The type vectors t (M, H): the type encoder's [CLS] outputs, or the free vectors. */
  typeVectors(descriptions: EncoderInputs | null): Tensor {
    if (!this.type_encoder) return this.type_embeddings!;
    if (!descriptions) throw new Error('BINDER: the batch has no description inputs (make it with batch())');
    return this.type_encoder.forward(descriptions);
  }

  /** Linear -> Dropout -> L2 normalisation, as every projection of the official model. */
  private project(linear: Linear, x: Tensor): Tensor {
    return l2Normalize(this.dropout.forward(linear.forward(x)));
  }

  /** e^θ, or e^min(θ, ln 100) with clampTemperature. */
  private scale(theta: Tensor): Tensor {
    return T.exp(this.c.clampTemperature ? T.clamp(theta, -Infinity, MAX_LOGIT_SCALE) : theta);
  }

  /**
   * The span projection before dropout and normalisation, (B, n', n', d): Linear([h_i; h'_j; W(w_ij)]),
   * h' = h unless given (subwordSpans: h the first sub-word states, h' the last ones).
   * folded: A·h_i + B·h'_j + (C·W)[w_ij] + b by broadcasting (B, n', 1, d) + (B, 1, n', d) + (n', n', d);
   * concat: the official (B, n', n', 2H + d) concatenation through the Linear.
   */
  spanVectors(h: Tensor, width: Tensor, hEnd: Tensor = h): Tensor {
    const [B, n1, H] = h.shape, d = this.c.linearSize;
    const table = this.width_embeddings.table(); // (spanWidths + 1, d), row 0 zero
    if (this.c.spanFold === 'concat') {
      const wide = [B, n1, n1, H];
      const cells = T.concat([T.expand(T.unsqueeze(h, 2), wide), T.expand(T.unsqueeze(hEnd, 1), wide), T.expand(T.unsqueeze(T.indexSelect(table, 0, width), 0), [B, n1, n1, d])], -1);
      return this.span_linear.forward(cells);
    }
    const w = this.span_linear.weight; // (d, 2H + d) = [A | B | C]
    const u = T.linear(h, T.slice(w, 1, 0, H)); // (B, n', d)
    const v = T.linear(hEnd, T.slice(w, 1, H, 2 * H), this.span_linear.bias);
    const widths = T.indexSelect(T.linear(table, T.slice(w, 1, 2 * H)), 0, width); // (n', n', d)
    return T.add(T.add(T.unsqueeze(u, 2), T.unsqueeze(v, 1)), T.unsqueeze(widths, 0));
  }

  /**
   * The text's start and end vectors, (B, n', H) each, position 0 the [CLS]: the encoder's word vectors
   * for both, or with subwordSpans each word's first sub-word state (start) and last one (end).
   */
  textVectors(p: BatchPart): { start: Tensor; end: Tensor } {
    if (this.c.subwordSpans) {
      const { first, last } = this.encoder.wordEnds(p);
      return { start: first, end: last };
    }
    const h = this.encoder.forward(p, this.text_cls);
    return { start: h, end: h };
  }

  /** A batch part's scores; `boundaries` false skips start and end (inference reads only spans). */
  scores(p: BatchPart, descriptions: EncoderInputs | null, boundaries = true): Scores {
    const h = this.textVectors(p); // (B, n', H) each
    const [B, n1] = h.start.shape, d = this.c.linearSize;
    const t = this.typeVectors(descriptions); // (M, H)
    const typed = (typeLinear: Linear, x: Tensor, theta: Tensor) => T.permute(T.mul(T.linear(x, this.project(typeLinear, t)), this.scale(theta)), [0, 2, 1]);
    const spans = T.reshape(l2Normalize(this.dropout.forward(this.spanVectors(h.start, p.width, h.end))), [B, n1 * n1, d]);
    return {
      start: boundaries ? typed(this.type_start_linear, this.project(this.start_linear, h.start), this.start_logit_scale) : null,
      end: boundaries ? typed(this.type_end_linear, this.project(this.end_linear, h.end), this.end_logit_scale) : null,
      span: typed(this.type_span_linear, spans, this.span_logit_scale),
    };
  }

  parameterGroups(): ParameterGroup[] {
    const named = [...this.namedParameters()];
    // The encoder group (train.encoderLrScale, 1 with BERT): both encoders, their [CLS] vectors and the free type vectors.
    const encoder = (n: string) => isScratchEncoderParameter(n) || n.startsWith('bert.') || n.startsWith('type_encoder.') || n === 'text_cls' || n === 'type_embeddings';
    return [{ name: 'encoder', parameters: named.filter(([n]) => encoder(n)) }, { name: 'head', parameters: named.filter(([n]) => !encoder(n)) }];
  }

  folder(): { config: Record<string, unknown>; files: Record<string, string> } {
    const { vocab, ...config } = this.c;
    return { config: { kind: this.kind, ...config }, files: { 'vocab.txt': vocab.join('\n') + '\n' } };
  }

  /**
   * The contrastive targets of a batch part (spec §3.3), in the model's float type. Rows r = b·M + k.
   * Negatives of (b, k): every real word (resp. every span i ≤ j of real words) but the gold starts, ends
   * (spans) of type k, plus position 0 (cell (0, 0)), the [CLS]. Threshold rows: target 0 among {CLS} ∪
   * negatives. Mention rows: the gold position among {gold} ∪ negatives of its sentence and type.
   */
  lossTargets(p: BatchPart): LossTargets {
    if (!p.gold) throw new Error('BINDER: a training batch needs gold entities');
    const M = this.c.types.length, B = p.lengths.length, n1 = p.ids.shape[1] + 1, cells = n1 * n1;
    const f64 = this.dtype === 'f64';
    const alloc = (size: number) => (f64 ? new Float64Array(size) : new Float32Array(size));
    const startNeg = alloc(B * M * n1), endNeg = alloc(B * M * n1), spanNeg = alloc(B * M * cells);
    p.lengths.forEach((len, b) => {
      for (let k = 0; k < M; k++) {
        const r = b * M + k;
        for (let i = 1; i <= len; i++) {
          startNeg[r * n1 + i] = 1; endNeg[r * n1 + i] = 1;
          for (let j = i; j <= len; j++) spanNeg[r * cells + i * n1 + j] = 1;
        }
      }
      for (const m of p.gold![b]) {
        const r = b * M + m.type;
        startNeg[r * n1 + m.start + 1] = 0; endNeg[r * n1 + m.end + 1] = 0; spanNeg[r * cells + (m.start + 1) * n1 + m.end + 1] = 0;
      }
      for (let k = 0; k < M; k++) { const r = b * M + k; startNeg[r * n1] = 1; endNeg[r * n1] = 1; spanNeg[r * cells] = 1; }
    });
    const mentions = p.gold.flatMap((ms, b) => ms.map((m) => ({ ...m, row: b * M + m.type })));
    const N = mentions.length;
    const rows = new Int32Array(N), starts = new Int32Array(N), ends = new Int32Array(N), spans = new Int32Array(N);
    const mStart = alloc(N * n1), mEnd = alloc(N * n1), mSpan = alloc(N * cells);
    mentions.forEach((m, x) => {
      const s = m.start + 1, e = m.end + 1;
      rows[x] = m.row; starts[x] = s; ends[x] = e; spans[x] = s * n1 + e;
      mStart.set(startNeg.subarray(m.row * n1, (m.row + 1) * n1), x * n1); mStart[x * n1 + s] = 1;
      mEnd.set(endNeg.subarray(m.row * n1, (m.row + 1) * n1), x * n1); mEnd[x * n1 + e] = 1;
      mSpan.set(spanNeg.subarray(m.row * cells, (m.row + 1) * cells), x * cells); mSpan[x * cells + s * n1 + e] = 1;
    });
    return { rows: B * M, n1, mentions: N, threshold: { start: startNeg, end: endNeg, span: spanNeg }, mention: { rows, starts, ends, spans, start: mStart, end: mEnd, span: mSpan } };
  }

  /**
   * Forward, the losses (0.5 mention + 0.5 threshold, each 0.2 start + 0.2 end + 0.6 span; weights from
   * the train section) and backward. Terms: every loss before weighting, and the logit scales θ.
   */
  async lossAndBackward(b: Batch, w: BinderLossSettings = {}): Promise<StepLosses> {
    const o = { ...LOSS_DEFAULTS, ...Object.fromEntries(Object.entries(w).filter(([k]) => k in LOSS_DEFAULTS)) } as Required<BinderLossSettings>;
    const targets = b.parts.map((p) => this.lossTargets(p));
    const rows = targets.reduce((a, t) => a + t.rows, 0), mentions = targets.reduce((a, t) => a + t.mentions, 0);
    const sums = new Map<string, number>(LOSS_TERMS.map((k) => [k, 0]));
    let total = 0;
    for (const [i, p] of b.parts.entries()) {
      const tg = targets[i], device = p.ids.device, dtype = this.dtype;
      const thrShare = tg.rows / rows, menShare = mentions ? tg.mentions / mentions : 0;
      const values = tidy(() => {
        const s = this.scores(p, b.descriptions);
        const flat = { start: T.reshape(s.start!, [tg.rows, tg.n1]), end: T.reshape(s.end!, [tg.rows, tg.n1]), span: T.reshape(s.span, [tg.rows, tg.n1 * tg.n1]) };
        const mask = (a: Float32Array | Float64Array, C: number) => T.tensor(a, { shape: [a.length / C, C], device, dtype });
        const ids = (a: Int32Array) => T.tensor(a, { device });
        const three = (part: 'start' | 'end' | 'span', C: number, logits: (x: Tensor) => Tensor, target: Tensor, m: Float32Array | Float64Array) =>
          T.crossEntropy(logits(flat[part]), target, { logitMask: mask(m, C), tiny: o.maskTiny });
        const weighted = (a: Tensor, b2: Tensor, c: Tensor) => T.add(T.add(T.affine(a, o.startLossWeight), T.affine(b2, o.endLossWeight)), T.affine(c, o.spanLossWeight));
        const zero = T.zeros([], { device, dtype });
        let men = [zero, zero, zero];
        const zeros = ids(new Int32Array(tg.rows));
        const thr = [three('start', tg.n1, (x) => x, zeros, tg.threshold.start), three('end', tg.n1, (x) => x, zeros, tg.threshold.end), three('span', tg.n1 * tg.n1, (x) => x, zeros, tg.threshold.span)];
        if (tg.mentions) {
          const at = ids(tg.mention.rows), pick = (x: Tensor) => T.indexSelect(x, 0, at);
          men = [three('start', tg.n1, pick, ids(tg.mention.starts), tg.mention.start), three('end', tg.n1, pick, ids(tg.mention.ends), tg.mention.end), three('span', tg.n1 * tg.n1, pick, ids(tg.mention.spans), tg.mention.span)];
        }
        const [lThr, lMen] = [weighted(thr[0], thr[1], thr[2]), weighted(men[0], men[1], men[2])];
        let loss = T.affine(lMen, o.mentionLossWeight * menShare);
        if (o.thresholdLoss) loss = T.add(loss, T.affine(lThr, o.thresholdLossWeight * thrShare));
        if (loss.requiresGrad) loss.backward();
        return noGrad(() => T.stack([lMen, lThr, ...men, ...thr, loss].map((x) => T.reshape(x, [1])), 0));
      });
      const v = await values.data();
      values.dispose();
      [menShare, thrShare, menShare, menShare, menShare, thrShare, thrShare, thrShare].forEach((share, k) => sums.set(LOSS_TERMS[k], sums.get(LOSS_TERMS[k])! + share * v[k]));
      total += v[8];
    }
    const thetas = await Promise.all([this.start_logit_scale, this.end_logit_scale, this.span_logit_scale].map((x) => x.item()));
    return { terms: { ...Object.fromEntries(sums), thetaStart: thetas[0], thetaEnd: thetas[1], thetaSpan: thetas[2] }, total };
  }

  /** Per sentence: the span scores over its words and each type's [CLS] score (decode.ts). */
  async infer(b: Batch): Promise<SpanScores[]> {
    const out: SpanScores[] = [];
    for (const p of b.parts) out.push(...await this.inferPart(p, b.descriptions));
    return out;
  }

  private async inferPart(p: BatchPart, descriptions: EncoderInputs | null): Promise<SpanScores[]> {
    const M = this.c.types.length, n1 = p.ids.shape[1] + 1, cells = n1 * n1;
    const span = noGrad(() => tidy(() => this.scores(p, descriptions, false).span)); // (B, M, n'²)
    const all = await span.data();
    span.dispose();
    return p.lengths.map((n, b) => {
      const spans = new Float32Array(M * n * n), thresholds = new Float32Array(M);
      for (let k = 0; k < M; k++) {
        const base = (b * M + k) * cells;
        thresholds[k] = all[base];
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) spans[(k * n + i) * n + j] = all[base + (i + 1) * n1 + j + 1];
      }
      return { n, spans, thresholds, maxSpanWidth: this.c.maxSpanWidth };
    });
  }

  /** Entities of one sentence; a candidate's score is sigmoid(margin) in [0, 1] and its typeScore the raw span score (decode.ts). */
  decode(s: SpanScores, o: DecodeSettings): Candidate[] {
    return decodeSpans(s, o.threshold, o.mode).map((x) => ({ left: x.start, right: x.end, type: x.type + 1, score: x.score, leftScore: x.score, rightScore: x.score, typeScore: x.raw }));
  }

  confidence(c: Candidate): number { return c.score; }
}

/** The host-side targets of a batch part's losses (Binder.lossTargets). */
export interface LossTargets {
  /** Threshold rows (B·M) and positions n' = 1 + n; mention rows. */
  rows: number; n1: number; mentions: number;
  /** The negative masks (1 = in the softmax), (B·M, n'), (B·M, n'), (B·M, n'·n'). */
  threshold: { start: Float32Array | Float64Array; end: Float32Array | Float64Array; span: Float32Array | Float64Array };
  /** Per mention: its row b·M + k, gold start, end and span cell (s·n' + e, positions counting the [CLS]), and its masks. */
  mention: { rows: Int32Array; starts: Int32Array; ends: Int32Array; spans: Int32Array; start: Float32Array | Float64Array; end: Float32Array | Float64Array; span: Float32Array | Float64Array };
}
