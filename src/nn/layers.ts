/**
 * Basic layers with PyTorch's default initialisation (or Hugging Face's, InitOptions.linearStd) and Hugging Face parameter names:
 * Linear (weight [out, in], bias [out]), Embedding (weight [num, dim]), LayerNorm (weight, bias),
 * Dropout (seeded), activations and an MLP.
 */
import type { Activation } from '../kernels/matmul.js';
import * as T from '../ops/index.js';
import { type Device, type DeviceKind, resolveDevice } from '../tensor/device.js';
import { defaultRng, type RNG } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export interface InitOptions {
  device?: Device | DeviceKind;
  rng?: RNG;
  /**
   * Linear layers: weights drawn from N(0, linearStd²) and biases 0, as Hugging Face's `_init_weights`
   * does (0.02) for the layers a model adds around BERT; unset, PyTorch's default uniform init.
   */
  linearStd?: number;
  /** The parameters' dtype: f32 (the default) or f64 (cpu device only; for parity checks in double precision). */
  dtype?: 'f32' | 'f64';
}

/** U(−1/√fanIn, 1/√fanIn): what torch.nn.Linear's kaiming_uniform(a = √5) amounts to, for weight and bias. */
function uniformFanIn(shape: number[], fanIn: number, o: InitOptions): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return T.rand(shape, { device: resolveDevice(o.device), dtype: o.dtype, rng: o.rng, low: -bound, high: bound });
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: InitOptions & { bias?: boolean } = {}) {
    super();
    const std = opts.linearStd;
    this.weight = this.param('weight', std === undefined
      ? uniformFanIn([outFeatures, inFeatures], inFeatures, opts)
      : T.randn([outFeatures, inFeatures], { device: resolveDevice(opts.device), dtype: opts.dtype, rng: opts.rng, std }));
    this.bias = opts.bias === false ? null
      : this.param('bias', std === undefined ? uniformFanIn([outFeatures], inFeatures, opts) : T.zeros([outFeatures], { device: resolveDevice(opts.device), dtype: opts.dtype }));
  }

  /** x (..., in) -> (..., out), with an optional activation fused into the matmul. */
  forward(x: Tensor, act: Activation = 'none'): Tensor {
    return T.linear(x, this.weight, this.bias, act);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly dim: number, opts: InitOptions = {}) {
    super();
    this.weight = this.param('weight', T.randn([numEmbeddings, dim], { device: resolveDevice(opts.device), dtype: opts.dtype, rng: opts.rng }));
  }

  /** ids: i32 of any shape -> (...ids.shape, dim). */
  forward(ids: Tensor): Tensor {
    return T.indexSelect(this.weight, 0, ids);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(readonly dim: number, readonly eps = 1e-5, opts: InitOptions = {}) {
    super();
    const device = resolveDevice(opts.device);
    this.weight = this.param('weight', T.ones([dim], { device, dtype: opts.dtype }));
    this.bias = this.param('bias', T.zeros([dim], { device, dtype: opts.dtype }));
  }

  forward(x: Tensor): Tensor {
    return T.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/**
 * Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p).
 * The mask is drawn from a seeded Philox stream on the host, so runs repeat exactly on every device.
 */
export class Dropout extends Module {
  constructor(readonly p: number, private rng: RNG = defaultRng()) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return T.dropout(x, this.p, this.rng.nextU32());
  }
}

export class GELU extends Module {
  forward(x: Tensor): Tensor { return T.gelu(x); }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return T.relu(x); }
}

/** Linear layers with an activation between them (none after the last), as `layers.0`, `layers.1`, ... */
export class MLP extends Module {
  readonly layers: Linear[];

  constructor(sizes: number[], readonly act: Activation = 'relu', opts: InitOptions = {}) {
    super();
    if (sizes.length < 2) throw new Error('MLP: needs at least an input and an output size');
    const holder = this.child('layers', new ModuleList());
    this.layers = sizes.slice(1).map((out, i) => holder.add(new Linear(sizes[i], out, opts)));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l, i) => l.forward(h, i < this.layers.length - 1 ? this.act : 'none'), x);
  }
}

/** Children named 0, 1, 2, ... (torch.nn.ModuleList). */
export class ModuleList extends Module {
  private items: Module[] = [];
  add<M extends Module>(m: M): M {
    this.child(String(this.items.length), m);
    this.items.push(m);
    return m;
  }
  get length(): number { return this.items.length; }
  at(i: number): Module { return this.items[i]; }
}
