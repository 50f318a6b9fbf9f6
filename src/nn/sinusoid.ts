/**
 * Sinusoidal embedding of integer (or real) positions τ (spec §1.5 step 4): with half = dim / 2 and
 * freq_k = exp(−k·ln(10000) / (half − 1)), the output is [sin(τ·freq), cos(τ·freq)]: all sines, then all
 * cosines (not interleaved). Used for word positions, diffusion timesteps and the span-slot index.
 *   tau (N) -> (N, dim)
 */
import * as T from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

export function sinusoidalFrequencies(dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 4 || dim % 2 !== 0) throw new Error(`sinusoidal embedding: dim must be an even integer >= 4, got ${dim}`);
  const half = dim / 2;
  // As torch computes it: an f32 constant times an f32 arange, then exp in f32.
  const c = Math.fround(Math.log(10000) / (half - 1));
  return Float32Array.from({ length: half }, (_, k) => Math.exp(Math.fround(-c * k)));
}

export function sinusoidalEmbedding(tau: Tensor, dim: number): Tensor {
  const freq = T.tensor(sinusoidalFrequencies(dim), { device: tau.device, dtype: tau.dtype === 'f64' ? 'f64' : 'f32' });
  const args = T.mul(T.reshape(T.cast(tau, freq.dtype), [tau.size, 1]), T.reshape(freq, [1, dim / 2]));
  return T.concat([T.sin(args), T.cos(args)], -1);
}
