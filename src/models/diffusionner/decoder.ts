/**
 * The entity decoder of spec §1.5: noisy spans -> span representations -> 2 post-LN span layers
 * [self-attention -> cross-attention to the words -> FFN] with a sinusoidal span-slot embedding ->
 * + time embedding -> left/right boundary pointers (fused kernel) and a (C+1)-way classifier.
 *   pairs (B, K, 2) in [0, 1], words H_S (B, M, H), timesteps t (B), wordMask (B, M), lengths M_b
 *   -> logits (B, K, C+1), P^l, P^r (B, K, M)
 */
import * as T from '../../ops/index.js';
import { sinusoidalEmbedding } from '../../nn/sinusoid.js';
import { pairsToWords } from '../../diffusion/spans.js';
import { resolveDevice } from '../../tensor/device.js';
import { defaultRng, type RNG } from '../../tensor/random.js';
import { noGrad, type Tensor } from '../../tensor/tensor.js';
import { MultiHeadAttention, type ProjectedKeyValue } from '../../nn/attention.js';
import { Dropout, type InitOptions, LayerNorm, Linear, ModuleList } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import type { DiffusionSettings } from './config.js';

export interface DecoderConfig {
  hidden: number;
  types: number;
  heads?: number;
  layers?: number;
  ffn?: number;
  dropout?: number;
  /** lrconcat (the official default) or meanpool (its GENIA setting). */
  spanPooling?: DiffusionSettings['spanPooling'];
  /** The span-slot position embedding on queries and keys (official; the paper has none). */
  slotEmbedding?: boolean;
  /** `mlp`: sinusoid → Linear → GELU → Linear (official); `sinusoid`: the sinusoid alone (the paper). */
  timeEmbedding?: DiffusionSettings['timeEmbedding'];
}

class SpanLayer extends Module {
  readonly selfAttn: MultiHeadAttention; readonly crossAttn: MultiHeadAttention;
  readonly linear1: Linear; readonly linear2: Linear;
  readonly norm1: LayerNorm; readonly norm2: LayerNorm; readonly norm3: LayerNorm;
  readonly drop: Dropout;
  constructor(c: Required<DecoderConfig>, o: InitOptions, rng: RNG) {
    super();
    this.selfAttn = this.child('self_attn', new MultiHeadAttention(c.hidden, c.heads, c.dropout, { ...o, rng }));
    this.norm1 = this.child('norm1', new LayerNorm(c.hidden, 1e-5, o));
    this.crossAttn = this.child('cross_attn', new MultiHeadAttention(c.hidden, c.heads, c.dropout, { ...o, rng }));
    this.norm2 = this.child('norm2', new LayerNorm(c.hidden, 1e-5, o));
    this.linear1 = this.child('linear1', new Linear(c.hidden, c.ffn, o));
    this.linear2 = this.child('linear2', new Linear(c.ffn, c.hidden, o));
    this.norm3 = this.child('norm3', new LayerNorm(c.hidden, 1e-5, o));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng));
  }
  /** x, pos (B, K, H) or null (no slot embedding); the words' keys and values for cross-attention, projected once (B, M, H). */
  forward(x: Tensor, pos: Tensor | null, words: ProjectedKeyValue, wordMask: Tensor): Tensor {
    const qk = pos ? T.add(x, pos) : x;
    x = this.norm1.forward(T.add(x, this.drop.forward(this.selfAttn.forward(qk, qk, x))));
    x = this.norm2.forward(T.add(x, this.drop.forward(this.crossAttn.forward(pos ? T.add(x, pos) : x, words, null, { keyPaddingMask: wordMask }))));
    const ffn = this.linear2.forward(this.drop.forward(this.linear1.forward(x, 'relu')));
    return this.norm3.forward(T.add(x, this.drop.forward(ffn)));
  }
}

class Pointer extends Module {
  readonly words: Linear; readonly spans: Linear; readonly w: Tensor; readonly b: Tensor;
  constructor(h: number, o: InitOptions) {
    super();
    this.words = this.child('word_proj', new Linear(h, h, o));
    this.spans = this.child('span_proj', new Linear(h, h, o));
    // w is the official Linear(H, 1): N(0, linearStd²) under the official initialisation, else torch's default.
    const bound = 1 / Math.sqrt(h), device = resolveDevice(o.device);
    this.w = this.param('weight', o.linearStd === undefined ? T.rand([h], { device, dtype: o.dtype, rng: o.rng, low: -bound, high: bound }) : T.randn([h], { device, dtype: o.dtype, rng: o.rng, std: o.linearStd }));
    this.b = this.param('bias', T.zeros([1], { device: resolveDevice(o.device), dtype: o.dtype }));
  }
  /** The word side U = word_proj(words) (B, M, H), the same at every DDIM step. */
  projectWords(words: Tensor): Tensor { return this.words.forward(words); }
  /** Sigmoid probabilities (B, K, M) from projectWords' U and the spans (B, K, H); padded words get sigmoid(−1e25) = 0. */
  forward(projectedWords: Tensor, spans: Tensor, wordMask: Tensor): Tensor {
    return T.sigmoid(T.boundaryPointer(projectedWords, this.spans.forward(spans), this.w, this.b, wordMask));
  }
}

