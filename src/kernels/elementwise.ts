/**
 * Elementwise unary, binary (numpy broadcasting) and ternary `where`.
 *   unary:  x[n] -> out[n]                         (f32; neg/abs/affine also i32)
 *   binary: a[broadcast], b[broadcast] -> out[shape] (arithmetic keeps the dtype; comparisons give f32 0/1)
 *   where:  cond, a, b [broadcast] -> out[shape]     (cond != 0 picks a)
 * Shapes and broadcast strides travel as uniforms, so one pipeline serves every shape; a contiguous
 * variant skips the index arithmetic when nothing is broadcast.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { DIM_AT, ENTRY, FLAT_INDEX, grid1d, MAX_RANK, RUN, stridedOffset, UniformWriter, WG, wgslType } from './common.js';
import { erf, gelu, geluGrad, roundHalfEven, sigmoid, WGSL_MATH } from './math.js';

/** Elements (or vec4s) of a row per invocation in the broadcast path. */
const BROADCAST_RUN = 16;

interface UnaryDef { wgsl: string; cpu: (x: number, p0: number, p1: number) => number; ints?: boolean }

/** In `wgsl`, `x` is the input and `p0`, `p1` are scalar parameters. */
export const UNARY: Record<string, UnaryDef> = {
  neg: { wgsl: '-x', cpu: (x) => -x, ints: true },
  abs: { wgsl: 'abs(x)', cpu: Math.abs, ints: true },
  affine: { wgsl: 'x * T(u.p0) + T(u.p1)', cpu: (x, a, b) => x * a + b, ints: true },
  divScalar: { wgsl: 'x / u.p0', cpu: (x, a) => x / a }, // a true division: x * (1/a) can be off by an ulp
  exp: { wgsl: 'exp(x)', cpu: Math.exp },
  log: { wgsl: 'log(x)', cpu: Math.log },
  sqrt: { wgsl: 'sqrt(x)', cpu: Math.sqrt },
  rsqrt: { wgsl: 'inverseSqrt(x)', cpu: (x) => 1 / Math.sqrt(x) },
  reciprocal: { wgsl: '1.0 / x', cpu: (x) => 1 / x },
  square: { wgsl: 'x * x', cpu: (x) => x * x },
  sin: { wgsl: 'sin(x)', cpu: Math.sin },
  cos: { wgsl: 'cos(x)', cpu: Math.cos },
  tanh: { wgsl: 'tanh_f32(x)', cpu: Math.tanh },
  sigmoid: { wgsl: 'sigmoid_f32(x)', cpu: sigmoid },
  relu: { wgsl: 'max(x, 0.0)', cpu: (x) => Math.max(x, 0) },
  step: { wgsl: 'select(0.0, 1.0, x > 0.0)', cpu: (x) => (x > 0 ? 1 : 0) },
  round: { wgsl: 'round(x)', cpu: roundHalfEven }, // half to even, like torch.round
  gelu: { wgsl: 'gelu_f32(x)', cpu: gelu },
  geluGrad: { wgsl: 'gelu_grad_f32(x)', cpu: geluGrad },
  erf: { wgsl: 'erf_f32(x)', cpu: erf },
  clamp: { wgsl: 'clamp(x, u.p0, u.p1)', cpu: (x, lo, hi) => Math.min(Math.max(x, lo), hi) },
  powScalar: { wgsl: 'pow_f32(x, u.p0)', cpu: (x, p) => Math.pow(x, p) },
};
export type UnaryOp = keyof typeof UNARY;

interface BinaryDef { wgsl: string; cpu: (a: number, b: number) => number; compare?: boolean; floatOnly?: boolean }

