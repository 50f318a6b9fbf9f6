/** Differentiable elementwise ops: unary math, broadcasting binary arithmetic, comparisons and where. */
import { type Broadcast, BINARY, type BinaryOp, cpuBinary, cpuUnary, cpuWhere, launchBinary, launchUnary, launchWhere, UNARY, type UnaryOp } from '../kernels/elementwise.js';
import { broadcastShapes, broadcastStrides, shapeEq } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, requireFloat, sameDevice, sameDType } from './core.js';
import { full } from './creation.js';

export type { BinaryOp as BinaryOpName, UnaryOp as UnaryOpName };

/** Ops whose backward reads their own output rather than the input. */
const SAVES_OUTPUT = new Set<UnaryOp>(['exp', 'sqrt', 'rsqrt', 'reciprocal', 'tanh', 'sigmoid']);

export function unary(op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkTensor(op, x);
  if (!UNARY[op].ints) requireFloat(op, x);
  const out = empty(x.device, x.dtype, x.shape);
  if (x.device.kind === 'cpu') cpuUnary(op, x.array, out.array, p0, p1);
  else launchUnary(x.device, op, x, out, p0, p1);
  return record(out, op, [x], SAVES_OUTPUT.has(op) ? [out] : [], { p0, p1 });
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const reciprocal = (x: Tensor) => unary('reciprocal', x);
export const square = (x: Tensor) => unary('square', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), as in BERT. */
export const gelu = (x: Tensor) => unary('gelu', x);
export const erf = (x: Tensor) => unary('erf', x);
/** Rounds halfway cases to even (torch.round); its gradient is zero. */
export const round = (x: Tensor) => unary('round', x);
export const clamp = (x: Tensor, min = -Infinity, max = Infinity) => {
  if (min > max) throw new Error(`clamp: min ${min} is above max ${max}`);
  return unary('clamp', x, Math.max(min, -3.4e38), Math.min(max, 3.4e38));
};
/** x * scale + shift in one pass. */
export const affine = (x: Tensor, scale: number, shift = 0) => unary('affine', x, scale, shift);

function scalarOk(op: string, x: Tensor, s: number): void {
  if (!Number.isFinite(s) && x.dtype === 'i32') throw new Error(`${op}: ${s} cannot be applied to an i32 tensor`);
  if (x.dtype === 'i32' && !Number.isInteger(s)) throw new Error(`${op}: non-integer scalar ${s} with an i32 tensor; cast it to f32 first`);
}

function asTensor(op: string, v: Tensor | number, like: Tensor): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v !== 'number') throw new TypeError(`${op}: expected a Tensor or a number, got ${typeof v}`);
  return full([], v, { dtype: like.dtype, device: like.device });
}

export function broadcastInfo(op: string, outShape: readonly number[] | null, ...ts: Tensor[]): Broadcast {
  const shape = outShape ?? broadcastShapes(op, ...ts.map((t) => t.shape));
  return {
    shape,
    strides: ts.map((t) => broadcastStrides(t.shape, shape)),
    contiguous: ts.every((t) => shapeEq(t.shape, shape)),
  };
}

/** affine's scalars travel as f32: an i32 operand folds only while f32 holds the scalar exactly. */
const foldable = (t: Tensor, v: number) => t.dtype !== 'i32' || Math.abs(v) <= 2 ** 24;

export function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  // Scalar operands of the arithmetic ops fold into one affine pass (no upload, no broadcast).
  if (a instanceof Tensor && typeof b === 'number' && foldable(a, b)) {
    checkTensor(op, a);
    scalarOk(op, a, b);
    if (op === 'add') return affine(a, 1, b);
    if (op === 'sub') return affine(a, 1, -b);
    if (op === 'mul') return affine(a, b, 0);
    if (op === 'div' && a.dtype !== 'i32') return unary('divScalar', a, b);
  }
  if (typeof a === 'number' && b instanceof Tensor && foldable(b, a)) {
    checkTensor(op, b);
    scalarOk(op, b, a);
    if (op === 'add') return affine(b, 1, a);
    if (op === 'mul') return affine(b, a, 0);
    if (op === 'sub') return affine(b, -1, a);
  }
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new TypeError(`${op}: at least one operand must be a Tensor`);
  const ta = asTensor(op, a, b as Tensor);
  const tb = asTensor(op, b, ta);
  checkTensor(op, ta, 'first operand');
  checkTensor(op, tb, 'second operand');
  const device = sameDevice(op, ta, tb);
  const dtype = sameDType(op, ta, tb);
  const def = BINARY[op];
  if (def.floatOnly) requireFloat(op, ta);
  const bc = broadcastInfo(op, null, ta, tb);
  const out = empty(device, def.compare ? (dtype === 'f64' ? 'f64' : 'f32') : dtype, bc.shape);
  if (device.kind === 'cpu') cpuBinary(op, ta.array, tb.array, out.array, bc);
  else launchBinary(device, op, ta, tb, out, bc);
  if (def.compare) return out;
  return record(out, op, [ta, tb], op === 'pow' ? [out] : []);
}

export const add = (a: Tensor | number, b: Tensor | number) => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number) => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number) => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number) => binary('div', a, b);
export const pow = (a: Tensor | number, b: Tensor | number) =>
  (a instanceof Tensor && typeof b === 'number' ? unary('powScalar', a, b) : binary('pow', a, b));
export const maximum = (a: Tensor | number, b: Tensor | number) => binary('maximum', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number) => binary('minimum', a, b);
/** Comparisons return 0/1 in the floating dtype (f32), usable directly as masks. */
export const eq = (a: Tensor | number, b: Tensor | number) => binary('eq', a, b);
export const ne = (a: Tensor | number, b: Tensor | number) => binary('ne', a, b);
export const lt = (a: Tensor | number, b: Tensor | number) => binary('lt', a, b);
export const le = (a: Tensor | number, b: Tensor | number) => binary('le', a, b);
export const gt = (a: Tensor | number, b: Tensor | number) => binary('gt', a, b);
export const ge = (a: Tensor | number, b: Tensor | number) => binary('ge', a, b);

/** where(cond, a, b): a where cond != 0, else b, with broadcasting (masked fill = where(mask, value, x)). */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkTensor('where', cond, 'condition');
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  const ta = like ? asTensor('where', a, like) : full([], a as number, { device: cond.device });
  const tb = asTensor('where', b, ta);
  const device = sameDevice('where', cond, ta, tb);
  const dtype = sameDType('where', ta, tb);
  const bc = broadcastInfo('where', null, cond, ta, tb);
  const out = empty(device, dtype, bc.shape);
  if (device.kind === 'cpu') cpuWhere(cond.array, ta.array, tb.array, out.array, bc);
  else launchWhere(device, cond, ta, tb, out, bc);
  return record(out, 'where', [cond, ta, tb]);
}
