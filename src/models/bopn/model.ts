/**
 * BOPN (spec §2, heads-notes §1): type prompts read with the words by the shared encoder, a conditional-
 * layer-norm grid over word pairs with distance and region embeddings, type-aware biaffine offset scores
 * plus the official second (CLN) branch, an optional 3-D convolution, and label-smoothed cross-entropy
 * over every cell. Shapes: B sentences, n words (padded), M types, H encoder width, L = 4S + 2 labels,
 * G = H + 2·gridEmbedding grid width, A = biaffine + 1.
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
import type { DecodeSettings, InferenceSettings, NerModel, ParameterGroup, SentenceIn, StepLosses } from '../../ner/contract.js';
import { type EncoderInputs, isScratchEncoderParameter, SentenceEncoder, type WordsIn } from '../../ner/encoders/sentence-encoder.js';
import { type Candidate, filterCandidates } from '../../ner/spans.js';
import { BOPN_DEFAULTS, BOPN_ENCODER_DEFAULTS, type BopnConfig, type BopnInference, type BopnSettings, SECOND_BRANCHES } from './config.js';
import { decodeOffsets, OFFSET_DECODINGS, type OffsetDecoding } from './decode.js';
import { DISTANCE_IDS, gridFeatures, REGION_IDS } from './grid-features.js';
import { ConditionalLayerNorm, OffsetConv, plainNorm, ReluLinear } from './layers.js';
import { labelGrid, offsetLabels } from './labels.js';

/** Sentences whose grids go through the model together. */
export interface BatchPart extends EncoderInputs {
  distance: Tensor; region: Tensor; // (B, n, n) i32
  /** Training: each cell's label (B·n·n·M) i32 in (b, i, j, type) order, and 1 for the cells of real words. */
  labels: Tensor | null; cellMask: Tensor | null;
  /** The cells of real words (Σ M·len²). */
  cells: number;
}

/**
 * A batch, in parts small enough for the device: a part's widest tensor (B, n, n, width) must fit the
 * largest buffer a kernel can bind (128 MiB on lavapipe), so long sentences are split off into parts of
 * their own. Training sums the parts' gradients weighted by their share of the cells, which is the whole
 * batch's mean loss.
 */
export interface Batch { parts: BatchPart[] }

/** One sentence's read-out of its grid: per (type, start, end) cell, its argmax label and that label's probability. */
export interface GridOutputs { labels: Int32Array; probs: Float32Array; n: number; decoding: OffsetDecoding; overlapFilter: boolean }

function onePart(b: Batch): BatchPart {
  if (b.parts.length !== 1) throw new Error(`BOPN.forward: the batch is in ${b.parts.length} parts; forward each part`);
  return b.parts[0];
}

export class BOPN extends Module implements NerModel<Batch, GridOutputs> {
  readonly kind = 'bopn';
  readonly c: SentenceEncoder['c'] & Required<BopnSettings>;
  readonly encoder: SentenceEncoder;
  readonly rng: RNG;
  readonly labelNames: string[];
  readonly prompts: Tensor;
  readonly cln: ConditionalLayerNorm;
  readonly distance_embed: Embedding; readonly region_embed: Embedding;
  readonly type_mlp: ReluLinear; readonly cell_mlp: ReluLinear;
  /** U (L, A, A): s1[m, i, j, o] = [a_m; 1]ᵀ U_o [c_ij; 1]. */
  readonly biaffine: Tensor;
  readonly type_cln: ConditionalLayerNorm;
  readonly type_out: Linear;
  readonly conv: OffsetConv | null;
  private readonly outDropout: Dropout;