export const BINARY: Record<string, BinaryDef> = {
  add: { wgsl: 'a + b', cpu: (a, b) => a + b },
  sub: { wgsl: 'a - b', cpu: (a, b) => a - b },
  mul: { wgsl: 'a * b', cpu: (a, b) => a * b },
  div: { wgsl: 'a / b', cpu: (a, b) => a / b },
  pow: { wgsl: 'pow_f32(a, b)', cpu: Math.pow, floatOnly: true },
  maximum: { wgsl: 'max(a, b)', cpu: Math.max },
  minimum: { wgsl: 'min(a, b)', cpu: Math.min },
  eq: { wgsl: 'a == b', cpu: (a, b) => +(a === b), compare: true },
  ne: { wgsl: 'a != b', cpu: (a, b) => +(a !== b), compare: true },
  lt: { wgsl: 'a < b', cpu: (a, b) => +(a < b), compare: true },
  le: { wgsl: 'a <= b', cpu: (a, b) => +(a <= b), compare: true },
  gt: { wgsl: 'a > b', cpu: (a, b) => +(a > b), compare: true },
  ge: { wgsl: 'a >= b', cpu: (a, b) => +(a >= b), compare: true },
};
export type BinaryOp = keyof typeof BINARY;

/** WGSL pow is undefined for negative bases; torch gives real results for integral exponents. */
const WGSL_POW = /* wgsl */ `
fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  if (a >= 0.0) { return pow(a, b); }
  var nanBits = 0x7fc00000u; // a var, so it is not a (forbidden) NaN constant expression
  if (fract(b) != 0.0) { return bitcast<f32>(nanBits); }
  let m = pow(-a, b);
  return select(m, -m, fract(b * 0.5) != 0.0);
}`;

const PARAMS = /* wgsl */ `
struct Params {
  n: u32, rank: u32, p0: f32, p1: f32,
  shape: array<vec4<u32>, ${MAX_RANK / 4}>,
  s0: array<vec4<u32>, ${MAX_RANK / 4}>,
  s1: array<vec4<u32>, ${MAX_RANK / 4}>,
  s2: array<vec4<u32>, ${MAX_RANK / 4}>,
}`;

/** WGSL: per-input offsets of flat output index i under broadcast strides. */
function offsetsFn(inputs: number): string {
  const decl = Array.from({ length: inputs }, (_, k) => `var o${k} = 0u;`).join(' ');
  const acc = Array.from({ length: inputs }, (_, k) => `o${k} += c * dimAt(u.s${k}, d);`).join(' ');
  const ret = Array.from({ length: inputs }, (_, k) => `o${k}`).join(', ');
  return `
fn offsets(i: u32) -> array<u32, ${inputs}> {
  var r = i; ${decl}
  for (var k = 0u; k < u.rank; k++) {
    let d = u.rank - 1u - k;
    let n = dimAt(u.shape, d);
    let c = r % n; r = r / n;
    ${acc}
  }
  return array<u32, ${inputs}>(${ret});
}`;
}

function kernelHeader(bindings: string[], contiguous: boolean, inputs: number): string {
  const binds = bindings.map((b, i) => `@group(0) @binding(${i}) ${b};`).join('\n');
  return `${WGSL_MATH}${WGSL_POW}${PARAMS}${DIM_AT}${FLAT_INDEX}
${binds}
@group(0) @binding(${bindings.length}) var<uniform> u: Params;
${contiguous ? '' : offsetsFn(inputs)}`;
}

function uniforms(n: number, shape: readonly number[], strides: number[][], p0 = 0, p1 = 0): ArrayBuffer {
  const w = new UniformWriter().u32(n, shape.length).f32(p0, p1).dims(shape);
  for (let k = 0; k < 3; k++) w.dims(strides[k] ?? []);
  return w.build();
}

export function launchUnary(dev: GpuDevice, op: UnaryOp, x: Tensor, out: Tensor, p0 = 0, p1 = 0): void {
  const T = wgslType(x.dtype);
  const def = UNARY[op];
  const n4 = Math.ceil(x.size / 4);
  const spec = {
    key: `unary:${op}:${T}`,
    name: `unary_${op}`,
    code: () => `alias T = ${T};
${kernelHeader(['var<storage, read> X: array<vec4<T>>', 'var<storage, read_write> O: array<vec4<T>>'], true, 1)}
${ENTRY}
  let i0 = flatIndex(wid, nwg, lid, ${WG}u) * ${RUN}u;
  for (var e = 0u; e < ${RUN}u; e++) {
    let i = i0 + e;
    if (i >= u.n) { return; }
    let xv = X[i];
    var o: vec4<T>;
    for (var c = 0u; c < 4u; c++) { let x = xv[c]; o[c] = ${def.wgsl}; }
    O[i] = o;
  }
}`,
  };
  // vec4 lanes: the tail vec4 reads and writes the buffer's padding (every buffer is a multiple of 16 bytes).
  dev.backend.dispatch({ ...spec, detail: x.shape.join('×') }, [x.buffer, out.buffer], uniforms(n4, [n4], [], p0, p1), grid1d(Math.ceil(n4 / RUN)));
}

