/**
 * BOPN's own layers (spec §2.3–2.4), each with the official initialisation:
 *   ConditionalLayerNorm  Norm(x) ⊙ (γ + W_γ c) + β + W_β c, Norm without affine (eps 1e-12), W_γ and W_β
 *                         bias-free and zero at the start (so it begins as a plain normalisation)
 *   ReluLinear            ReLU(W x + b), Kaiming-uniform for ReLU (U(±√(6 / fan_in))), bias 0
 *   OffsetConv            the 3-D convolution over (type, start, end) with the L label scores as channels:
 *                         channel Dropout3d -> 1×1×1 conv -> GELU -> depthwise 3³ (dilation 1) -> GELU ->
 *                         depthwise 3³ (dilation 2) -> GELU; Linear(2L -> L) over both depthwise outputs
 */
import * as T from '../../ops/index.js';
import { type InitOptions, Linear } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { resolveDevice } from '../../tensor/device.js';
import type { RNG } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';

export const NORM_EPS = 1e-12;

function creation(o: InitOptions) {
  return { device: resolveDevice(o.device), dtype: o.dtype };
}

/** Layer normalisation without an affine part, over the last axis. */
export function plainNorm(x: Tensor): Tensor {
  const d = x.shape.at(-1)!, o = { device: x.device, dtype: x.dtype };
  return T.layerNorm(x, T.ones([d], o), T.zeros([d], o), NORM_EPS);
}

export class ConditionalLayerNorm extends Module {
  readonly gamma: Tensor; readonly beta: Tensor;
  readonly gamma_map: Linear; readonly beta_map: Linear;

  constructor(readonly dim: number, readonly condDim: number, o: InitOptions) {
    super();
    this.gamma = this.param('gamma', T.ones([dim], creation(o)));
    this.beta = this.param('beta', T.zeros([dim], creation(o)));
    this.gamma_map = this.child('gamma_map', new Linear(condDim, dim, { ...o, bias: false }));
    this.beta_map = this.child('beta_map', new Linear(condDim, dim, { ...o, bias: false }));
    for (const w of [this.gamma_map.weight, this.beta_map.weight]) w.copyFrom(new Float32Array(w.size));
  }

  /** The scale γ + W_γ c and shift β + W_β c for conditions c (..., condDim) -> (..., dim) each. */
  scaleShift(cond: Tensor): { scale: Tensor; shift: Tensor } {
    return { scale: T.add(this.gamma_map.forward(cond), this.gamma), shift: T.add(this.beta_map.forward(cond), this.beta) };
  }
}

export class ReluLinear extends Module {
  readonly weight: Tensor; readonly bias: Tensor;

  constructor(inFeatures: number, outFeatures: number, o: InitOptions) {
    super();
    const bound = Math.sqrt(6 / inFeatures);
    this.weight = this.param('weight', T.rand([outFeatures, inFeatures], { ...creation(o), rng: o.rng, low: -bound, high: bound }));
    this.bias = this.param('bias', T.zeros([outFeatures], creation(o)));
  }

  forward(x: Tensor): Tensor { return T.linear(x, this.weight, this.bias, 'relu'); }
}

/** A depthwise 3³ convolution's parameters, torch's Conv3d(C, C, 3, groups = C) default init: U(±1/√27). */
class DepthwiseConv3d extends Module {
  readonly weight: Tensor; readonly bias: Tensor;
  constructor(channels: number, readonly dilation: number, o: InitOptions) {
    super();
    const bound = 1 / Math.sqrt(27), r = { ...creation(o), rng: o.rng, low: -bound, high: bound };
    this.weight = this.param('weight', T.rand([channels, 1, 3, 3, 3], r));
    this.bias = this.param('bias', T.rand([channels], r));
  }
  /** x (B, C, D1, D2, D3) -> GELU(conv(x)). */
  forward(x: Tensor): Tensor { return T.gelu(T.depthwiseConv3d(x, this.weight, this.bias, this.dilation)); }
}

export class OffsetConv extends Module {
  readonly base: Linear; readonly dw1: DepthwiseConv3d; readonly dw2: DepthwiseConv3d; readonly out: Linear;

  constructor(readonly labels: number, readonly dropout: number, private readonly rng: RNG, o: InitOptions) {
    super();
    this.base = this.child('base', new Linear(labels, labels, o));
    this.dw1 = this.child('dw1', new DepthwiseConv3d(labels, 1, o));
    this.dw2 = this.child('dw2', new DepthwiseConv3d(labels, 2, o));
    this.out = this.child('out', new Linear(2 * labels, labels, o));
  }

  /** s (B, n, n, M, L) label scores -> the correction (B, n, n, M, L) added to them. */
  forward(s: Tensor): Tensor {
    const [B, n, , M, L] = s.shape;
    if (this.training && this.dropout > 0) {
      // Dropout3d: whole channels of a sentence's volume are dropped together.
      const keep = T.dropout(T.ones([B, 1, 1, 1, L], { device: s.device, dtype: s.dtype }), this.dropout, this.rng.nextU32());
      s = T.mul(s, keep);
    }
    const base = T.permute(this.base.forward(s, 'gelu'), [0, 4, 3, 1, 2]); // (B, L, M, n, n)
    const q1 = this.dw1.forward(base), q2 = this.dw2.forward(q1);
    const both = T.permute(T.concat([q1, q2], 1), [0, 3, 4, 2, 1]); // (B, n, n, M, 2L)
    return T.reshape(this.out.forward(both), [B, n, n, M, L]);
  }
}