  constructor(config: BopnConfig, o: InitOptions = {}) {
    super();
    this.rng = o.rng ?? defaultRng();
    const init = { ...o, rng: this.rng };
    const M = config.types.length;
    this.encoder = new SentenceEncoder({ ...BOPN_ENCODER_DEFAULTS, ...config }, init, this.rng, { prefix: M });
    this.adopt(this.encoder);
    this.c = { ...BOPN_DEFAULTS, ...config, ...this.encoder.c };
    const c = this.c, H = c.hidden, G = H + 2 * c.gridEmbedding;
    if (!SECOND_BRANCHES.includes(c.secondBranch)) throw new Error(`BOPN: secondBranch must be ${SECOND_BRANCHES.join(' or ')}, got '${c.secondBranch}'`);
    if (M < 1) throw new Error('BOPN: needs at least one entity type');
    this.labelNames = offsetLabels(c.window);
    const L = this.labelNames.length, A = c.biaffine + 1;
    const dev = { device: resolveDevice(o.device), dtype: o.dtype };
    this.prompts = this.param('prompts', T.randn([M, this.encoder.prefixWidth], { ...dev, rng: this.rng }));
    this.cln = this.child('cln', new ConditionalLayerNorm(H, H, init));
    this.distance_embed = this.child('distance_embed', new Embedding(DISTANCE_IDS, c.gridEmbedding, init));
    this.region_embed = this.child('region_embed', new Embedding(REGION_IDS, c.gridEmbedding, init));
    this.type_mlp = this.child('type_mlp', new ReluLinear(H, c.biaffine, init));
    this.cell_mlp = this.child('cell_mlp', new ReluLinear(G, c.biaffine, init));
    // Xavier-normal over (L, A, A): fan_in = A·A, fan_out = L·A, as torch reads a 3-D tensor.
    this.biaffine = this.param('biaffine', T.randn([L, A, A], { ...dev, rng: this.rng, std: Math.sqrt(2 / (A * A + L * A)) }));
    this.type_cln = this.child('type_cln', new ConditionalLayerNorm(H, G, init));
    this.type_out = this.child('type_out', new Linear(H, L, init));
    this.conv = c.conv ? this.child('conv', new OffsetConv(L, c.convDropout, this.rng, init)) : null;
    this.outDropout = this.child('out_dropout', new Dropout(c.outDropout, this.rng));
  }

  get types(): readonly string[] { return this.c.types; }
  get clitics(): CliticStyle { return this.c.clitics; }
  get defaultThreshold(): number { return 0; }
  get labelCount(): number { return this.labelNames.length; }

  checkLengths(sentences: readonly WordsIn[]): void { this.encoder.checkLengths(sentences); }

  /** The most word-pair cells (B·n²) one part may hold on this device. */
  cellBudget(device: Device): number {
    const c = this.c, M = c.types.length, L = this.labelCount;
    const widest = Math.max(c.hidden + 2 * c.gridEmbedding, c.biaffine + 1, 2 * M * L, c.secondBranch === 'unfolded' ? M * c.hidden : 0);
    return cellsThatFit(device, widest, this.prompts.dtype);
  }

  /** `budget`: the most cells a part may hold (default: what the device can bind). */
  batch(sentences: readonly SentenceIn[], device: Device, budget = this.cellBudget(device)): Batch {
    return { parts: groupByCells(sentences, budget).map((group) => this.batchPart(group, device)) };
  }

  private batchPart(sentences: readonly SentenceIn[], device: Device): BatchPart {
    const inputs = this.encoder.inputs(sentences, device, this.training);
    const B = sentences.length, n = inputs.ids.shape[1], M = this.c.types.length;
    const { distance, region } = gridFeatures(inputs.lengths, n);
    const ids = (a: Int32Array) => T.tensor(a, { shape: [B, n, n], device });
    let labels: Tensor | null = null, cellMask: Tensor | null = null;
    if (sentences.every((s) => s.entities)) {
      const lab = new Int32Array(B * n * n * M), mask = new Float32Array(B * n * n * M);
      sentences.forEach((s, b) => {
        const len = s.tokens.length;
        const ents = s.entities!.map((e) => ({ start: e.start, end: e.end - 1, type: this.c.types.indexOf(e.type) })).filter((e) => e.type >= 0);
        const grid = labelGrid(len, ents, M, this.c.window); // (M, len, len)
        for (let i = 0; i < len; i++) for (let j = 0; j < len; j++) for (let y = 0; y < M; y++) {
          const k = ((b * n + i) * n + j) * M + y;
          lab[k] = grid[(y * len + i) * len + j]; mask[k] = 1;
        }
      });
      // The mask in the model's float type: crossEntropy multiplies it with the logits (an f64 model too).
      labels = T.tensor(lab, { device }); cellMask = T.tensor(mask, { device, dtype: this.prompts.dtype });
    }
    const cells = M * inputs.lengths.reduce((a, len) => a + len * len, 0);
    return { ...inputs, distance: ids(distance), region: ids(region), labels, cellMask, cells };
  }

  disposeBatch(b: Batch): void {
    for (const p of b.parts) {
      SentenceEncoder.dispose(p);
      [p.distance, p.region, p.labels, p.cellMask].forEach((t) => t?.dispose());
    }
  }

