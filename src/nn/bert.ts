/**
 * BERT encoder with Hugging Face parameter names, so an unchanged checkpoint folder (config.json,
 * vocab.txt, model.safetensors) loads; returns the last hidden states. Post-LN layers:
 *   x = LN(x + Dropout(SelfOutput(Attention(x))));  x = LN(x + Dropout(W2 GELU(W1 x)))
 * and sub-word -> word max/mean pooling (spec §1.2).
 */
import { oneLine } from '../text/one-line.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as T from '../ops/index.js';
import { defaultRng, type RNG } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout, Embedding, type InitOptions, LayerNorm, Linear, ModuleList } from './layers.js';
import { Module } from './module.js';
import { readSafetensors } from './safetensors.js';
import { decodeUtf8 } from '../text/utf8.js';

export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act?: string;
  hidden_dropout_prob?: number;
  attention_probs_dropout_prob?: number;
  max_position_embeddings: number;
  type_vocab_size?: number;
  layer_norm_eps?: number;
}

/** Upper bounds keep a hostile config.json from asking for absurd allocations. */
const REQUIRED: [keyof BertConfig, number][] = [
  ['vocab_size', 1_000_000], ['hidden_size', 8192], ['num_hidden_layers', 256], ['num_attention_heads', 256],
  ['intermediate_size', 65536], ['max_position_embeddings', 65536],
];

