/**
 * LayerNorm over the last axis, forward and backward (one invocation per row, its mean and variance in
 * one Welford pass; per column for dγ, dβ; vec4s when d % 4 == 0; on real GPUs the forward takes one
 * workgroup per row: rowsPerWorkgroup; on lavapipe a subgroup's rows share their γ, β loads).
 *   forward:  x[rows, d], gamma[d], beta[d] -> y[rows, d], mean[rows], rstd[rows]
 *   backward: xh = (x - mean) * rstd,  dxh = g * gamma
 *             dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh))
 *             dgamma = sum_rows g * xh,  dbeta = sum_rows g
 * Variance is the biased one (divide by d), as in torch.nn.LayerNorm.
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, range, ROW_GROUP, ROW_GROUP_ENTRY, ROW_GROUP_WGSL, rowsPerWorkgroup, subgroupEntry, subgroupVariantSize, UniformWriter, WG } from './common.js';

const HEADER = /* wgsl */ `
struct Params { rows: u32, d: u32, eps: f32 }
${FLAT_INDEX}`;
const ROW_ENTRY = `${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);`;

const FORWARD_BINDINGS = (A: string) => `@group(0) @binding(0) var<storage, read> X: array<${A}>;
@group(0) @binding(1) var<storage, read> G: array<${A}>;
@group(0) @binding(2) var<storage, read> B: array<${A}>;
@group(0) @binding(3) var<storage, read_write> Y: array<${A}>;
@group(0) @binding(4) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(5) var<storage, read_write> RSTD: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;`;

/** Real GPUs, d % 4 == 0: one workgroup per row, its threads striding along the row in vec4s. */
function launchLayerNormRowGroup(dev: GpuDevice, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, mean: Tensor, rstd: Tensor, rows: number, d: number, eps: number): void {
  const spec = {
    key: 'layernorm_wg',
    name: 'layernorm',
    code: () => `${HEADER}
${FORWARD_BINDINGS('vec4<f32>')}
${ROW_GROUP_WGSL}
${ROW_GROUP_ENTRY}
  if (row >= u.rows) { return; }
  let n = u.d / 4u;
  let base = row * n;
  // As in welfordStatistics: the row's first value is subtracted first, so the sum of a row far from 0
  // keeps the digits its spread lives in.
  let shift = X[base].x;
  var s = vec4<f32>(0.0);
  for (var j = lid; j < n; j += ${ROW_GROUP}u) { s += X[base + j] - shift; }
  let ms = rowSum(dot(s, vec4<f32>(1.0)), lid) / f32(u.d);
  var v = vec4<f32>(0.0);
  for (var j = lid; j < n; j += ${ROW_GROUP}u) { let c = (X[base + j] - shift) - ms; v += c * c; }
  let r = inverseSqrt(rowSum(dot(v, vec4<f32>(1.0)), lid) / f32(u.d) + u.eps);
  for (var j = lid; j < n; j += ${ROW_GROUP}u) { Y[base + j] = ((X[base + j] - shift) - ms) * r * G[j] + B[j]; }
  if (lid == 0u) { MEAN[row] = shift + ms; RSTD[row] = r; }
}`,
  };
  const uni = new UniformWriter().u32(rows, d).f32(eps).build();
  dev.backend.dispatch(spec, [x.buffer, gamma.buffer, beta.buffer, y.buffer, mean.buffer, rstd.buffer], uni, grid1d(rows, 1));
}

/**
 * WGSL: the row's mean and variance in one pass over X[base .. base + n) (Welford, per vec4 component when
 * V; the components' partial results have equal counts and are combined after), so a row is read twice,
 * not three times. The row's first value is subtracted first, so a row far from 0 keeps its digits
 * (x − shift is exact for close values). Leaves `shift`, `ms` (mean − shift) and `r` (1/std).
 */
function welfordStatistics(V: boolean): string {
  const A = V ? 'vec4<f32>' : 'f32';
  return `  let shift = X[base]${V ? '.x' : ''};
  var mu = ${A}(0.0);
  var m2 = ${A}(0.0);
  for (var j = 0u; j < n; j++) {
    let xv = X[base + j] - shift;
    let delta = xv - mu;
    mu += delta * (1.0 / f32(j + 1u)); // 1 / (j + 1) once, then a multiply per component
    m2 += delta * (xv - mu);
  }
${V
    ? `  let ms = dot(mu, vec4<f32>(0.25));
  let spread = mu - ms;
  let r = inverseSqrt((dot(m2, vec4<f32>(1.0)) + f32(n) * dot(spread, spread)) / f32(u.d) + u.eps);`
    : `  let ms = mu;
  let r = inverseSqrt(m2 / f32(u.d) + u.eps);`}`;
}

