/**
 * Cross-entropy over classes, fused, with PyTorch's semantics for label smoothing and class weights
 * (torch.nn.functional.cross_entropy), plus an additive per-logit mask (BINDER adds log(mask + tiny) to
 * its scores: tiny is 1e-13 in fp32 and 1e-4 under fp16). Per row i of Z (N, C), with z'_c = z_c (+ log(mask_c + tiny)):
 *   lse_i = log Σ_c exp z'_c,   nll_i = lse_i − z'_{y_i},   smooth_i = Σ_c w_c (lse_i − z'_c)   (w = 1 without weights)
 * The reductions (the row mask, the weighted mean) are ordinary ops (src/ops/losses.ts); the backward,
 * given per-row coefficients a_i (the NLL term's) and b_i (the smoothing term's), is
 *   dz_{i,c} = a_i (p_c − [c = y_i]) + b_i (p_c Σ_k w_k − w_c),   p_c = exp(z'_c − lse_i)
 * One invocation per row: the class count is small (BOPN's offset labels, BINDER's types).
 *   forward:  Z (N, C), MASK (N, C)?, Y (N) i32, W (C)? -> LSE (N), ROW (N, 2) = (nll_i, smooth_i)
 *   backward: Z, MASK?, Y, W?, LSE, COEF (N, 2) = (a_i, b_i) -> DZ (N, C)
 * A target outside 0..C−1 gives nll 0 (its row should be masked out).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, UniformWriter, WG } from './common.js';

export interface CrossEntropyDims { N: number; C: number; hasMask: boolean; hasWeight: boolean; tiny: number }

const HEADER = /* wgsl */ `struct Params { N: u32, C: u32, hasMask: u32, hasWeight: u32, tiny: f32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> Z: array<f32>;
@group(0) @binding(1) var<storage, read> MASK: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<i32>;
@group(0) @binding(3) var<storage, read> W: array<f32>;
@group(0) @binding(4) var<storage, read> LSE_IN: array<f32>;`;

const LOGITS = /* wgsl */ `
fn zc(i: u32, c: u32) -> f32 {
  let z = Z[i * u.C + c];
  if (u.hasMask != 0u) { return z + log(MASK[i * u.C + c] + u.tiny); }
  return z;
}
fn wc(c: u32) -> f32 {
  if (u.hasWeight != 0u) { return W[c]; }
  return 1.0;
}`;

/** A kernel with one invocation per row i: the shared inputs, its own two buffers (bindings 5, 6), then its body. */
function rowKernel(outputs: string, body: string): string {
  return `${HEADER}
${outputs}
@group(0) @binding(7) var<uniform> u: Params;
${LOGITS}
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.N) { return; }
${body}
}`;
}

const FORWARD = rowKernel(`@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(6) var<storage, read_write> ROW: array<f32>;`, `  var m = zc(i, 0u);
  for (var c = 1u; c < u.C; c++) { m = max(m, zc(i, c)); }
  var s = 0.0;
  for (var c = 0u; c < u.C; c++) { s += exp(zc(i, c) - m); }
  let lse = m + log(s);
  let y = Y[i];
  var nll = 0.0;
  if (y >= 0 && u32(y) < u.C) { nll = lse - zc(i, u32(y)); }
  var smoothed = 0.0;
  for (var c = 0u; c < u.C; c++) { smoothed += wc(c) * (lse - zc(i, c)); }
  LSE[i] = lse;
  ROW[2u * i] = nll;
  ROW[2u * i + 1u] = smoothed;`);

const BACKWARD = rowKernel(`@group(0) @binding(5) var<storage, read> COEF: array<f32>;
@group(0) @binding(6) var<storage, read_write> DZ: array<f32>;`, `  let lse = LSE_IN[i];
  let a = COEF[2u * i]; let b = COEF[2u * i + 1u];
  var wsum = 0.0;
  for (var c = 0u; c < u.C; c++) { wsum += wc(c); }
  let y = Y[i];
  for (var c = 0u; c < u.C; c++) {
    let p = exp(zc(i, c) - lse);
    let hit = select(0.0, 1.0, i32(c) == y);
    DZ[i * u.C + c] = a * (p - hit) + b * (p * wsum - wc(c));
  }`);

function uniforms(d: CrossEntropyDims): ArrayBuffer {
  return new UniformWriter().u32(d.N, d.C, d.hasMask ? 1 : 0, d.hasWeight ? 1 : 0).f32(d.tiny).build();
}

/** Absent optional inputs are bound to Z's buffer (read-only, never read: the flags say so). */
export function launchCrossEntropy(dev: GpuDevice, z: Tensor, mask: Tensor | null, y: Tensor, w: Tensor | null, lse: Tensor, row: Tensor, d: CrossEntropyDims): void {
  dev.backend.dispatch({ key: 'cross_entropy_fwd', name: 'cross_entropy_forward', code: () => FORWARD },
    [z.buffer, (mask ?? z).buffer, y.buffer, (w ?? z).buffer, z.buffer, lse.buffer, row.buffer], uniforms(d), grid1d(d.N));
}

export function launchCrossEntropyBackward(dev: GpuDevice, z: Tensor, mask: Tensor | null, y: Tensor, w: Tensor | null, lse: Tensor, coef: Tensor, dz: Tensor, d: CrossEntropyDims): void {
  dev.backend.dispatch({ key: 'cross_entropy_bwd', name: 'cross_entropy_backward', code: () => BACKWARD },
    [z.buffer, (mask ?? z).buffer, y.buffer, (w ?? z).buffer, lse.buffer, coef.buffer, dz.buffer], uniforms(d), grid1d(d.N));
}

/** The masked logits of row i, as the kernels compute them. */
function rowLogits(z: TypedArray, mask: TypedArray | null, i: number, d: CrossEntropyDims): number[] {
  return Array.from({ length: d.C }, (_, c) => z[i * d.C + c] + (mask ? Math.log(mask[i * d.C + c] + d.tiny) : 0));
}

export function cpuCrossEntropy(z: TypedArray, mask: TypedArray | null, y: TypedArray, w: TypedArray | null, lse: TypedArray, row: TypedArray, d: CrossEntropyDims): void {
  for (let i = 0; i < d.N; i++) {
    const zs = rowLogits(z, mask, i, d);
    const m = Math.max(...zs);
    const l = m + Math.log(zs.reduce((s, v) => s + Math.exp(v - m), 0));
    lse[i] = l;
    row[2 * i] = y[i] >= 0 && y[i] < d.C ? l - zs[y[i]] : 0;
    row[2 * i + 1] = zs.reduce((s, v, c) => s + (w ? w[c] : 1) * (l - v), 0);
  }
}

export function cpuCrossEntropyBackward(z: TypedArray, mask: TypedArray | null, y: TypedArray, w: TypedArray | null, lse: TypedArray, coef: TypedArray, dz: TypedArray, d: CrossEntropyDims): void {
  const wsum = w ? Array.from(w).reduce((s, v) => s + v, 0) : d.C;
  for (let i = 0; i < d.N; i++) {
    const zs = rowLogits(z, mask, i, d), a = coef[2 * i], b = coef[2 * i + 1];
    zs.forEach((v, c) => {
      const p = Math.exp(v - lse[i]);
      dz[i * d.C + c] = a * (p - (c === y[i] ? 1 : 0)) + b * (p * wsum - (w ? w[c] : 1));
    });
  }
}