  /** The label scores (B, n, n, M, L) of a batch part (or of a batch in one part). */
  forward(batch: Batch | BatchPart): Tensor {
    const b = 'parts' in batch ? onePart(batch) : batch;
    const M = this.c.types.length, [B, n] = b.ids.shape, L = this.labelCount;
    const h = this.encoder.forward(b, this.prompts); // (B, M + n, H)
    const types = T.slice(h, 1, 0, M), words = T.slice(h, 1, M); // (B, M, H), (B, n, H)
    // CLN grid: row i (start) normalised, conditioned on column j (end).
    const { scale, shift } = this.cln.scaleShift(words);
    // Fused: replaces concat([add(mul(norm_i, scale_j), shift_j), distance_embed(distance), region_embed(region)], -1).
    const grid = T.clnGrid(plainNorm(words), scale, shift, this.distance_embed.weight, b.distance, this.region_embed.weight, b.region); // (B, n, n, G)
    const s1 = this.biaffineScores(types, grid);
    const s2 = this.c.secondBranch === 'folded' ? this.foldedBranch(types, grid) : this.unfoldedBranch(types, grid);
    const s = T.reshape(T.add(s1, s2), [B, n, n, M, L]);
    return this.conv ? T.add(s, this.conv.forward(s)) : s;
  }

  /** s1 (B, n·n, M·L): [a_m; 1]ᵀ U_o [c_ij; 1] with a = MLP(H^Y), c = MLP(grid). */
  private biaffineScores(types: Tensor, grid: Tensor): Tensor {
    const [B, M] = types.shape, n = grid.shape[1], L = this.labelCount, A = this.c.biaffine + 1;
    const withOne = (x: Tensor) => T.concat([x, T.ones([...x.shape.slice(0, -1), 1], { device: x.device, dtype: x.dtype })], -1);
    const a = withOne(this.type_mlp.forward(this.outDropout.forward(types))); // (B, M, A)
    const cells = withOne(this.cell_mlp.forward(this.outDropout.forward(grid))); // (B, n, n, A)
    const u = T.reshape(T.permute(this.biaffine, [1, 0, 2]), [A, L * A]); // (A, L·A): x, (o, y)
    const aU = T.reshape(T.matmul(T.reshape(a, [B * M, A]), u), [B, M * L, A]);
    return T.matmul(T.reshape(cells, [B, n * n, A]), aU, { transB: true });
  }

  /**
   * The second branch, folded: it is linear in the grid vector g, s2[m, i, j] = C_m g_ij + c_m, with
   * C_m = W_d diag(N_m) W'_γ + W_d W'_β and c_m = W_d (N_m ⊙ γ' + β') + b_d (N_m = Norm(H^Y_m), W_d the
   * output layer). One (n², G)·(G, M·L) product per sentence; no (B, M, n, n, H) tensor.
   */
  private foldedBranch(types: Tensor, grid: Tensor): Tensor {
    const [B, M, H] = types.shape, n = grid.shape[1], G = grid.shape[3], L = this.labelCount;
    const norm = plainNorm(types), wd = this.type_out.weight; // (B, M, H), (L, H)
    const scaled = T.mul(T.reshape(wd, [1, 1, L, H]), T.unsqueeze(norm, 2)); // (B, M, L, H)
    const cg = T.reshape(T.matmul(T.reshape(scaled, [B * M * L, H]), this.type_cln.gamma_map.weight), [B, M, L, G]);
    const cm = T.reshape(T.add(cg, T.matmul(wd, this.type_cln.beta_map.weight)), [B, M * L, G]);
    const bias = this.type_out.forward(T.add(T.mul(norm, this.type_cln.gamma), this.type_cln.beta)); // (B, M, L)
    return T.add(T.matmul(T.reshape(grid, [B, n * n, G]), cm, { transB: true }), T.reshape(bias, [B, 1, M * L]));
  }

  /** The second branch as the official code computes it: u (B, M, n, n, H) = Norm(H^Y_m) ⊙ (γ' + W'_γ g) + β' + W'_β g, then W_d u + b_d. */
  private unfoldedBranch(types: Tensor, grid: Tensor): Tensor {
    const [B, M, H] = types.shape, n = grid.shape[1], L = this.labelCount;
    const { scale, shift } = this.type_cln.scaleShift(grid); // (B, n, n, H)
    const norm = T.reshape(plainNorm(types), [B, M, 1, 1, H]);
    const u = T.add(T.mul(norm, T.unsqueeze(scale, 1)), T.unsqueeze(shift, 1)); // (B, M, n, n, H)
    return T.reshape(T.permute(this.type_out.forward(u), [0, 2, 3, 1, 4]), [B, n * n, M * L]);
  }