/**
 * lavapipe, d % 4 == 0 (DNER_LAYERNORM=rows|subgroup forces either): one row per lane as the `rows`
 * kernel, but every lane of a subgroup reads γ and β at the same column, so each lane loads one vec4 of
 * each per S columns and the subgroup shares them by broadcast, instead of S loads apiece (a load costs
 * about 20 broadcasts there). Same arithmetic, same results; 1.2–1.35× faster at [4096, 1024]
 * (`bench/probe-rownorm.ts`).
 */
function launchLayerNormSubgroup(dev: GpuDevice, S: number, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, mean: Tensor, rstd: Tensor, rows: number, d: number, eps: number): void {
  const spec = {
    key: `layernorm_sg:${S}`,
    name: 'layernorm',
    code: () => `enable subgroups;
${HEADER}
${FORWARD_BINDINGS('vec4<f32>')}
${subgroupEntry(S)}
  // Lanes past the last row compute a copy of it, to take part in the broadcasts, and store nothing.
  let i = g * ${S}u + lane;
  let live = i < u.rows;
  let n = u.d / 4u;
  let base = min(i, u.rows - 1u) * n;
${welfordStatistics(true)}
  for (var j0 = 0u; j0 < n; j0 += ${S}u) {
    let gl = G[min(j0 + lane, n - 1u)];
    let bl = B[min(j0 + lane, n - 1u)];
${range(S).map((jj) => `    {
      let j = j0 + ${jj}u;
      let gj = subgroupBroadcast(gl, ${jj}u);
      let bj = subgroupBroadcast(bl, ${jj}u);
      if (live && j < n) { Y[base + j] = ((X[base + j] - shift) - ms) * r * gj + bj; }
    }`).join('\n')}
  }
  if (live) { MEAN[i] = shift + ms; RSTD[i] = r; }
}`,
  };
  const uni = new UniformWriter().u32(rows, d).f32(eps).build();
  dev.backend.dispatch(spec, [x.buffer, gamma.buffer, beta.buffer, y.buffer, mean.buffer, rstd.buffer], uni, grid1d(rows, S));
}

export function launchLayerNorm(dev: GpuDevice, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, mean: Tensor, rstd: Tensor, rows: number, d: number, eps: number): void {
  // Rows of a multiple of 4 are read as vec4 (lavapipe pays per load, not per byte).
  const V = d % 4 === 0;
  if (V && rowsPerWorkgroup(dev)) { launchLayerNormRowGroup(dev, x, gamma, beta, y, mean, rstd, rows, d, eps); return; }
  const S = V ? subgroupVariantSize(dev, 'DNER_LAYERNORM', 'layernorm') : 0;
  if (S) { launchLayerNormSubgroup(dev, S, x, gamma, beta, y, mean, rstd, rows, d, eps); return; }
  const A = V ? 'vec4<f32>' : 'f32';
  const spec = {
    key: `layernorm:${V}`,
    name: 'layernorm',
    code: () => `${HEADER}
${FORWARD_BINDINGS(A)}
${ROW_ENTRY}
  if (i >= u.rows) { return; }
  let n = u.d / ${V ? 4 : 1}u;
  let base = i * n;
${welfordStatistics(V)}
  for (var j = 0u; j < n; j++) { Y[base + j] = ((X[base + j] - shift) - ms) * r * G[j] + B[j]; }
  MEAN[i] = shift + ms;
  RSTD[i] = r;
}`,
  };
  const uni = new UniformWriter().u32(rows, d).f32(eps).build();
  dev.backend.dispatch(spec, [x.buffer, gamma.buffer, beta.buffer, y.buffer, mean.buffer, rstd.buffer], uni, grid1d(rows));
}

