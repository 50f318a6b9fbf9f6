/**
 * Softmax and log-softmax along one axis, forward and backward, one invocation per line of the
 * (outer, len, inner) view (the fast layout on lavapipe; see docs/ENGINE.md), its max and sum found in one
 * pass (online softmax); on real GPUs the forward over contiguous rows takes one workgroup per row
 * (rowsPerWorkgroup).
 *   forward:  x[outer, len, inner] -> y (same shape), max-subtracted
 *   backward: softmax     dx = y * (g - sum(g * y))
 *             log-softmax dx = g - exp(y) * sum(g)
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, ROW_GROUP, ROW_GROUP_ENTRY, ROW_GROUP_WGSL, rowsPerWorkgroup, UniformWriter, WG } from './common.js';

export interface AxisView { outer: number; len: number; inner: number }

const HEADER = /* wgsl */ `
struct Params { outer: u32, len: u32, inner: u32 }
${FLAT_INDEX}`;

function lineStart(): string {
  return `let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer * u.inner) { return; }
  let base = (i / u.inner) * u.len * u.inner + i % u.inner;
  let st = u.inner;`;
}

/** Rows that are contiguous (inner = 1) with a length divisible by 4 are read as vec4: lavapipe pays per load. */
function useVec4(v: AxisView): boolean {
  return v.inner === 1 && v.len % 4 === 0;
}

/** Real GPUs: contiguous vec4 rows, one workgroup per row, its threads striding along the row. */
function launchSoftmaxRowGroup(dev: GpuDevice, x: Tensor, y: Tensor, v: AxisView, log: boolean): void {
  const spec = {
    key: `softmax_wg:${log}`,
    name: log ? 'log_softmax' : 'softmax',
    code: () => `${HEADER}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> u: Params;
${ROW_GROUP_WGSL}
${ROW_GROUP_ENTRY}
  if (row >= u.outer) { return; }
  let n4 = u.len / 4u;
  let base = row * n4;
  var m4 = vec4<f32>(-0x1.fffffep+127f); // the lowest finite f32: a row of it still has a max
  for (var l = lid; l < n4; l += ${ROW_GROUP}u) { m4 = max(m4, X[base + l]); }
  let m = rowMax(max(max(m4.x, m4.y), max(m4.z, m4.w)), lid);
  var s4 = vec4<f32>(0.0);
  for (var l = lid; l < n4; l += ${ROW_GROUP}u) { s4 += exp(X[base + l] - m); }
  let s = rowSum(s4.x + s4.y + s4.z + s4.w, lid);
${log
    ? `  let ls = log(s);
  for (var l = lid; l < n4; l += ${ROW_GROUP}u) { Y[base + l] = (X[base + l] - m) - ls; }`
    : `  let r = 1.0 / s;
  for (var l = lid; l < n4; l += ${ROW_GROUP}u) { Y[base + l] = exp(X[base + l] - m) * r; }`}
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.len, v.inner).build();
  dev.backend.dispatch(spec, [x.buffer, y.buffer], uni, grid1d(v.outer, 1));
}

export function launchSoftmax(dev: GpuDevice, x: Tensor, y: Tensor, v: AxisView, log: boolean): void {
  const V = useVec4(v);
  if (V && rowsPerWorkgroup(dev)) { launchSoftmaxRowGroup(dev, x, y, v, log); return; }
  const spec = {
    key: `softmax:${log}:${V}`,
    name: log ? 'log_softmax' : 'softmax',
    code: () => V ? `${HEADER}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer) { return; }
  let n4 = u.len / 4u;
  let base = i * n4;
  // One pass for the running max and the sum of exp(x - max) per component (online softmax), so the
  // row is read twice, not three times: loads are what lavapipe pays for.
  var m4 = X[base];
  var s4 = vec4<f32>(1.0);
  for (var l = 1u; l < n4; l++) {
    let xv = X[base + l];
    // x = m counts 1 (exp(0)) without computing -inf - -inf, so -inf-masked entries stay exact.
    let e = select(exp(-abs(xv - m4)), vec4<f32>(1.0), xv == m4);
    s4 = select(s4 + e, s4 * e + 1.0, xv > m4);
    m4 = max(m4, xv);
  }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  let s = dot(s4, exp(m4 - m));
${log
    ? '  let ls = log(s);\n  for (var l = 0u; l < n4; l++) { Y[base + l] = (X[base + l] - m) - ls; }'
    : '  let r = 1.0 / s;\n  for (var l = 0u; l < n4; l++) { Y[base + l] = exp(X[base + l] - m) * r; }'}
}` : `${HEADER}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  ${lineStart()}
  var m = X[base];
  var s = 1.0;
  for (var l = 1u; l < u.len; l++) {
    let x = X[base + l * st];
    let e = select(exp(-abs(x - m)), 1.0, x == m);
    s = select(s + e, s * e + 1.0, x > m);
    m = max(m, x);
  }
