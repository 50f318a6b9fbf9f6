/**
 * Stacked (bi)directional LSTM with per-sequence lengths, on the fused LSTM op, with torch's parameter
 * names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, and *_reverse) and initialisation
 * U(−1/√H, 1/√H). Input (B, L, I) -> output (B, L, H · directions); padded positions are 0.
 */
import * as T from '../ops/index.js';
import { defaultRng } from '../tensor/random.js';
import { resolveDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import type { InitOptions } from './layers.js';
import { Module } from './module.js';

export interface LstmOptions extends InitOptions {
  layers?: number;
  bidirectional?: boolean;
  /** Dropout between layers (torch's `dropout`), applied in training mode. */
  dropout?: number;
  /** Use the op-by-op reference instead of the fused kernels (for testing and benchmarks). */
  unfused?: boolean;
}

export class LSTM extends Module {
  readonly layers: number;
  readonly directions: number;
  private weights: T.LstmWeights[][] = [];

  constructor(readonly inputSize: number, readonly hiddenSize: number, private o: LstmOptions = {}) {
    super();
    this.layers = o.layers ?? 1;
    this.directions = o.bidirectional ? 2 : 1;
    const bound = 1 / Math.sqrt(hiddenSize);
    const u = (shape: number[]) => T.rand(shape, { device: resolveDevice(o.device), dtype: o.dtype, rng: o.rng, low: -bound, high: bound });
    for (let l = 0; l < this.layers; l++) {
      const inSize = l === 0 ? inputSize : hiddenSize * this.directions;
      const perDir: T.LstmWeights[] = [];
      for (let dir = 0; dir < this.directions; dir++) {
        const sfx = `_l${l}${dir ? '_reverse' : ''}`;
        perDir.push({
          wih: this.param(`weight_ih${sfx}`, u([4 * hiddenSize, inSize])),
          whh: this.param(`weight_hh${sfx}`, u([4 * hiddenSize, hiddenSize])),
          bih: this.param(`bias_ih${sfx}`, u([4 * hiddenSize])),
          bhh: this.param(`bias_hh${sfx}`, u([4 * hiddenSize])),
        });
      }
      this.weights.push(perDir);
    }
  }

  forward(x: Tensor, lengths: readonly number[]): Tensor {
    const layer = this.o.unfused ? T.lstmLayerUnfused : T.lstmLayer;
    let h = x;
    for (let l = 0; l < this.layers; l++) {
      if (l > 0 && this.training && (this.o.dropout ?? 0) > 0) h = T.dropout(h, this.o.dropout!, (this.o.rng ?? defaultRng()).nextU32());
      const outs = this.weights[l].map((w, dir) => layer(h, w, lengths, dir === 1));
      h = outs.length === 1 ? outs[0] : T.concat(outs, -1);
    }
    return h;
  }
}