export function launchLayerNormBackward(dev: GpuDevice, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor, g: Tensor, dx: Tensor, dgamma: Tensor, dbeta: Tensor, rows: number, d: number): void {
  // vec4 when d % 4 == 0, as in the forward: 2.3x faster than scalars on lavapipe at [4096, 1024]
  // (docs/ENGINE.md, kernel table).
  const V = d % 4 === 0;
  const A = V ? 'vec4<f32>' : 'f32';
  const bind = (names: [string, string, string][]) =>
    names.map(([n, access, type], i) => `@group(0) @binding(${i}) var<storage, ${access}> ${n}: array<${type}>;`).join('\n');
  const sum = (v: string) => (V ? `dot(${v}, vec4<f32>(1.0))` : v);
  const rowsSpec = {
    key: `layernorm_bwd_dx:${V}`,
    name: 'layernorm_backward_dx',
    code: () => `${HEADER}
${bind([['X', 'read', A], ['GAMMA', 'read', A], ['MEAN', 'read', 'f32'], ['RSTD', 'read', 'f32'], ['G', 'read', A], ['DX', 'read_write', A]])}
@group(0) @binding(6) var<uniform> u: Params;
${ROW_ENTRY}
  if (i >= u.rows) { return; }
  let n = u.d / ${V ? 4 : 1}u;
  let base = i * n;
  let m = MEAN[i]; let r = RSTD[i];
  var s1 = ${A}(0.0); var s2 = ${A}(0.0);
  for (var j = 0u; j < n; j++) {
    let dxh = G[base + j] * GAMMA[j];
    s1 += dxh; s2 += dxh * (X[base + j] - m) * r;
  }
  let inv = 1.0 / f32(u.d);
  let t1 = ${sum('s1')} * inv; let t2 = ${sum('s2')} * inv;
  for (var j = 0u; j < n; j++) {
    let xh = (X[base + j] - m) * r;
    DX[base + j] = r * (G[base + j] * GAMMA[j] - t1 - xh * t2);
  }
}`,
  };
  const colsSpec = {
    key: `layernorm_bwd_dparams:${V}`,
    name: 'layernorm_backward_dgamma_dbeta',
    code: () => `${HEADER}
${bind([['X', 'read', A], ['MEAN', 'read', 'f32'], ['RSTD', 'read', 'f32'], ['G', 'read', A], ['DGAMMA', 'read_write', A], ['DBETA', 'read_write', A]])}
@group(0) @binding(6) var<uniform> u: Params;
${ROW_ENTRY}
  let n = u.d / ${V ? 4 : 1}u;
  if (i >= n) { return; }
  var sg = ${A}(0.0); var sb = ${A}(0.0);
  for (var row = 0u; row < u.rows; row++) {
    let k = row * n + i;
    sg += G[k] * (X[k] - MEAN[row]) * RSTD[row];
    sb += G[k];
  }
  DGAMMA[i] = sg;
  DBETA[i] = sb;
}`,
  };
  const uni = new UniformWriter().u32(rows, d).f32(0).build();
  dev.backend.dispatch(rowsSpec, [x.buffer, gamma.buffer, mean.buffer, rstd.buffer, g.buffer, dx.buffer], uni, grid1d(rows));
  dev.backend.dispatch(colsSpec, [x.buffer, mean.buffer, rstd.buffer, g.buffer, dgamma.buffer, dbeta.buffer], uni, grid1d(V ? d / 4 : d));
}

export function cpuLayerNorm(x: TypedArray, gamma: TypedArray, beta: TypedArray, y: TypedArray, mean: TypedArray, rstd: TypedArray, rows: number, d: number, eps: number): void {
  for (let i = 0; i < rows; i++) {
    const base = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[base + j];
    const m = s / d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[base + j] - m) ** 2;
    const r = 1 / Math.sqrt(v / d + eps);
    for (let j = 0; j < d; j++) y[base + j] = (x[base + j] - m) * r * gamma[j] + beta[j];
    mean[i] = m;
    rstd[i] = r;
  }
}

export function cpuLayerNormBackward(x: TypedArray, gamma: TypedArray, mean: TypedArray, rstd: TypedArray, g: TypedArray, dx: TypedArray, dgamma: TypedArray, dbeta: TypedArray, rows: number, d: number): void {
  dgamma.fill(0);
  dbeta.fill(0);
  for (let i = 0; i < rows; i++) {
    const base = i * d, m = mean[i], r = rstd[i];
    let s1 = 0, s2 = 0;
    for (let j = 0; j < d; j++) {
      const xh = (x[base + j] - m) * r, dxh = g[base + j] * gamma[j];
      s1 += dxh; s2 += dxh * xh;
      dgamma[j] += g[base + j] * xh;
      dbeta[j] += g[base + j];
    }
    for (let j = 0; j < d; j++) {
      const xh = (x[base + j] - m) * r;
      dx[base + j] = r * (g[base + j] * gamma[j] - s1 / d - (xh * s2) / d);
    }
  }
}