${log
    ? '  let ls = log(s);\n  for (var l = 0u; l < u.len; l++) { Y[base + l * st] = (X[base + l * st] - m) - ls; }'
    : '  let r = 1.0 / s;\n  for (var l = 0u; l < u.len; l++) { Y[base + l * st] = exp(X[base + l * st] - m) * r; }'}
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.len, v.inner).build();
  dev.backend.dispatch(spec, [x.buffer, y.buffer], uni, grid1d(v.outer * v.inner));
}

export function launchSoftmaxBackward(dev: GpuDevice, y: Tensor, g: Tensor, dx: Tensor, v: AxisView, log: boolean): void {
  const spec = {
    key: `softmax_bwd:${log}`,
    name: log ? 'log_softmax_backward' : 'softmax_backward',
    code: () => `${HEADER}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  ${lineStart()}
  var s = 0.0;
${log
    ? `  for (var l = 0u; l < u.len; l++) { s += G[base + l * st]; }
  for (var l = 0u; l < u.len; l++) { let k = base + l * st; DX[k] = G[k] - exp(Y[k]) * s; }`
    : `  for (var l = 0u; l < u.len; l++) { let k = base + l * st; s += G[k] * Y[k]; }
  for (var l = 0u; l < u.len; l++) { let k = base + l * st; DX[k] = Y[k] * (G[k] - s); }`}
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.len, v.inner).build();
  dev.backend.dispatch(spec, [y.buffer, g.buffer, dx.buffer], uni, grid1d(v.outer * v.inner));
}

function forLines(v: AxisView, f: (base: number, st: number) => void): void {
  for (let o = 0; o < v.outer; o++) for (let inn = 0; inn < v.inner; inn++) f(o * v.len * v.inner + inn, v.inner);
}

export function cpuSoftmax(x: TypedArray, y: TypedArray, v: AxisView, log: boolean): void {
  forLines(v, (base, st) => {
    let m = -Infinity;
    for (let l = 0; l < v.len; l++) m = Math.max(m, x[base + l * st]);
    let s = 0;
    for (let l = 0; l < v.len; l++) s += Math.exp(x[base + l * st] - m);
    // Relative to the max, so a row far from 0 keeps log s (m + log s would round it away).
    const ls = Math.log(s);
    for (let l = 0; l < v.len; l++) {
      const k = base + l * st;
      y[k] = log ? x[k] - m - ls : Math.exp(x[k] - m) / s;
    }
  });
}

export function cpuSoftmaxBackward(y: TypedArray, g: TypedArray, dx: TypedArray, v: AxisView, log: boolean): void {
  forLines(v, (base, st) => {
    let s = 0;
    for (let l = 0; l < v.len; l++) { const k = base + l * st; s += log ? g[k] : g[k] * y[k]; }
    for (let l = 0; l < v.len; l++) {
      const k = base + l * st;
      dx[k] = log ? g[k] - Math.exp(y[k]) * s : y[k] * (g[k] - s);
    }
  });
}