export function cpuUnary(op: UnaryOp, x: TypedArray, out: TypedArray, p0 = 0, p1 = 0): void {
  const f = UNARY[op].cpu;
  const rnd = out instanceof Int32Array ? Math.trunc : (v: number) => v;
  for (let i = 0; i < x.length; i++) out[i] = rnd(f(x[i], p0, p1));
}

/** Broadcast strides for each input; `contiguous` when no input is broadcast. */
export interface Broadcast { shape: readonly number[]; strides: number[][]; contiguous: boolean }

/**
 * The same broadcast over fewer dimensions: size-1 dimensions are dropped and neighbours merged where
 * every input steps through them as one ((612, 13, 50) + (612, 13, 1) is (7956, 50) + (7956, 1)), so the
 * kernels divide fewer times per offset. Always at least one dimension.
 */
export function collapseBroadcast(bc: Broadcast): { shape: number[]; strides: number[][] } {
  const keep = bc.shape.map((d, i) => i).filter((i) => bc.shape[i] !== 1);
  const shape: number[] = [], strides: number[][] = bc.strides.map(() => []);
  for (const d of keep) {
    const last = shape.length - 1;
    const mergeable = last >= 0 && bc.strides.every((st, k) => strides[k][last] === st[d] * bc.shape[d]);
    if (mergeable) {
      shape[last] *= bc.shape[d];
      bc.strides.forEach((st, k) => { strides[k][last] = st[d]; });
    } else {
      shape.push(bc.shape[d]);
      bc.strides.forEach((st, k) => strides[k].push(st[d]));
    }
  }
  if (!shape.length) return { shape: [1], strides: bc.strides.map(() => [0]) };
  return { shape, strides };
}

export function launchBinary(dev: GpuDevice, op: BinaryOp, a: Tensor, b: Tensor, out: Tensor, bc: Broadcast): void {
  if (out.size === 0) return; // nothing to compute (a zero-length row would make a NaN grid)
  const T = wgslType(a.dtype);
  const OT = wgslType(out.dtype);
  const def = BINARY[op];
  const expr = def.compare ? `select(0.0, 1.0, ${def.wgsl})` : def.wgsl;
  // Same-shape operands run on vec4 views (see launchUnary), RUN vec4s per invocation; broadcasts run
  // RUN elements of a row per invocation, so the offsets (divisions) are computed once per run.
  const V = bc.contiguous;
  let { shape, strides } = collapseBroadcast(bc);
  // A broadcast whose rows are whole in both inputs ((B, K, H) + (B, 1, H)) moves vec4s along them.
  const last = shape.length - 1;
  const rows4 = !V && shape[last] % 4 === 0 && strides.every((st) => st[last] === 1 && st.every((x, d) => d === last || x % 4 === 0));
  if (rows4) {
    shape = shape.map((d, i) => (i === last ? d / 4 : d));
    strides = strides.map((st) => st.map((x, i) => (i === last ? 1 : x / 4)));
  }
  const n = V ? Math.ceil(out.size / 4) : out.size / (rows4 ? 4 : 1);
  const rowLen = shape[last];
  // Broadcasts pay for their offsets in integer divisions (no AVX2 instruction on lavapipe), so each
  // invocation covers a longer run of a row; same-shape operands have no divisions to amortise.
  const run = V ? RUN : BROADCAST_RUN;
  const invocations = V ? Math.ceil(n / run) : (n / rowLen) * Math.ceil(rowLen / run);
  const E = V || rows4 ? 'vec4<T>' : 'T', EO = V || rows4 ? `vec4<${OT}>` : OT;
  const spec = {
    key: `binary:${op}:${T}:${V}:${rows4}`,
    name: `binary_${op}`,
    code: () => `alias T = ${T};
${kernelHeader([`var<storage, read> A: array<${E}>`, `var<storage, read> B: array<${E}>`, `var<storage, read_write> O: array<${EO}>`], V, 2)}
${ENTRY}
  let inv = flatIndex(wid, nwg, lid, ${WG}u);
${V
    ? `  for (var e = 0u; e < ${RUN}u; e++) {
    let i = inv * ${RUN}u + e;
    if (i >= u.n) { return; }
    let av = A[i]; let bv = B[i];
    var o: vec4<${OT}>;
    for (var c = 0u; c < 4u; c++) { let a = av[c]; let b = bv[c]; o[c] = ${expr}; }
    O[i] = o;
  }`
    : `  let last = u.rank - 1u;
  let rowLen = dimAt(u.shape, last);
  let chunks = (rowLen + ${run - 1}u) / ${run}u;
  if (inv >= (u.n / rowLen) * chunks) { return; }
  let first = (inv % chunks) * ${run}u;
  let i0 = (inv / chunks) * rowLen + first;
  let o = offsets(i0);
  let sa = dimAt(u.s0, last); let sb = dimAt(u.s1, last);
  for (var e = 0u; e < ${run}u; e++) {
    if (first + e >= rowLen) { return; }
${rows4
    ? `    let av = A[o[0] + e * sa]; let bv = B[o[1] + e * sb];
    var r: vec4<${OT}>;
    for (var c = 0u; c < 4u; c++) { let a = av[c]; let b = bv[c]; r[c] = ${expr}; }
    O[i0 + e] = r;`
    : `    let a = A[o[0] + e * sa]; let b = B[o[1] + e * sb];
    O[i0 + e] = ${expr};`}
  }`}
}`,
  };
  const detail = `${a.shape.join('×')} · ${b.shape.join('×')}`;
  dev.backend.dispatch({ ...spec, detail }, [a.buffer, b.buffer, out.buffer], uniforms(n, shape, strides), grid1d(invocations));
}

