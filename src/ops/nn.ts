/** Differentiable neural-network primitives: softmax, layer norm, matmul/linear, gather/scatter. */
import { cpuIndexAdd, cpuIndexSelect, launchIndexAdd, launchIndexSelect, type IndexView } from '../kernels/gather.js';
import { cpuLayerNorm, cpuLayerNormBackward, launchLayerNorm, launchLayerNormBackward } from '../kernels/layernorm.js';
import { type Activation, cpuMatmul, fusesActivation, launchMatmul, type MatmulDims } from '../kernels/matmul.js';
import { type AxisView, cpuSoftmax, cpuSoftmaxBackward, launchSoftmax, launchSoftmaxBackward } from '../kernels/softmax.js';
import { fmtShape, normAxis, shapeEq, sizeOf, splitAtAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, needsGrad, record, requireDType, requireFloat, sameDevice, sameDType } from './core.js';
import { gelu, relu } from './elementwise.js';
import { cpuDropout, launchDropout } from '../kernels/dropout.js';
import { reshape } from './shape-ops.js';

function axisView(x: Tensor, axis: number, op: string): AxisView {
  return splitAtAxis(x.shape, normAxis(axis, x.rank, op));
}

function softmaxImpl(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  checkTensor(op, x);
  requireFloat(op, x);
  const v = axisView(x, axis, op);
  const out = empty(x.device, x.dtype, x.shape);
  if (x.device.kind === 'cpu') cpuSoftmax(x.array, out.array, v, log);
  else launchSoftmax(x.device, x, out, v, log);
  return record(out, op, [x], [out], { view: v });
}

export const softmax = (x: Tensor, axis = -1) => softmaxImpl(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1) => softmaxImpl(x, axis, true);

/** dx from the saved output y and upstream g (used by the backward rules). */
export function softmaxBackward(y: Tensor, g: Tensor, v: AxisView, log: boolean): Tensor {
  const dx = empty(y.device, y.dtype, y.shape);
  if (y.device.kind === 'cpu') cpuSoftmaxBackward(y.array, g.array, dx.array, v, log);
  else launchSoftmaxBackward(y.device, y, g, dx, v, log);
  return dx;
}

/** LayerNorm over the last axis with weight `gamma` and bias `beta` (both [d]). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  checkTensor('layerNorm', x);
  requireFloat('layerNorm', x);
  const device = sameDevice('layerNorm', x, gamma, beta);
  sameDType('layerNorm', x, gamma, beta);
  const d = x.shape[x.rank - 1];
  if (!shapeEq(gamma.shape, [d]) || !shapeEq(beta.shape, [d])) {
    throw new Error(`layerNorm: weight ${fmtShape(gamma.shape)} and bias ${fmtShape(beta.shape)} must be [${d}] for input ${fmtShape(x.shape)}`);
  }
  const rows = x.size / d;
  const y = empty(device, x.dtype, x.shape);
  const meanT = empty(device, x.dtype, [rows]);
  const rstdT = empty(device, x.dtype, [rows]);
  if (device.kind === 'cpu') cpuLayerNorm(x.array, gamma.array, beta.array, y.array, meanT.array, rstdT.array, rows, d, eps);
  else launchLayerNorm(device, x, gamma, beta, y, meanT, rstdT, rows, d, eps);
  if (!needsGrad(x, gamma, beta)) { meanT.dispose(); rstdT.dispose(); return y; }
  return record(y, 'layerNorm', [x, gamma, beta], [meanT, rstdT], { rows, d });
}

export function layerNormBackward(x: Tensor, gamma: Tensor, meanT: Tensor, rstdT: Tensor, g: Tensor, rows: number, d: number): [Tensor, Tensor, Tensor] {
  const dx = empty(x.device, x.dtype, x.shape);
  const dgamma = empty(x.device, x.dtype, [d]);
  const dbeta = empty(x.device, x.dtype, [d]);
  if (x.device.kind === 'cpu') cpuLayerNormBackward(x.array, gamma.array, meanT.array, rstdT.array, g.array, dx.array, dgamma.array, dbeta.array, rows, d);
  else launchLayerNormBackward(x.device, x, gamma, meanT, rstdT, g, dx, dgamma, dbeta, rows, d);
  return [dx, dgamma, dbeta];
}

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor | null;
  act?: Activation;
}

/**
 * op(a) @ op(b) (+ bias) (then relu/gelu), batched over leading dimensions. Both operands need rank >= 2;
 * batch dimensions must be equal, or one operand must have none (it is then shared by every batch).
 */