export function parseBertConfig(text: string, file = 'config.json'): BertConfig {
  const bad = (msg: string): never => { throw new Error(oneLine(`${file}: ${msg}`)); };
  let c: Record<string, unknown> = {};
  try { c = JSON.parse(text); } catch (e) { bad(`not valid JSON: ${(e as Error).message}`); }
  if (!c || typeof c !== 'object' || Array.isArray(c)) bad('expected a JSON object');
  for (const [k, max] of REQUIRED) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) bad(`field '${k}' must be a whole number in [1, ${max}], got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  if ((c.hidden_size as number) % (c.num_attention_heads as number) !== 0) {
    bad(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.type_vocab_size !== undefined && (!Number.isInteger(c.type_vocab_size) || (c.type_vocab_size as number) < 1 || (c.type_vocab_size as number) > 1024)) {
    bad(`field 'type_vocab_size' must be a whole number in [1, 1024], got ${JSON.stringify(c.type_vocab_size)?.slice(0, 40)}`);
  }
  for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob']) {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v < 1))) bad(`field '${k}' must be a number in [0, 1), got ${JSON.stringify(v)?.slice(0, 40)}`);
  }
  if (c.layer_norm_eps !== undefined && (typeof c.layer_norm_eps !== 'number' || !(c.layer_norm_eps > 0 && c.layer_norm_eps < 1))) {
    bad(`field 'layer_norm_eps' must be a number in (0, 1), got ${JSON.stringify(c.layer_norm_eps)?.slice(0, 40)}`);
  }
  const act = c.hidden_act ?? 'gelu';
  if (act !== 'gelu') bad(`hidden_act ${JSON.stringify(act)?.slice(0, 40)} is not supported (only exact 'gelu')`);
  return c as unknown as BertConfig;
}

class BertSelfAttention extends Module {
  readonly query: Linear; readonly key: Linear; readonly value: Linear;
  constructor(c: BertConfig, o: InitOptions) {
    super();
    this.query = this.child('query', new Linear(c.hidden_size, c.hidden_size, o));
    this.key = this.child('key', new Linear(c.hidden_size, c.hidden_size, o));
    this.value = this.child('value', new Linear(c.hidden_size, c.hidden_size, o));
  }
}

class BertOutput extends Module {
  readonly dense: Linear; readonly LayerNorm: LayerNorm; readonly dropout: Dropout;
  constructor(inSize: number, c: BertConfig, o: InitOptions, rng: RNG) {
    super();
    this.dense = this.child('dense', new Linear(inSize, c.hidden_size, o));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(c.hidden_size, c.layer_norm_eps ?? 1e-12, o));
    this.dropout = this.child('dropout', new Dropout(c.hidden_dropout_prob ?? 0.1, rng));
  }
  forward(h: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(T.add(this.dropout.forward(this.dense.forward(h)), residual));
  }
}

class BertAttention extends Module {
  readonly self: BertSelfAttention; readonly output: BertOutput;
  constructor(c: BertConfig, o: InitOptions, rng: RNG) {
    super();
    this.self = this.child('self', new BertSelfAttention(c, o));
    this.output = this.child('output', new BertOutput(c.hidden_size, c, o, rng));
  }
}

/** One post-LN transformer encoder layer, as in BERT. */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: Module & { dense: Linear };
  readonly output: BertOutput;
  private rng: RNG;

  constructor(readonly config: BertConfig, o: InitOptions = {}) {
    super();
    this.rng = o.rng ?? defaultRng();
    this.attention = this.child('attention', new BertAttention(config, o, this.rng));
    const inter = new (class extends Module { dense!: Linear; })();
    inter.dense = (inter as unknown as { child: (n: string, m: Linear) => Linear }).child('dense', new Linear(config.hidden_size, config.intermediate_size, o));
    this.intermediate = this.child('intermediate', inter);
    this.output = this.child('output', new BertOutput(config.intermediate_size, config, o, this.rng));
  }

  /** x (B, S, E), mask (B, S) with 1 for real tokens. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const a = this.attention.self;
    const p = this.training ? (this.config.attention_probs_dropout_prob ?? 0.1) : 0;
    const ctx = T.attention(a.query.forward(x), a.key.forward(x), a.value.forward(x), {
      heads: this.config.num_attention_heads, mask, dropout: p, seed: p > 0 ? this.rng.nextU32() : 0,
    });
    const h = this.attention.output.forward(ctx, x);
    return this.output.forward(this.intermediate.dense.forward(h, 'gelu'), h);
  }
}

class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding; readonly position_embeddings: Embedding; readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm; readonly dropout: Dropout;
  constructor(c: BertConfig, o: InitOptions, rng: RNG) {
    super();
    this.word_embeddings = this.child('word_embeddings', new Embedding(c.vocab_size, c.hidden_size, o));
    this.position_embeddings = this.child('position_embeddings', new Embedding(c.max_position_embeddings, c.hidden_size, o));
    this.token_type_embeddings = this.child('token_type_embeddings', new Embedding(c.type_vocab_size ?? 2, c.hidden_size, o));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(c.hidden_size, c.layer_norm_eps ?? 1e-12, o));
    this.dropout = this.child('dropout', new Dropout(c.hidden_dropout_prob ?? 0.1, rng));
  }
}

class BertPooler extends Module {
  readonly dense: Linear;
  constructor(c: BertConfig, o: InitOptions) {
    super();
    this.dense = this.child('dense', new Linear(c.hidden_size, c.hidden_size, o));
  }
}

export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly layers: BertLayer[];
  /** Loaded when a checkpoint has it (most do); not used for the hidden states. */
  readonly pooler: BertPooler;

  constructor(readonly config: BertConfig, o: InitOptions = {}) {
    super();
    const rng = o.rng ?? defaultRng();
    this.embeddings = this.child('embeddings', new BertEmbeddings(config, o, rng));
    const encoder = this.child('encoder', new (class extends Module {})());
    const list = (encoder as unknown as { child: (n: string, m: ModuleList) => ModuleList }).child('layer', new ModuleList());
    this.layers = Array.from({ length: config.num_hidden_layers }, () => list.add(new BertLayer(config, { ...o, rng })));
    this.pooler = this.child('pooler', new BertPooler(config, o));
  }

  /** ids (B, S) i32, mask (B, S) 1 = token 0 = padding -> last hidden states (B, S, hidden). */
  forward(ids: Tensor, mask: Tensor | null = null, tokenTypes: Tensor | null = null): Tensor {
    return this.forwardEmbeds(this.embeddings.word_embeddings.forward(ids), mask, tokenTypes);
  }

  /**
   * Hugging Face's `inputs_embeds` path: input vectors (B, S, hidden) in place of word embeddings (e.g.
   * learnt prompt vectors before [CLS]); positions 0.. and segment embeddings are added to every row as to
   * word embeddings. -> last hidden states (B, S, hidden).
   */
  forwardEmbeds(inputs: Tensor, mask: Tensor | null = null, tokenTypes: Tensor | null = null): Tensor {
    const [B, S] = inputs.shape;
    if (S > this.config.max_position_embeddings) throw new Error(`BERT: ${S} tokens exceed max_position_embeddings ${this.config.max_position_embeddings}`);
    const e = this.embeddings;
    const pos = e.position_embeddings.forward(T.arange(S, undefined, 1, { device: inputs.device }));
    const types = e.token_type_embeddings.forward(tokenTypes ?? T.zeros([B, S], { dtype: 'i32', device: inputs.device }));
    let h = e.dropout.forward(e.LayerNorm.forward(T.add(T.add(inputs, pos), types)));
    for (const layer of this.layers) h = layer.forward(h, mask);
    return h;
  }

  /**
   * Loads a Hugging Face checkpoint folder: config.json and model.safetensors (names may carry a
   * `bert.` prefix; TF-era `gamma`/`beta` are mapped to `weight`/`bias`). Heads of task models are ignored.
   */
  static async fromPretrained(dir: string, o: InitOptions = {}): Promise<BertModel> {
    const cfgPath = join(dir, 'config.json');
    if (!existsSync(cfgPath)) throw new Error(`${dir}: no config.json (a BERT folder needs config.json, vocab.txt and model.safetensors)`);
    const model = new BertModel(parseBertConfig(decodeUtf8(readFileSync(cfgPath), cfgPath), cfgPath), o);
    const weightsPath = join(dir, 'model.safetensors');
    if (!existsSync(weightsPath)) throw new Error(`${dir}: no model.safetensors (convert pytorch_model.bin with the safetensors tools)`);
    const raw = readSafetensors(weightsPath);
    const own = new Set(model.stateDict().keys());
    const state = new Map<string, { shape: number[]; data: ArrayLike<number> }>();
    for (const [name, t] of raw) {
      const n = name.replace(/^bert\./, '').replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      if (own.has(n)) state.set(n, t);
    }
    const missing = [...own].filter((k) => !state.has(k) && !k.startsWith('pooler.'));
    if (missing.length) throw new Error(`${weightsPath}: missing ${missing.length} BERT weights, e.g. ${missing.slice(0, 3).join(', ')}`);
    await model.loadStateDict(state, false);
    return model;
  }
}

/**
 * Sub-word -> word pooling over contiguous spans (spec §1.2), as a gather of the k-th piece of every
 * word for k < the longest word, combined by max or mean. Words beyond a sentence's length give 0.
 *   hidden (B, S, E), spans[b][w] = [start, end) -> (B, maxWords, E)
 */
/** How a word's sub-word vectors become one: their maximum (the official default) or mean. */
export const WORD_POOLINGS = ['max', 'mean'] as const;
export type WordPooling = (typeof WORD_POOLINGS)[number];

export function poolWords(hidden: Tensor, spans: readonly (readonly [number, number])[][], mode: WordPooling): Tensor {
  const [B, S, E] = hidden.shape;
  // Reduces, not Math.max(...): a very long sentence would overflow the argument list.
  const M = spans.reduce((m, s) => Math.max(m, s.length), 1);
  const K = spans.reduce((m, s) => s.reduce((k, [a, b]) => Math.max(k, b - a), m), 1);
  const flat = T.reshape(hidden, [B * S, E]);
  const present = new Float32Array(B * M);
  const counts = new Float32Array(B * M).fill(1);
  // A word with no sub-words (an empty span) pools to the zero vector, as in the official code.
  spans.forEach((ws, b) => ws.forEach(([a, e], w) => { present[b * M + w] = e > a ? 1 : 0; counts[b * M + w] = Math.max(e - a, 1); }));
  let acc: Tensor | null = null;
  for (let k = 0; k < K; k++) {
    const idx = new Int32Array(B * M);
    const valid = new Float32Array(B * M);
    spans.forEach((ws, b) => ws.forEach(([a, e], w) => {
      idx[b * M + w] = b * S + Math.min(a + k, e - 1);
      valid[b * M + w] = a + k < e ? 1 : 0;
    }));
    const rows = T.indexSelect(flat, 0, T.tensor(idx, { device: hidden.device }));
    if (mode === 'max') {
      acc = acc ? T.maximum(acc, rows) : rows; // repeats of a word's last piece do not change its max
    } else {
      const part = T.mul(rows, T.tensor(valid, { shape: [B * M, 1], device: hidden.device }));
      acc = acc ? T.add(acc, part) : part;
    }
  }
  let out = acc!;
  if (mode === 'mean') out = T.div(out, T.tensor(counts, { shape: [B * M, 1], device: hidden.device }));
  out = T.mul(out, T.tensor(present, { shape: [B * M, 1], device: hidden.device }));
  return T.reshape(out, [B, M, E]);
}
