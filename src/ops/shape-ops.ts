/** Differentiable shape ops: reshape (free), permute/transpose, slice, concat, expand, cast, device moves. */
import { cpuCast, cpuStridedCopy, launchCast, launchStridedCopy, type StridedCopy } from '../kernels/copy.js';
import type { DType } from '../tensor/dtype.js';
import { type Device, type DeviceKind, getDevice } from '../tensor/device.js';
import { broadcastShapes, broadcastStrides, fmtShape, normAxis, shapeEq, sizeOf, stridesOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, sameDevice, sameDType } from './core.js';
import { zeros } from './creation.js';

export function stridedCopy(src: Tensor, dst: Tensor, c: StridedCopy): void {
  if (src.device.kind === 'cpu') cpuStridedCopy(src.array, dst.array, c);
  else launchStridedCopy(src.device as Extract<Device, { kind: 'webgpu' }>, src, dst, c);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', x);
  const infer = shape.indexOf(-1);
  const s = [...shape];
  if (infer >= 0) {
    if (shape.indexOf(-1, infer + 1) >= 0) throw new Error(`reshape: only one -1 allowed in ${fmtShape(shape)}`);
    const rest = sizeOf(shape.filter((_, i) => i !== infer));
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot view ${x.describe()} as ${fmtShape(shape)}`);
    s[infer] = x.size / rest;
  }
  const out = x.viewAs(s);
  return record(out, 'reshape', [x], [], { from: x.shape });
}

export const flatten = (x: Tensor) => reshape(x, [x.size]);

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank + 1, 'unsqueeze');
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} of shape ${fmtShape(x.shape)} is not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor('permute', x);
  if (dims.length !== x.rank) throw new Error(`permute: ${dims.length} dims given for a tensor of rank ${x.rank}`);
  const d = dims.map((a) => normAxis(a, x.rank, 'permute'));
  if (new Set(d).size !== d.length) throw new Error(`permute: repeated axis in ${fmtShape(dims)}`);
  const shape = d.map((a) => x.shape[a]);
  const xs = stridesOf(x.shape);
  const out = empty(x.device, x.dtype, shape);
  stridedCopy(x, out, { shape, srcStrides: d.map((a) => xs[a]), srcOffset: 0, dstStrides: stridesOf(shape), dstOffset: 0 });
  return record(out, 'permute', [x], [], { dims: d });
}

export function transpose(x: Tensor, a0 = -2, a1 = -1): Tensor {
  const dims = x.shape.map((_, i) => i);
  const i = normAxis(a0, x.rank, 'transpose'), j = normAxis(a1, x.rank, 'transpose');
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

/** x[..., start:end:step, ...] along one axis (negative start/end count from the end, like Python). */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  checkTensor('slice', x);
  const a = normAxis(axis, x.rank, 'slice');
  const n = x.shape[a];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  const s = clampIdx(start), e = clampIdx(end ?? n);
  const len = Math.max(0, Math.ceil((e - s) / step));
  const shape = [...x.shape];
  shape[a] = len;
  const xs = stridesOf(x.shape);
  const srcStrides = [...xs];
  srcStrides[a] *= step;
  const out = empty(x.device, x.dtype, shape);
  stridedCopy(x, out, { shape, srcStrides, srcOffset: s * xs[a], dstStrides: stridesOf(shape), dstOffset: 0 });
  return record(out, 'slice', [x], [], { axis: a, start: s, step });
}

/** The adjoint of slice: zeros of `shape` with g written at the sliced positions. */
export function sliceBackward(g: Tensor, shape: readonly number[], axis: number, start: number, step: number): Tensor {
  const out = zeros(shape, { dtype: g.dtype, device: g.device });
  const os = stridesOf(shape);
  const dstStrides = [...os];
  dstStrides[axis] *= step;
  stridedCopy(g, out, { shape: g.shape, srcStrides: stridesOf(g.shape), srcOffset: 0, dstStrides, dstOffset: start * os[axis] });
  return record(out, 'sliceBackward', [g], [], { axis, start, step });
}

export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  xs.forEach((t, i) => checkTensor('concat', t, `tensor ${i}`));
  const device = sameDevice('concat', ...xs);
  const dtype = sameDType('concat', ...xs);
  const a = normAxis(axis, xs[0].rank, 'concat');
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new Error(`concat: shapes ${xs.map((x) => fmtShape(x.shape)).join(', ')} differ outside axis ${a}`);
    }
  }
  const shape = [...xs[0].shape];
  shape[a] = xs.reduce((s, t) => s + t.shape[a], 0);
  const out = empty(device, dtype, shape);
  const os = stridesOf(shape);
  let offset = 0;
  for (const t of xs) {
    stridedCopy(t, out, { shape: t.shape, srcStrides: stridesOf(t.shape), srcOffset: 0, dstStrides: os, dstOffset: offset * os[a] });
    offset += t.shape[a];
  }
  return record(out, 'concat', xs, [], { axis: a, sizes: xs.map((t) => t.shape[a]) });
}

export function stack(xs: Tensor[], axis = 0): Tensor {
  const a = normAxis(axis, (xs[0]?.rank ?? 0) + 1, 'stack');
  return concat(xs.map((x) => unsqueeze(x, a)), a);
}

/** Materialised broadcast to `shape`. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', x);
  const target = broadcastShapes('expand', x.shape, shape);
  if (!shapeEq(target, shape)) throw new Error(`expand: ${fmtShape(x.shape)} cannot be expanded to ${fmtShape(shape)}`);
  const out = empty(x.device, x.dtype, shape);
  stridedCopy(x, out, { shape, srcStrides: broadcastStrides(x.shape, shape), srcOffset: 0, dstStrides: stridesOf(shape), dstOffset: 0 });
  return record(out, 'expand', [x], [], { from: x.shape });
}

export function clone(x: Tensor): Tensor {
  checkTensor('clone', x);
  const out = empty(x.device, x.dtype, x.shape);
  const s = stridesOf(x.shape);
  stridedCopy(x, out, { shape: x.shape, srcStrides: s, srcOffset: 0, dstStrides: s, dstOffset: 0 });
  return record(out, 'clone', [x]);
}

/** Converts the dtype. Gradients flow through float-to-float casts only. */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor('cast', x);
  if (x.dtype === dtype) return x;
  const out = empty(x.device, dtype, x.shape);
  if (x.device.kind === 'cpu') cpuCast(x.array, out.array, dtype);
  else launchCast(x.device, x, out);
  return dtype === 'i32' || x.dtype === 'i32' ? out : record(out, 'cast', [x], [], { from: x.dtype });
}

/** Copies to another device (a new leaf: device moves are not differentiated). */
export async function toDevice(x: Tensor, device: Device | DeviceKind): Promise<Tensor> {
  checkTensor('toDevice', x);
  const d = await getDevice(device);
  if (d === x.device) return x;
  const data = await x.data();
  return Tensor.fromArray(d, x.dtype === 'f64' && d.kind === 'webgpu' ? 'f32' : x.dtype, x.shape, data);
}
