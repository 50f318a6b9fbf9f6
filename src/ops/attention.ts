/**
 * Multi-head attention as one differentiable op on the fused kernel, and the same computation as a
 * composition of ordinary ops (the reference the fused kernel is tested against).
 *   q (B, Lq, E), k and v (B, Lk, E), mask (B, Lk) with 1 = attend, 0 = padding -> (B, Lq, E)
 */
import { type AttentionDims, cpuAttention, cpuAttentionBackward, dropoutFactor, launchAttention, launchAttentionBackward } from '../kernels/attention.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, requireFloat, sameDevice, sameDType } from './core.js';
import { tensor } from './creation.js';
import { add, affine, gt, mul } from './elementwise.js';
import { max } from './reduce.js';
import { matmul, softmax } from './nn.js';
import { permute, reshape } from './shape-ops.js';

export interface AttentionOptions {
  heads: number;
  /** (B, Lk): 1 where a key may be attended to, 0 for padding. */
  mask?: Tensor | null;
  /** Defaults to 1/sqrt(E / heads). */
  scale?: number;
  /** Dropout on the attention probabilities (pass 0 in eval mode). */
  dropout?: number;
  /** Seed of the dropout hash; use a fresh one per call. */
  seed?: number;
}

function dims(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions, op: string): AttentionDims {
  [q, k, v].forEach((t, i) => checkTensor(op, t, ['q', 'k', 'v'][i]));
  sameDevice(op, q, k, v);
  sameDType(op, q, k, v);
  requireFloat(op, q);
  if (q.rank !== 3 || k.rank !== 3 || !shapeEq(k.shape, v.shape) || q.shape[0] !== k.shape[0] || q.shape[2] !== k.shape[2]) {
    throw new Error(`${op}: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} must be (B, Lq, E), (B, Lk, E), (B, Lk, E)`);
  }
  const [B, Lq, E] = q.shape, Lk = k.shape[1];
  if (!Number.isInteger(o.heads) || o.heads < 1 || E % o.heads !== 0) throw new Error(`${op}: ${E} features do not split into ${o.heads} heads`);
  if (o.mask && !shapeEq(o.mask.shape, [B, Lk])) throw new Error(`${op}: mask ${fmtShape(o.mask.shape)} must be [${B}, ${Lk}]`);
  const dropout = o.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`${op}: dropout must be in [0, 1), got ${dropout}`);
  const dh = E / o.heads;
  return { B, heads: o.heads, Lq, Lk, dh, scale: o.scale ?? 1 / Math.sqrt(dh), dropout, seed: (o.seed ?? 0) >>> 0 };
}

/** Fused attention (forward and backward on the fused kernels; webgpu needs E / heads divisible by 4). */
export function attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const d = dims(q, k, v, o, 'attention');
  if (q.device.kind === 'webgpu' && d.dh % 4 !== 0) return attentionUnfused(q, k, v, o);
  const mask = o.mask ?? null;
  const out = empty(q.device, q.dtype, q.shape);
  const lse = empty(q.device, q.dtype, [d.B, d.heads, d.Lq]);
  if (q.device.kind === 'cpu') cpuAttention(q.array, k.array, v.array, mask?.array ?? null, out.array, lse.array, d);
  else launchAttention(q.device, q, k, v, mask, out, lse, d);
  return record(out, 'attention', [q, k, v], mask ? [out, lse, mask] : [out, lse], { dims: d, hasMask: !!mask });
}

export function attentionBackward(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, out: Tensor, lse: Tensor, g: Tensor, d: AttentionDims): [Tensor, Tensor, Tensor] {
  const dq = empty(q.device, q.dtype, q.shape), dk = empty(q.device, q.dtype, k.shape), dv = empty(q.device, q.dtype, v.shape);
  if (q.device.kind === 'cpu') {
    cpuAttentionBackward(q.array, k.array, v.array, mask?.array ?? null, out.array, lse.array, g.array, dq.array, dk.array, dv.array, d);
  } else {
    const delta = empty(q.device, q.dtype, [d.B, d.heads, d.Lq]);
    launchAttentionBackward(q.device, q, k, v, mask, out, lse, g, dq, dk, dv, delta, d);
    delta.dispose();
  }
  return [dq, dk, dv];
}

/** The same attention from ordinary ops; materialises the (B, heads, Lq, Lk) probabilities. */
export function attentionUnfused(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const d = dims(q, k, v, o, 'attentionUnfused');
  const split = (t: Tensor, L: number) => permute(reshape(t, [d.B, L, d.heads, d.dh]), [0, 2, 1, 3]);
  let scores = affine(matmul(split(q, d.Lq), split(k, d.Lk), { transB: true }), d.scale);
  if (o.mask) scores = add(scores, reshape(affine(o.mask, 1e9, -1e9), [d.B, 1, 1, d.Lk]));
  let p = softmax(scores, -1);
  if (o.mask) {
    // A query with no visible key attends to nothing (as the fused kernel does), not uniformly.
    p = mul(p, reshape(gt(max(o.mask, -1), 0), [d.B, 1, 1, 1]));
  }
  if (d.dropout > 0) {
    const z = new Float64Array(d.B * d.heads * d.Lq * d.Lk);
    let n = 0;
    for (let b = 0; b < d.B; b++) for (let h = 0; h < d.heads; h++) for (let i = 0; i < d.Lq; i++) for (let j = 0; j < d.Lk; j++) z[n++] = dropoutFactor(d, b, h, i, j);
    p = mul(p, tensor(z, { shape: [d.B, d.heads, d.Lq, d.Lk], device: q.device, dtype: q.dtype === 'f64' ? 'f64' : 'f32' }));
  }
  return reshape(permute(matmul(p, split(v, d.Lk)), [0, 2, 1, 3]), [d.B, d.Lq, d.heads * d.dh]);
}
