/**
 * BINDER's own pieces (heads-notes §2.1, spec §3.2):
 *   l2Normalize     x / max(‖x‖, 1e-12) over the last axis (torch's F.normalize), differentiable
 *   TypeEncoder     a second sentence encoder with its own learnt [CLS] vector (scratch) or BERT's [CLS]
 *                   piece (bert): t_k is its position-0 output for description k
 *   WidthEmbedding  the span-width table W (rows: widths 1..spanWidths, row 0 = zero padding for j < i),
 *                   N(0, 0.02) as Hugging Face's _init_weights, row 0 zero and never trained
 *   widthIndex      the (n', n') width row of every cell (i, j) of a sentence with its [CLS] at 0
 */
import * as T from '../../ops/index.js';
import type { InitOptions } from '../../nn/layers.js';
import { Module } from '../../nn/module.js';
import { cpu, resolveDevice } from '../../tensor/device.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { EncoderInputs, SentenceEncoder } from '../../ner/encoders/sentence-encoder.js';

/** torch's F.normalize eps: ‖x‖ below it divides by it instead. */
export const NORM_EPS = 1e-12;

/** x / max(‖x‖₂, 1e-12) over the last axis, written as x / sqrt(max(Σx², 1e-24)) so that a zero row has a finite gradient. */
export function l2Normalize(x: Tensor): Tensor {
  return T.div(x, T.sqrt(T.maximum(T.sum(T.square(x), -1, true), NORM_EPS * NORM_EPS)));
}

/**
 * The type encoder: a sentence encoder of its own (adopted: its parameters are this module's) and, with
 * the scratch encoder, its learnt [CLS] vector; with BERT (`cls` null) the encoder's [CLS] row (clsRow).
 */
export class TypeEncoder extends Module {
  readonly cls: Tensor | null;

  constructor(readonly encoder: SentenceEncoder, cls: Tensor | null) {
    super();
    this.adopt(encoder);
    this.cls = cls ? this.param('cls', cls) : null;
  }

  /** Descriptions' words -> t (M, H): each description's output at its [CLS] (position 0). */
  forward(descriptions: EncoderInputs): Tensor {
    const h = this.encoder.forward(descriptions, this.cls ?? undefined); // (M, 1 + L, H)
    const [M, , H] = h.shape;
    return T.reshape(T.slice(h, 1, 0, 1), [M, H]);
  }
}

export class WidthEmbedding extends Module {
  readonly weight: Tensor;

  constructor(readonly widths: number, readonly dim: number, o: InitOptions) {
    super();
    const dtype = o.dtype ?? 'f32';
    const drawn = T.randn([widths + 1, dim], { device: cpu, dtype, rng: o.rng, std: 0.02 });
    const values = drawn.array.slice();
    drawn.dispose();
    values.fill(0, 0, dim); // row 0: padding (torch's padding_idx = 0)
    this.weight = this.param('weight', T.tensor(values, { shape: [widths + 1, dim], device: resolveDevice(o.device), dtype }));
  }

  /** The table with row 0 held at zero: the padding row takes no gradient, as torch's padding_idx. */
  table(): Tensor {
    const zero = T.zeros([1, this.dim], { device: this.weight.device, dtype: this.weight.dtype });
    return T.concat([zero, T.slice(this.weight, 0, 1)], 0);
  }
}

/** Cell (i, j) of an n'-position grid (position 0 the [CLS]): width j − i + 1 capped at `widths`, 0 where j < i. */
export function widthIndex(n1: number, widths: number): Int32Array {
  const out = new Int32Array(n1 * n1);
  for (let i = 0; i < n1; i++) for (let j = i; j < n1; j++) out[i * n1 + j] = Math.min(j - i + 1, widths);
  return out;
}