  parameterGroups(): ParameterGroup[] {
    const named = [...this.namedParameters()];
    return [{ name: 'encoder', parameters: named.filter(([n]) => isScratchEncoderParameter(n)) }, { name: 'head', parameters: named.filter(([n]) => !isScratchEncoderParameter(n)) }];
  }

  folder(): { config: Record<string, unknown>; files: Record<string, string> } {
    const { vocab, ...config } = this.c;
    return { config: { kind: this.kind, ...config }, files: { 'vocab.txt': vocab.join('\n') + '\n' } };
  }

  /** The loss (torch's label-smoothed cross-entropy, mean over the cells of real words), backward. */
  async lossAndBackward(b: Batch, w: { labelSmoothing?: number } = {}): Promise<StepLosses> {
    const L = this.labelCount, cells = b.parts.reduce((a, p) => a + p.cells, 0);
    let value = 0;
    for (const p of b.parts) {
      if (!p.labels || !p.cellMask) throw new Error('BOPN: a training batch needs gold entities');
      const share = p.cells / cells;
      const loss = tidy(() => {
        const logits = T.reshape(this.forward(p), [-1, L]);
        const l = T.crossEntropy(logits, p.labels!, { labelSmoothing: w.labelSmoothing ?? 0, rowMask: p.cellMask! });
        (share === 1 ? l : T.affine(l, share)).backward();
        return noGrad(() => T.reshape(l, [1]));
      });
      value += share * (await loss.data())[0];
      loss.dispose();
    }
    return { terms: { offsets: value }, total: value };
  }

  /** The decoding settings of an inference: the model's own, overridden by those given. */
  inferenceSettings(s: InferenceSettings): Required<BopnInference> {
    const given = s as BopnInference;
    return { decoding: given.decoding ?? this.c.decoding, overlapFilter: given.overlapFilter ?? this.c.overlapFilter };
  }

  /** Per sentence: every cell's argmax label and its probability, in (type, start, end) order. */
  async infer(b: Batch, s: InferenceSettings): Promise<GridOutputs[]> {
    const settings = this.inferenceSettings(s);
    if (!OFFSET_DECODINGS.includes(settings.decoding)) throw new Error(`BOPN: decoding must be one of ${OFFSET_DECODINGS.join(', ')}, got '${settings.decoding}'`);
    const out: GridOutputs[] = [];
    for (const p of b.parts) out.push(...await this.inferPart(p, settings));
    return out;
  }

  private async inferPart(b: BatchPart, settings: Required<BopnInference>): Promise<GridOutputs[]> {
    const M = this.c.types.length, [, n] = b.ids.shape;
    const out = noGrad(() => tidy(() => {
      const s = this.forward(b);
      return { best: T.argmax(s, -1), prob: T.max(T.softmax(s, -1), -1) }; // (B, n, n, M)
    }));
    const [best, prob] = await Promise.all([out.best.data(), out.prob.data()]);
    out.best.dispose(); out.prob.dispose();
    return b.lengths.map((len, bi) => {
      const labels = new Int32Array(M * len * len), probs = new Float32Array(M * len * len);
      for (let y = 0; y < M; y++) for (let i = 0; i < len; i++) for (let j = 0; j < len; j++) {
        const k = ((bi * n + i) * n + j) * M + y, q = (y * len + i) * len + j;
        labels[q] = best[k]; probs[q] = prob[k];
      }
      return { labels, probs, n: len, decoding: settings.decoding, overlapFilter: settings.overlapFilter };
    });
  }

  /** Entities of one sentence's grid; a candidate's score is its probability in [0, 1] (decode.ts). */
  decode(g: GridOutputs, o: DecodeSettings): Candidate[] {
    const spans = decodeOffsets(g.labels, g.n, this.c.types.length, this.c.window, g.decoding, g.probs);
    const cands = spans.filter((x) => x.score >= o.threshold).map((x) => ({ left: x.start, right: x.end, type: x.type + 1, score: x.score, leftScore: x.score, rightScore: x.score, typeScore: x.score }));
    return g.overlapFilter ? filterCandidates(cands.sort((p, q) => q.score - p.score), o.mode, o.dedupe) : cands;
  }

  confidence(c: Candidate): number { return c.score; }
}
