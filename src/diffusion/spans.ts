/**
 * What is diffused and how it maps back to words (spec §1.4.1). Spans are inclusive word pairs (l, r).
 *   gold -> x0:   u = (l / M, (r − l) / M),  x0 = (2u − 1)·λ                    (normalised by M)
 *   x -> pairs:   clamp to [−λ, λ], u = (x/λ + 1)/2, (left, right) = (u_l, u_l + u_w), clamp to [0, 1]
 *   pairs -> words: round-half-even(pair · (M − 1))                              (denormalised by M − 1)
 *   argmax boundaries -> x̂0: (l, r) / (M − 1 + 1e-20) -> (l, r − l) -> (2u − 1)·λ, clamped
 * The M vs M − 1 asymmetry is the official code's: a gold span does not map back exactly (M = 5, l = 4
 * gives 3.2, rounded to 3); the x̂0 path round-trips every span.
 */
import { roundHalfEven } from '../kernels/math.js';
import * as T from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

export type Span = [number, number];

/** Host side: gold spans of one sentence of M words -> x0 rows (K x 2, row-major), in float64. */
export function spansToX0(spans: readonly Span[], M: number, scale: number): Float64Array {
  if (!(M >= 1)) throw new Error(`spansToX0: sentence length must be >= 1, got ${M}`);
  const out = new Float64Array(spans.length * 2);
  spans.forEach(([l, r], k) => {
    if (!(Number.isInteger(l) && Number.isInteger(r) && 0 <= l && l <= r && r < M)) {
      throw new Error(`spansToX0: span (${l}, ${r}) is not inside a sentence of ${M} words`);
    }
    out[2 * k] = (2 * (l / M) - 1) * scale;
    out[2 * k + 1] = (2 * ((r - l) / M) - 1) * scale;
  });
  return out;
}

/** Noisy points (..., 2) in diffusion space -> (left, right) in [0, 1] with left <= right. */
export function xToPairs(x: Tensor, scale: number): Tensor {
  // (x/λ + 1)/2 with a true division, so x = −λ gives exactly 0 and widths never go negative.
  const u = T.affine(T.div(T.clamp(x, -scale, scale), scale), 0.5, 0.5);
  const left = T.slice(u, -1, 0, 1);
  const width = T.slice(u, -1, 1, 2);
  return T.clamp(T.concat([left, T.add(left, width)], -1), 0, 1);
}

/**
 * [0, 1] pairs (B, K, 2) -> integer word positions (B, K, 2) as f32, with M_b − 1 per sentence given
 * as a (B) tensor or one number for all.
 */
export function pairsToWords(pairs: Tensor, lengths: Tensor | number): Tensor {
  const scale = typeof lengths === 'number' ? lengths - 1 : T.reshape(T.affine(lengths, 1, -1), [lengths.size, 1, 1]);
  return T.round(T.mul(pairs, scale));
}

/**
 * Predicted boundary indices (B, K) each -> x̂0 (B, K, 2), normalised by M_b − 1 (+1e-20, as the
 * official code does, so a one-word sentence does not divide by zero).
 */
export function boundariesToX0(left: Tensor, right: Tensor, lengths: Tensor | number, scale: number): Tensor {
  const l = T.cast(left, 'f32'), r = T.cast(right, 'f32');
  const denom = typeof lengths === 'number' ? lengths - 1 + 1e-20 : T.reshape(T.affine(T.affine(lengths, 1, -1), 1, 1e-20), [lengths.size, 1]);
  const ul = T.div(l, denom), uw = T.div(T.sub(r, l), denom);
  const x0 = T.affine(T.stack([ul, uw], -1), 2 * scale, -scale); // (2u − 1)·λ
  return T.clamp(x0, -scale, scale);
}

/** Host-side version of the gold -> words round trip (for tests and data checks), in float64. */
export function roundTripGold([l, r]: Span, M: number, scale = 1): Span {
  const [xl, xw] = spansToX0([[l, r]], M, scale);
  const c = (v: number) => Math.min(scale, Math.max(-scale, v));
  const ul = (c(xl) / scale + 1) / 2, uw = (c(xw) / scale + 1) / 2;
  const left = Math.min(1, Math.max(0, ul)), right = Math.min(1, Math.max(0, ul + uw));
  return [roundHalfEven(left * (M - 1)), roundHalfEven(right * (M - 1))];
}