export function matmul(a: Tensor, b: Tensor, o: MatmulOptions = {}): Tensor {
  checkTensor('matmul', a, 'a');
  checkTensor('matmul', b, 'b');
  const device = sameDevice('matmul', a, b);
  const dtype = sameDType('matmul', a, b);
  requireFloat('matmul', a);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need rank >= 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)} (unsqueeze vectors)`);
  const transA = !!o.transA, transB = !!o.transB, act = o.act ?? 'none';
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac;
  const Kb = transB ? bc : br, N = transB ? br : bc;
  if (K !== Kb) {
    throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} @ ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${K} vs ${Kb})`);
  }
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  const na = sizeOf(aBatch), nb = sizeOf(bBatch);
  let batchShape: readonly number[];
  if (shapeEq(aBatch, bBatch)) batchShape = aBatch;
  else if (na === 1 && nb === 1) batchShape = aBatch.length >= bBatch.length ? aBatch : bBatch; // keep unit batch dims
  else if (na === 1) batchShape = bBatch;
  else if (nb === 1) batchShape = aBatch;
  else throw new Error(`matmul: batch dimensions ${fmtShape(aBatch)} and ${fmtShape(bBatch)} must be equal or one side must have none`);
  // A shared 2-D right operand: fold a's batch into its rows, so one matmul runs forward and the
  // weight gradient is one (K × rows)·(rows × N) product instead of per-batch products summed after.
  if (!transA && b.rank === 2 && na > 1) {
    return reshape(matmul(reshape(a, [na * M, K]), b, o), [...aBatch, M, N]);
  }
  const batch = sizeOf(batchShape);
  const bias = o.bias ?? null;
  if (bias) {
    checkTensor('matmul', bias, 'bias');
    sameDevice('matmul', a, bias);
    if (!shapeEq(bias.shape, [N])) throw new Error(`matmul: bias ${fmtShape(bias.shape)} must be [${N}]`);
  }
  const d: MatmulDims = {
    batch, M, N, K, transA, transB, act,
    aStride: na === 1 && batch > 1 ? 0 : M * K,
    bStride: nb === 1 && batch > 1 ? 0 : K * N,
  };
  const grads = needsGrad(a, b, ...(bias ? [bias] : []));
  // GELU's backward needs the pre-activation: record it as a separate op when gradients are on. Where
  // the kernel has no activation epilogue (fusesActivation), the activation is always a separate op.
  if (act !== 'none' && ((act === 'gelu' && grads) || (device.kind === 'webgpu' && !fusesActivation(device, d)))) {
    const pre = matmul(a, b, { ...o, act: 'none' });
    const out = act === 'gelu' ? gelu(pre) : relu(pre);
    if (!grads) pre.dispose();
    return out;
  }
  const out = empty(device, dtype, [...batchShape, M, N]);
  if (device.kind === 'cpu') cpuMatmul(a.array, b.array, bias ? bias.array : null, out.array, d);
  else launchMatmul(device, a, b, bias, out, d);
  const inputs = bias ? [a, b, bias] : [a, b];
  return record(out, 'matmul', inputs, act === 'relu' ? [out] : [], { transA, transB, act });
}

/** x @ Wᵀ + b with W in the Hugging Face layout [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, act: Activation = 'none'): Tensor {
  return matmul(x, weight, { transB: true, bias: bias ?? null, act });
}

function indexView(op: string, x: Tensor, axis: number, idx: Tensor): { a: number; v: IndexView } {
  checkTensor(op, x);
  checkTensor(op, idx, 'index');
  requireDType(op, idx, 'i32', 'index');
  sameDevice(op, x, idx);
  const a = normAxis(axis, x.rank, op);
  const { outer, len, inner } = splitAtAxis(x.shape, a);
  return { a, v: { outer, rows: len, inner, count: idx.size } };
}

/** Rows of x along `axis` picked by an i32 index of any shape (the index shape replaces the axis). */
export function indexSelect(x: Tensor, axis: number, idx: Tensor): Tensor {
  const { a, v } = indexView('indexSelect', x, axis, idx);
  const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  const out = empty(x.device, x.dtype, shape);
  if (x.device.kind === 'cpu') cpuIndexSelect(x.array, idx.array, out.array, v);
  else launchIndexSelect(x.device, x, idx, out, v);
  return record(out, 'indexSelect', [x], [idx], { axis: a });
}

/** base with src's slices added at rows idx along `axis` (duplicates accumulate, in index order). */
export function indexAdd(base: Tensor, axis: number, idx: Tensor, src: Tensor): Tensor {
  const { a, v } = indexView('indexAdd', base, axis, idx);
  sameDType('indexAdd', base, src);
  const want = [...base.shape.slice(0, a), ...idx.shape, ...base.shape.slice(a + 1)];
  if (!shapeEq(src.shape, want)) throw new Error(`indexAdd: src ${fmtShape(src.shape)} must be ${fmtShape(want)}`);
  const out = empty(base.device, base.dtype, base.shape);
  if (base.device.kind === 'cpu') cpuIndexAdd(base.array, idx.array, src.array, out.array, v);
  else launchIndexAdd(base.device, base, idx, src, out, v);
  return record(out, 'indexAdd', [base, src], [idx], { axis: a });
}

/**
 * Inverted dropout with a hashed mask: keeps each element with probability 1 − p and scales it by
 * 1/(1 − p). The mask is a function of (seed, element index) only, so the backward pass and the cpu
 * device reproduce it exactly; pass a fresh seed per call.
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  checkTensor('dropout', x);
  requireFloat('dropout', x);
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return reshape(x, x.shape);
  const out = empty(x.device, x.dtype, x.shape);
  if (x.device.kind === 'cpu') cpuDropout(x.array, out.array, p, seed);
  else launchDropout(x.device, x, out, p, seed);
  return record(out, 'dropout', [x], [], { p, seed: seed >>> 0 });
}
