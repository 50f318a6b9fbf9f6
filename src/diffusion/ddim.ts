/**
 * Forward noising and the DDIM sampler (spec §1.4.3, §1.4.5), on tensors of any shape (..., 2) whose
 * leading dimension is the batch. Coefficients are computed in float64 on the host from the schedule.
 */
import * as T from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { NoiseSchedule } from './schedule.js';

/**
 * DDIM timestep pairs: γ + 1 evenly spaced float32 values from −1 to T − 1, truncated toward zero,
 * reversed, paired. T = 1000, γ = 5: (999, 799), (799, 599), (599, 399), (399, 199), (199, −1).
 */
export function ddimTimesteps(T_: number, gamma: number): [number, number][] {
  if (!Number.isInteger(gamma) || gamma < 1 || gamma > T_) throw new Error(`DDIM: sampling steps must be in 1..${T_}, got ${gamma}`);
  const f32 = new Float32Array(gamma + 1);
  // torch.linspace(-1, T - 1, steps = γ + 1) in float32, then .int() (truncation toward zero).
  const step = Math.fround((T_ - 1 - -1) / gamma);
  const half = Math.floor((gamma + 1) / 2);
  for (let i = 0; i <= gamma; i++) f32[i] = i < half ? Math.fround(-1 + Math.fround(step * i)) : Math.fround(T_ - 1 - Math.fround(step * (gamma - i)));
  const ts = Array.from(f32, Math.trunc).reverse();
  return ts.slice(0, -1).map((t, i) => [t, ts[i + 1]]);
}

/** ᾱ at each batch element's timestep, shaped (B, 1, ..., 1) to broadcast over x of rank `rank`. */
function perBatch(values: number[], rank: number, like: Tensor): Tensor {
  return T.tensor((like.dtype === 'f64' ? Float64Array : Float32Array).from(values), { shape: [values.length, ...Array(rank - 1).fill(1)], device: like.device, dtype: like.dtype === 'f64' ? 'f64' : 'f32' });
}

/** x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε with one t per batch element (x0, ε: (B, ...)). */
export function qSample(schedule: NoiseSchedule, x0: Tensor, t: number[], eps: Tensor): Tensor {
  if (t.length !== x0.shape[0]) throw new Error(`qSample: ${t.length} timesteps for a batch of ${x0.shape[0]}`);
  const a = t.map((ti) => schedule.alphaBar(ti));
  return T.add(T.mul(x0, perBatch(a.map(Math.sqrt), x0.rank, x0)), T.mul(eps, perBatch(a.map((v) => Math.sqrt(1 - v)), x0.rank, x0)));
}

/** ε̂ = (sqrt(1/ᾱ_t)·x_t − x̂0) / sqrt(1/ᾱ_t − 1). */
export function predictNoiseFromStart(schedule: NoiseSchedule, xt: Tensor, t: number, x0: Tensor): Tensor {
  const a = schedule.alphaBar(t);
  return T.affine(T.sub(T.affine(xt, Math.sqrt(1 / a)), x0), 1 / Math.sqrt(1 / a - 1));
}

/** x̂0 = sqrt(1/ᾱ_t)·x_t − sqrt(1/ᾱ_t − 1)·ε̂ (the inverse of predictNoiseFromStart). */
export function predictStartFromNoise(schedule: NoiseSchedule, xt: Tensor, t: number, eps: Tensor): Tensor {
  const a = schedule.alphaBar(t);
  return T.sub(T.affine(xt, Math.sqrt(1 / a)), T.affine(eps, Math.sqrt(1 / a - 1)));
}

/** σ and c of one DDIM step from t to tNext (tNext >= 0). */
export function ddimCoefficients(schedule: NoiseSchedule, t: number, tNext: number, eta: number): { sigma: number; c: number } {
  const a = schedule.alphaBar(t), an = schedule.alphaBar(tNext);
  const sigma = eta * Math.sqrt(((1 - a / an) * (1 - an)) / (1 - a));
  return { sigma, c: Math.sqrt(Math.max(0, 1 - an - sigma * sigma)) };
}

export interface DdimStep {
  /** The next sample (x̂0 itself on the last step). */
  x: Tensor;
  epsHat: Tensor;
}

/**
 * One DDIM update: ε̂ from the current un-clamped x_t and the predicted x̂0; on the last step
 * (tNext < 0) the result is x̂0; else x = sqrt(ᾱ')·x̂0 + c·ε̂ + σ·z with fresh z (needed when η > 0).
 */
export function ddimStep(schedule: NoiseSchedule, xt: Tensor, x0: Tensor, t: number, tNext: number, eta: number, z?: Tensor): DdimStep {
  const epsHat = predictNoiseFromStart(schedule, xt, t, x0);
  if (tNext < 0) return { x: T.clone(x0), epsHat };
  const { sigma, c } = ddimCoefficients(schedule, t, tNext, eta);
  let x = T.add(T.affine(x0, Math.sqrt(schedule.alphaBar(tNext))), T.affine(epsHat, c));
  if (sigma > 0) {
    if (!z) throw new Error('ddimStep: eta > 0 needs fresh noise z');
    x = T.add(x, T.affine(z, sigma));
  }
  return { x, epsHat };
}
