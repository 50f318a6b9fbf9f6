/**
 * Fused AdamW: one pass updates the parameter and both moments in place.
 *   p, m, v [n] (read-write), g [n] -> p, m, v  (vec4 views when n % 4 = 0)
 *   g' = g * gradScale                 (global-norm clipping folds in here)
 *   m  = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
 *   p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)  with bc = 1 - b^t, or 1 without bias correction
 * Decoupled weight decay p -= lr * wd * p runs before the Adam step (torch.optim.AdamW) or after it
 * (Hugging Face's AdamW, which the official DiffusionNER uses).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, UniformWriter, WG } from './common.js';

export interface AdamWParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1 - beta^step, or 1 when bias correction is off. */
  bc1: number; bc2: number;
  gradScale: number;
  decayAfter: boolean;
}

export function launchAdamW(dev: GpuDevice, p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void {
  // Four elements per invocation through vec4 views when the length allows: on lavapipe a vec4 load
  // costs little more than a scalar one, and AdamW is seven loads and stores per element.
  const vec = p.size % 4 === 0;
  const T = vec ? 'vec4<f32>' : 'f32';
  const spec = {
    key: `adamw:${vec ? 'vec4' : 'f32'}`,
    name: 'adamw',
    code: () => `
struct Params { n: u32, decayAfter: u32, lr: f32, b1: f32, b2: f32, eps: f32, wd: f32, bc1: f32, bc2: f32, gs: f32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read_write> P: array<${T}>;
@group(0) @binding(1) var<storage, read> G: array<${T}>;
@group(0) @binding(2) var<storage, read_write> M: array<${T}>;
@group(0) @binding(3) var<storage, read_write> V: array<${T}>;
@group(0) @binding(4) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.n) { return; }
  var p = P[i];
  let g = G[i] * u.gs;
  if (u.decayAfter == 0u) { p -= u.lr * u.wd * p; }
  let m = u.b1 * M[i] + (1.0 - u.b1) * g;
  let v = u.b2 * V[i] + (1.0 - u.b2) * g * g;
  p -= u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
  if (u.decayAfter != 0u) { p -= u.lr * u.wd * p; }
  P[i] = p; M[i] = m; V[i] = v;
}`,
  };
  const n = vec ? p.size / 4 : p.size;
  const uni = new UniformWriter().u32(n, h.decayAfter ? 1 : 0)
    .f32(h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.bc1, h.bc2, h.gradScale).build();
  dev.backend.dispatch(spec, [p.buffer, g.buffer, m.buffer, v.buffer], uni, grid1d(n));
}

export function cpuAdamW(p: TypedArray, g: TypedArray, m: TypedArray, v: TypedArray, h: AdamWParams): void {
  for (let i = 0; i < p.length; i++) {
    let pi = p[i];
    const gi = g[i] * h.gradScale;
    if (!h.decayAfter) pi -= h.lr * h.weightDecay * pi;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    pi -= (h.lr * (m[i] / h.bc1)) / (Math.sqrt(v[i] / h.bc2) + h.eps);
    if (h.decayAfter) pi -= h.lr * h.weightDecay * pi;
    p[i] = pi;
  }
}
