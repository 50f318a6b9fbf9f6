/** Creating tensors: from values, constant fills, ranges and seeded random draws (identical on every device). */
import { launchFill } from '../kernels/copy.js';
import { allocArray, arrayDType, type DType, type TypedArray } from '../tensor/dtype.js';
import { type Device, type DeviceKind, resolveDevice } from '../tensor/device.js';
import { defaultRng, type RNG } from '../tensor/random.js';
import { checkShape, type Shape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device | DeviceKind;
  requiresGrad?: boolean;
  name?: string;
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  if (o.name) t.name = o.name;
  if (o.requiresGrad) t.setRequiresGrad(true);
  return t;
}

type Nested = number | boolean | Nested[];

function inferShape(v: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = v;
  while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0] as Nested; }
  return shape;
}

function flatten(v: Nested, shape: number[], dim: number, out: number[], path: string): void {
  if (dim === shape.length) {
    if (typeof v === 'boolean') { out.push(+v); return; }
    if (typeof v !== 'number') throw new Error(`tensor(): element at ${path || '[]'} is ${Array.isArray(v) ? 'an array' : typeof v}, expected a number`);
    out.push(v);
    return;
  }
  if (!Array.isArray(v) || v.length !== shape[dim]) {
    throw new Error(`tensor(): ragged nested array at ${path || '[]'}: expected ${shape[dim]} elements`);
  }
  v.forEach((x, i) => flatten(x, shape, dim + 1, out, `${path}[${i}]`));
}

/** From nested arrays, a flat typed array with `shape`, or a number (a scalar). */
export function tensor(values: Nested | TypedArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  const device = resolveDevice(opts.device);
  if (ArrayBuffer.isView(values)) {
    const shape = opts.shape ?? [values.length];
    const dtype = opts.dtype ?? arrayDType(values) ?? 'f32';
    return finish(Tensor.fromArray(device, dtype, shape, values), opts);
  }
  const shape = opts.shape ?? inferShape(values);
  const flat: number[] = [];
  flatten(values, inferShape(values), 0, flat, '');
  const dtype = opts.dtype ?? 'f32';
  return finish(Tensor.fromArray(device, dtype, shape, flat), opts);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape(shape);
  const device = resolveDevice(opts.device);
  const dtype = opts.dtype ?? 'f32';
  const t = Tensor.empty(device, dtype, shape);
  if (device.kind === 'cpu') t.array.fill(value);
  else launchFill(device, t, value);
  return finish(t, opts);
}

export const zeros = (shape: Shape, opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: Shape, opts: CreateOptions = {}) => full(shape, 1, opts);

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, device: t.device, ...opts });
}
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, device: t.device, ...opts });
}

/** [start, end) in steps of `step`; i32 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? 'i32';
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return finish(Tensor.fromArray(resolveDevice(opts.device), dtype, [n], a), opts);
}

/** Uniform in [low, high). */
export function rand(shape: Shape, opts: CreateOptions & { rng?: RNG; low?: number; high?: number } = {}): Tensor {
  checkShape(shape);
  const rng = opts.rng ?? defaultRng();
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  const dtype = opts.dtype ?? 'f32';
  const a = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return finish(Tensor.fromArray(resolveDevice(opts.device), dtype, shape, a), opts);
}

/** Normal with mean `mean` and standard deviation `std`. */
export function randn(shape: Shape, opts: CreateOptions & { rng?: RNG; mean?: number; std?: number } = {}): Tensor {
  checkShape(shape);
  const rng = opts.rng ?? defaultRng();
  const mean = opts.mean ?? 0, std = opts.std ?? 1;
  const dtype = opts.dtype ?? 'f32';
  const a = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < a.length; i++) a[i] = mean + std * rng.normal();
  return finish(Tensor.fromArray(resolveDevice(opts.device), dtype, shape, a), opts);
}