/** Two Linear layers with a GELU between, as the official time and slot-position MLPs. */
class Mlp2 extends Module {
  readonly l1: Linear; readonly l2: Linear;
  constructor(i: number, h: number, out: number, o: InitOptions) {
    super();
    this.l1 = this.child('0', new Linear(i, h, o));
    this.l2 = this.child('2', new Linear(h, out, o));
  }
  forward(x: Tensor): Tensor { return this.l2.forward(this.l1.forward(x, 'gelu')); }
}

export interface DecoderOutput { logits: Tensor; left: Tensor; right: Tensor; words: Tensor }

/**
 * What the decoder derives from the words alone, the same at every DDIM step: prediction prepares it
 * once per batch instead of once per step. Projecting every word and then gathering a span's boundary
 * rows equals gathering and then projecting (a Linear acts row by row), and costs B·M rows, not B·K.
 */
export interface DecoderMemory {
  words: Tensor; wordMask: Tensor; lengths: number[];
  /** lrconcat while training: start_proj and end_proj of every word (B·M, H), dropped out per span. */
  startWords: Tensor | null; endWords: Tensor | null;
  /**
   * lrconcat without dropout (evaluation): down_proj(concat(s, e)) = W_d[:, :H]·s + W_d[:, H:]·e + b_d, so
   * each half is applied to every word's start_proj or end_proj here and a step gathers and adds them (B·M, H).
   */
  spanStarts: Tensor | null; spanEnds: Tensor | null;
  /** Per span layer, the cross-attention keys and values of the words (B, M, H). */
  crossKeyValues: ProjectedKeyValue[];
  /** The boundary pointers' word projections (B, M, H). */
  leftWords: Tensor; rightWords: Tensor;
  /** The span-slot embedding of slots 0..K−1, the same for every sentence, step and span layer (B, K, H), or null without one. */
  slotPos: Tensor | null; proposals: number;
}

/** A memory's tensors to free when prediction ends: the words and their projections (the mask belongs to the batch). */
export function decoderMemoryTensors(m: DecoderMemory): Tensor[] {
  return [m.words, m.startWords, m.endWords, m.spanStarts, m.spanEnds, ...m.crossKeyValues.flatMap((kv) => [kv.k, kv.v]), m.leftWords, m.rightWords, m.slotPos].filter((t): t is Tensor => t !== null);
}

export class SpanDecoder extends Module {
  readonly c: Required<DecoderConfig>;
  /** Only for lrconcat pooling. */
  readonly startProj: Linear | null; readonly endProj: Linear | null; readonly downProj: Linear | null;
  readonly layers: SpanLayer[];
  readonly slotMlp: Mlp2 | null; readonly timeMlp: Mlp2 | null; readonly classifier: Mlp2;
  readonly leftPointer: Pointer; readonly rightPointer: Pointer;
  readonly drop: Dropout;

  constructor(config: DecoderConfig, o: InitOptions = {}) {
    super();
    this.c = { heads: 8, layers: 2, ffn: 1024, dropout: 0.1, spanPooling: 'lrconcat', slotEmbedding: true, timeEmbedding: 'mlp', ...config };
    const c = this.c, h = c.hidden, rng = o.rng ?? defaultRng();
    const lr = c.spanPooling === 'lrconcat';
    this.startProj = lr ? this.child('start_proj', new Linear(h, h, o)) : null;
    this.endProj = lr ? this.child('end_proj', new Linear(h, h, o)) : null;
    this.downProj = lr ? this.child('down_proj', new Linear(2 * h, h, o)) : null;
    const list = this.child('span_layers', new ModuleList());
    this.layers = Array.from({ length: c.layers }, () => list.add(new SpanLayer(c, o, rng)));
    this.slotMlp = c.slotEmbedding ? this.child('slot_embed', new Mlp2(h, h, h, o)) : null;
    this.timeMlp = c.timeEmbedding === 'mlp' ? this.child('time_embed', new Mlp2(h, h, h, o)) : null;
    this.leftPointer = this.child('left_pointer', new Pointer(h, o));
    this.rightPointer = this.child('right_pointer', new Pointer(h, o));
    this.classifier = this.child('classifier', new Mlp2(h, h, c.types + 1, o));
    this.drop = this.child('dropout', new Dropout(c.dropout, rng));
  }

