/**
 * Multi-head attention modules on the fused attention op.
 * MultiHeadAttention follows torch.nn.MultiheadAttention's parameter names (in_proj_weight [3E, E],
 * in_proj_bias [3E], out_proj.weight, out_proj.bias), which the official DiffusionNER decoder uses;
 * inputs are batch-first (B, L, E).
 */
import * as T from '../ops/index.js';
import { defaultRng, type RNG } from '../tensor/random.js';
import { resolveDevice } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';
import { type InitOptions, Linear } from './layers.js';
import { Module } from './module.js';

/** Keys and values (B, Lk, E) of a memory, projected once for several attention calls. */
export interface ProjectedKeyValue { readonly k: Tensor; readonly v: Tensor }

export interface AttentionCallOptions {
  /** (B, Lk): 1 = attend, 0 = padding. */
  keyPaddingMask?: Tensor | null;
}

/** Xavier-uniform, as torch initialises in_proj_weight. */
function xavierUniform(shape: [number, number], o: InitOptions): Tensor {
  const bound = Math.sqrt(6 / (shape[0] + shape[1]));
  return T.rand(shape, { device: resolveDevice(o.device), dtype: o.dtype, rng: o.rng, low: -bound, high: bound });
}

export class MultiHeadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;
  private rng: RNG;

  constructor(readonly embedDim: number, readonly heads: number, readonly dropout = 0, opts: InitOptions = {}) {
    super();
    if (embedDim % heads !== 0) throw new Error(`MultiHeadAttention: ${embedDim} is not divisible by ${heads} heads`);
    this.rng = opts.rng ?? defaultRng();
    // torch applies xavier_uniform_ to the packed [3E, E] weight (bound sqrt(6 / 4E)) and zeroes both biases.
    this.inProjWeight = this.param('in_proj_weight', xavierUniform([3 * embedDim, embedDim], opts));
    this.inProjBias = this.param('in_proj_bias', T.zeros([3 * embedDim], { device: resolveDevice(opts.device), dtype: opts.dtype }));
    this.outProj = this.child('out_proj', new Linear(embedDim, embedDim, opts));
    this.outProj.bias!.copyFrom(new Float32Array(embedDim));
  }

  /** Projection of x with rows [from, to) of the packed weight. */
  private project(x: Tensor, from: number, to: number): Tensor {
    const E = this.embedDim;
    return T.linear(x, T.slice(this.inProjWeight, 0, from * E, to * E), T.slice(this.inProjBias, 0, from * E, to * E));
  }

  /**
   * query (B, Lq, E), key and value (B, Lk, E) -> (B, Lq, E). `key` may instead be a memory already
   * projected by projectKeyValue (value is then null).
   */
  forward(query: Tensor, key: Tensor | ProjectedKeyValue, value: Tensor | null, o: AttentionCallOptions = {}): Tensor {
    // Three separate projections: one packed product would need three strided copies to split its
    // output, which cost more on lavapipe than the extra dispatches (docs/NN.md).
    const q = this.project(query, 0, 1);
    let kv: ProjectedKeyValue;
    if (!(key instanceof Tensor)) kv = key;
    else if (value === null) throw new Error('MultiHeadAttention: value is null but key is a tensor, not a projected memory');
    else kv = { k: this.project(key, 1, 2), v: this.project(value, 2, 3) };
    const p = this.training ? this.dropout : 0;
    const ctx = T.attention(q, kv.k, kv.v, { heads: this.heads, mask: o.keyPaddingMask ?? null, dropout: p, seed: p > 0 ? this.rng.nextU32() : 0 });
    return this.outProj.forward(ctx);
  }

  /**
   * Keys and values of a memory (B, Lk, E) that several queries attend to: DiffusionNER's decoder
   * cross-attends to the same words at every DDIM step, so it projects them once.
   */
  projectKeyValue(memory: Tensor): ProjectedKeyValue {
    return { k: this.project(memory, 1, 2), v: this.project(memory, 2, 3) };
  }
}