export function cpuBinary(op: BinaryOp, a: TypedArray, b: TypedArray, out: TypedArray, bc: Broadcast): void {
  const f = BINARY[op].cpu;
  const isInt = out instanceof Int32Array;
  for (let i = 0; i < out.length; i++) {
    const x = bc.contiguous ? a[i] : a[stridedOffset(i, bc.shape, bc.strides[0])];
    const y = bc.contiguous ? b[i] : b[stridedOffset(i, bc.shape, bc.strides[1])];
    const r = f(x, y);
    out[i] = isInt ? Math.trunc(r) : r;
  }
}

export function launchWhere(dev: GpuDevice, cond: Tensor, a: Tensor, b: Tensor, out: Tensor, bc: Broadcast): void {
  const { shape, strides } = collapseBroadcast(bc);
  const T = wgslType(a.dtype);
  const C = wgslType(cond.dtype);
  const spec = {
    key: `where:${C}:${T}:${bc.contiguous}`,
    name: 'where',
    code: () => `alias T = ${T};
${kernelHeader([`var<storage, read> C: array<${C}>`, 'var<storage, read> A: array<T>', 'var<storage, read> B: array<T>', 'var<storage, read_write> O: array<T>'], bc.contiguous, 3)}
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.n) { return; }
${bc.contiguous ? '  O[i] = select(B[i], A[i], C[i] != 0);' : '  let o = offsets(i); O[i] = select(B[o[2]], A[o[1]], C[o[0]] != 0);'}
}`,
  };
  dev.backend.dispatch(spec, [cond.buffer, a.buffer, b.buffer, out.buffer], uniforms(out.size, shape, strides), grid1d(out.size));
}

export function cpuWhere(cond: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, bc: Broadcast): void {
  for (let i = 0; i < out.length; i++) {
    const c = bc.contiguous ? cond[i] : cond[stridedOffset(i, bc.shape, bc.strides[0])];
    out[i] = c !== 0
      ? (bc.contiguous ? a[i] : a[stridedOffset(i, bc.shape, bc.strides[1])])
      : (bc.contiguous ? b[i] : b[stridedOffset(i, bc.shape, bc.strides[2])]);
  }
}

export type { DType };