  /** words (B, M, H), wordMask (B, M), lengths M_b, K proposals -> the step-independent part of the decoder. */
  prepare(words: Tensor, wordMask: Tensor, lengths: number[], proposals: number): DecoderMemory {
    const [B, M, h] = words.shape, K = proposals;
    const flat = T.reshape(words, [B * M, h]);
    const startWords = this.startProj ? this.startProj.forward(flat) : null;
    const endWords = this.endProj ? this.endProj.forward(flat) : null;
    const folded = this.downProj && startWords && endWords && !this.drop.training;
    return {
      words, wordMask, lengths,
      startWords: folded ? null : startWords,
      endWords: folded ? null : endWords,
      spanStarts: folded ? T.linear(startWords, T.slice(this.downProj!.weight, -1, 0, h), this.downProj!.bias) : null,
      spanEnds: folded ? T.linear(endWords, T.slice(this.downProj!.weight, -1, h, 2 * h), null) : null,
      crossKeyValues: this.layers.map((l) => l.crossAttn.projectKeyValue(words)),
      leftWords: this.leftPointer.projectWords(words),
      rightWords: this.rightPointer.projectWords(words),
      slotPos: this.slotMlp ? T.expand(T.reshape(this.slotMlp.forward(sinusoidalEmbedding(T.arange(0, K, 1, { device: words.device, dtype: words.dtype }), h)), [1, K, h]), [B, K, h]) : null,
      proposals: K,
    };
  }

  /** One denoising pass: pairs (B, K, 2) in [0, 1] and timesteps t (B) over a prepared memory -> logits, P^l, P^r. */
  forward(pairs: Tensor, mem: DecoderMemory, timesteps: number[]): DecoderOutput {
    const { x, words } = this.spanFeatures(pairs, mem, timesteps);
    return { logits: this.classifier.forward(x), ...this.pointers(x, mem), words };
  }

  /**
   * The same pass without the classifier: all an intermediate DDIM step needs, since the next sample is
   * built from the argmax boundaries and only the last step's class logits are output (spec §1.4.5).
   */
  boundaries(pairs: Tensor, mem: DecoderMemory, timesteps: number[]): Omit<DecoderOutput, 'logits'> {
    const { x, words } = this.spanFeatures(pairs, mem, timesteps);
    return { ...this.pointers(x, mem), words };
  }

  private pointers(x: Tensor, mem: DecoderMemory): { left: Tensor; right: Tensor } {
    return { left: this.leftPointer.forward(mem.leftWords, x, mem.wordMask), right: this.rightPointer.forward(mem.rightWords, x, mem.wordMask) };
  }

  /** The span layers' output (B, K, H) with the timestep added, and the discretised positions (B, K, 2). */
  private spanFeatures(pairs: Tensor, mem: DecoderMemory, timesteps: number[]): { x: Tensor; words: Tensor } {
    const [B, K] = pairs.shape, M = mem.words.shape[1], h = this.c.hidden, dev = mem.words.device;
    if (K !== mem.proposals) throw new Error(`SpanDecoder: ${K} proposals, but the memory was prepared for ${mem.proposals}`);
    const { words, wordMask, lengths } = mem;
    // Step 1: discretise to word positions with each sentence's M_b − 1.
    const lens = T.tensor(Float64Array.from(lengths), { device: dev, dtype: pairs.dtype });
    const pos = noGrad(() => pairsToWords(pairs, lens)); // (B, K, 2), f32 integers
    const l = T.slice(pos, -1, 0, 1), r = T.slice(pos, -1, 1, 2); // (B, K, 1)
    let spans: Tensor;
    if (this.downProj) {
      const offsets = T.tensor(Int32Array.from({ length: B }, (_, b) => b * M), { shape: [B, 1, 1], device: dev });
      const gather = (table: Tensor | null, p: Tensor) => T.reshape(T.indexSelect(table!, 0, T.reshape(T.add(T.cast(p, 'i32'), offsets), [B * K])), [B, K, h]);
      if (mem.spanStarts) {
        spans = T.add(gather(mem.spanStarts, l), gather(mem.spanEnds, r));
      } else {
        const s = this.drop.forward(gather(mem.startWords, l));
        const e = this.drop.forward(gather(mem.endWords, r));
        spans = this.drop.forward(this.downProj.forward(T.concat([s, e], -1)));
      }
    } else {
      const wordIdx = T.reshape(T.arange(0, M, 1, { device: dev, dtype: words.dtype }), [1, 1, M]);
      const inSpan = T.mul(T.ge(wordIdx, l), T.le(wordIdx, r)); // (B, K, M)
      const count = T.sum(inSpan, -1, true);
      spans = this.drop.forward(T.div(T.matmul(inSpan, words), T.affine(count, 1, 1e-30)));
    }
    let x = spans;
    this.layers.forEach((layer, i) => { x = layer.forward(x, mem.slotPos, mem.crossKeyValues[i], wordMask); });
    const sinusoid = sinusoidalEmbedding(T.tensor(Float64Array.from(timesteps), { device: dev, dtype: words.dtype }), h); // (B, h)
    const time = this.timeMlp ? this.timeMlp.forward(sinusoid) : sinusoid;
    return { x: T.add(x, T.reshape(time, [B, 1, h])), words: pos };
  }
}
