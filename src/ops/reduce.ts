/** Differentiable reductions: sum, mean, max, min over one axis, several, or all; argmax (no gradient). */
import { chunksOf, cpuReduce, launchReduce, type ReduceOp, type ReduceView } from '../kernels/reduce.js';
import { normAxis, splitAtAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, requireFloat } from './core.js';
import { reshape } from './shape-ops.js';

export type Axes = number | readonly number[] | undefined;

/** Long axes with few lines are split into chunks reduced in a second pass, to use more lanes. */
const CHUNK = 1024;

/** Reduces `axis` of x into `into` (elements from `offset` on), or into a new tensor. */
function reduceAxis(op: ReduceOp, x: Tensor, axis: number, scale: number, into?: { out: Tensor; offset: number }): Tensor {
  const { outer, len, inner } = splitAtAxis(x.shape, axis);
  const shape = [...x.shape];
  shape[axis] = 1;
  const dtype = op === 'argmax' ? 'i32' : x.dtype;
  const run = (src: Tensor, v: ReduceView, outShape: number[], pass: ReduceOp = op, dst = { out: empty(src.device, dtype, outShape), offset: 0 }): Tensor => {
    if (src.device.kind === 'cpu') cpuReduce(pass, src.array, dst.out.array.subarray(dst.offset), v);
    else launchReduce(src.device, pass, src, dst.out, v, dst.offset);
    return dst.out;
  };
  if (len === 0 && op !== 'sum') throw new Error(`${op}: cannot reduce an empty axis of ${x.describe()}`);
  if (op !== 'argmax' && x.device.kind === 'webgpu' && outer * inner < 256 && len > 4 * CHUNK) {
    const v1 = { outer, len, inner, chunk: CHUNK, scale: 1 };
    const partial = run(x, v1, [outer, chunksOf(v1), inner]);
    const chunks = chunksOf(v1);
    const out = run(partial, { outer, len: chunks, inner, chunk: chunks, scale }, shape, op === 'sumSquares' ? 'sum' : op, into);
    partial.dispose();
    return out;
  }
  return run(x, { outer, len, inner, chunk: Math.max(1, len), scale }, shape, op, into);
}

function normAxes(x: Tensor, axes: Axes, op: string): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const n = list.map((a) => normAxis(a, x.rank, op));
  if (new Set(n).size !== n.length) throw new Error(`${op}: repeated axis in [${list.join(', ')}]`);
  return n.sort((a, b) => b - a);
}

function reduce(op: 'sum' | 'max' | 'min', x: Tensor, axes: Axes, keepdim: boolean, mean: boolean): Tensor {
  checkTensor(op, x);
  // torch refuses an integer mean too (the webgpu kernel would truncate the 1 / count scale to 0).
  if (mean) requireFloat('mean', x);
  const ax = normAxes(x, axes, mean ? 'mean' : op);
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  let cur = x;
  ax.forEach((a, i) => {
    const next = reduceAxis(op, cur, a, mean && i === ax.length - 1 ? 1 / count : 1);
    if (cur !== x) cur.dispose();
    cur = next;
  });
  if (ax.length === 0) {
    cur = reshape(x, x.shape); // a fresh handle, so callers may dispose it independently
  }
  const keptShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const outShape = keepdim ? keptShape : x.shape.filter((_, i) => !ax.includes(i));
  const out = ax.length ? cur.viewAs(outShape) : cur;
  if (ax.length) cur.dispose();
  const name = mean ? 'mean' : op;
  return record(out, name, [x], op === 'sum' ? [] : [out], { keptShape, count });
}

export const sum = (x: Tensor, axes?: Axes, keepdim = false) => reduce('sum', x, axes, keepdim, false);
export const mean = (x: Tensor, axes?: Axes, keepdim = false) => reduce('sum', x, axes, keepdim, true);
export const max = (x: Tensor, axes?: Axes, keepdim = false) => reduce('max', x, axes, keepdim, false);
export const min = (x: Tensor, axes?: Axes, keepdim = false) => reduce('min', x, axes, keepdim, false);

/**
 * Σx² of each tensor, as one vector [n] (no gradient): the norm of many gradients costs one reduction
 * dispatch per tensor and one sum, with no per-tensor scalars to allocate and add up.
 */
export function sumSquaresEach(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('sumSquaresEach: no tensors');
  const dev = xs[0].device, dtype = xs[0].dtype;
  const out = empty(dev, dtype, [xs.length]);
  xs.forEach((x, i) => {
    checkTensor('sumSquaresEach', x);
    if (x.device !== dev || x.dtype !== dtype) throw new Error(`sumSquaresEach: tensor ${i} is ${x.describe()}, the first is ${xs[0].describe()}`);
    if (x.requiresGrad) throw new Error('sumSquaresEach: has no gradient; use sum(square(x))');
    const flat = reshape(x, [x.size]);
    reduceAxis('sumSquares', flat, 0, 1, { out, offset: i });
    flat.dispose();
  });
  return out;
}

/** Σx² over every element, as a scalar (no gradient: for norms of gradients). */
export function sumSquares(x: Tensor): Tensor {
  checkTensor('sumSquares', x);
  if (x.requiresGrad) throw new Error('sumSquares: has no gradient; use sum(square(x))');
  const flat = reshape(x, [x.size]);
  const out = reduceAxis('sumSquares', flat, 0, 1);
  flat.dispose();
  const scalar = out.viewAs([]);
  out.dispose();
  return scalar;
}

/** Index of the first maximum along `axis` (i32). */
export function argmax(x: Tensor, axis = -1, keepdim = false): Tensor {
  checkTensor('argmax', x);
  const a = normAxis(axis, x.rank, 'argmax');
  const r = reduceAxis('argmax', x, a, 1);
  const out = r.viewAs(keepdim ? r.shape : x.shape.filter((_, i) => i !== a));
  r.dispose();
  return out;
}
