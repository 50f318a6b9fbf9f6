/**
 * BOPN's word-pair grid in one pass: a conditional layer norm of word i conditioned on word j, then the
 * (i, j) cell's distance and region embeddings, concatenated along the features.
 *   v[b,i,j,:]    = N[b,i,:] · S[b,j,:] + T[b,j,:]                                       (H)
 *   grid[b,i,j,:] = [ v[b,i,j,:] ; D[dist[b,i,j], :] ; R[reg[b,i,j], :] ]                 (G = H + E1 + E2)
 * An id outside [0, rows) reads a row of zeros and gets no gradient, as indexSelect.
 * Backward, with g = d grid split into gv (H), gd (E1), gr (E2):
 *   dN[b,i,:] = Σ_j gv[b,i,j,:] · S[b,j,:]        one invocation per (b, i, column), looping over j
 *   dS[b,j,:] = Σ_i gv[b,i,j,:] · N[b,i,:]        one invocation per (b, j, column), looping over i,
 *   dT[b,j,:] = Σ_i gv[b,i,j,:]                   which also sums dT
 *   dD[k,:]   = Σ_{b,i,j: dist[b,i,j] = k} gd[b,i,j,:]   per-(b, k, column) partials over the n² cells of
 *   dR[k,:]   = Σ_{b,i,j: reg[b,i,j] = k}  gr[b,i,j,:]   sentence b, then a sum over b (the tables are tiny)
 *   N, S, T, dN, dS, dT (B, n, H); D, dD (K1, E1); R, dR (K2, E2); dist, reg (B, n, n) i32;
 *   grid, g (B, n, n, G); table partials (B, K, E)
 * Every reduction is a loop inside one invocation (no atomics, no workgroup memory), and rows whose
 * widths H, E1, E2 are all multiples of 4 move vec4s. The forward runs one invocation per cell on
 * lavapipe and one workgroup of ROW_GROUP threads per cell on real GPUs (rowsPerWorkgroup).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, ROW_GROUP, rowsPerWorkgroup, UniformWriter, WG, wgslType } from './common.js';

/** Sizes in elements: B sentences of n words, H features normalised, tables of K1 × E1 and K2 × E2. */
export interface ClnGridDims { B: number; n: number; H: number; K1: number; E1: number; K2: number; E2: number }

/** Elements per load: 4 when every row width is a multiple of 4. */
const width = (d: ClnGridDims) => (d.H % 4 === 0 && d.E1 % 4 === 0 && d.E2 % 4 === 0 ? 4 : 1);

/** The WGSL element type (vec4 or scalar: the row widths in Params count it) and the parameters. */
function header(V: number): string {
  return `alias T = ${V === 4 ? 'vec4<f32>' : 'f32'};
struct Params { B: u32, n: u32, H: u32, E1: u32, E2: u32, K1: u32, K2: u32, G: u32, off: u32, E: u32, K: u32 }
${FLAT_INDEX}`;
}

/** Uniforms with the widths H, E1, E2, G counted in V-element loads; off, E, K name one table (its gradient). */
function uniforms(d: ClnGridDims, V: number, table: { off: number; E: number; K: number } = { off: 0, E: 0, K: 0 }): ArrayBuffer {
  const G = d.H + d.E1 + d.E2;
  return new UniformWriter().u32(d.B, d.n, d.H / V, d.E1 / V, d.E2 / V, d.K1, d.K2, G / V, table.off / V, table.E / V, table.K).build();
}

/**
 * Forward. `cell` is the flat (b, i, j); the invocation (lane 0, stride 1) or the workgroup (lanes lid,
 * stride ROW_GROUP) writes its row of G.
 */
function forwardSource(V: number, group: boolean): string {
  const [lane, stride] = group ? ['lid', `${ROW_GROUP}u`] : ['0u', '1u'];
  /** Row k of TABLE (K rows of E) into OUT[o ..]; zeros when k is outside [0, K). */
  const embed = (table: string, ids: string, K: string, E: string, o: string) => `  {
    let k = ${ids}[cell];
    if (k >= 0 && u32(k) < ${K}) {
      let src = u32(k) * ${E};
      for (var c = ${lane}; c < ${E}; c += ${stride}) { OUT[${o} + c] = ${table}[src + c]; }
    } else {
      for (var c = ${lane}; c < ${E}; c += ${stride}) { OUT[${o} + c] = T(0); }
    }
  }`;
  return `${header(V)}
@group(0) @binding(0) var<storage, read> N: array<T>;
@group(0) @binding(1) var<storage, read> S: array<T>;
@group(0) @binding(2) var<storage, read> SH: array<T>;
@group(0) @binding(3) var<storage, read> D: array<T>;
@group(0) @binding(4) var<storage, read> DIST: array<i32>;
@group(0) @binding(5) var<storage, read> R: array<T>;
@group(0) @binding(6) var<storage, read> REG: array<i32>;
@group(0) @binding(7) var<storage, read_write> OUT: array<T>;
@group(0) @binding(8) var<uniform> u: Params;
${group ? `@compute @workgroup_size(${ROW_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cell = wid.y * nwg.x + wid.x;` : `${ENTRY}
  let cell = flatIndex(wid, nwg, lid, ${WG}u);`}
  if (cell >= u.B * u.n * u.n) { return; }
  let bi = cell / u.n;
  let bj = (bi / u.n) * u.n + cell % u.n;
  let o = cell * u.G;
  for (var c = ${lane}; c < u.H; c += ${stride}) { OUT[o + c] = N[bi * u.H + c] * S[bj * u.H + c] + SH[bj * u.H + c]; }
${embed('D', 'DIST', 'u.K1', 'u.E1', 'o + u.H')}
${embed('R', 'REG', 'u.K2', 'u.E2', 'o + u.H + u.E1')}
}`;
}

/** dN: invocation (b, i, c) sums gv[b,i,j,c] · S[b,j,c] over j. */
function normGradSource(V: number): string {
  return `${header(V)}
@group(0) @binding(0) var<storage, read> GR: array<T>;
@group(0) @binding(1) var<storage, read> S: array<T>;
@group(0) @binding(2) var<storage, read_write> DN: array<T>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  let x = flatIndex(wid, nwg, lid, ${WG}u);
  if (x >= u.B * u.n * u.H) { return; }
  let c = x % u.H; let bi = x / u.H; let b0 = (bi / u.n) * u.n;
  var acc = T(0);
  for (var j = 0u; j < u.n; j++) { acc += GR[(bi * u.n + j) * u.G + c] * S[(b0 + j) * u.H + c]; }
  DN[x] = acc;
}`;
}

/** dS and dT: invocation (b, j, c) sums gv[b,i,j,c] · N[b,i,c] and gv[b,i,j,c] over i. */
function scaleShiftGradSource(V: number): string {
  return `${header(V)}
@group(0) @binding(0) var<storage, read> GR: array<T>;
@group(0) @binding(1) var<storage, read> N: array<T>;
@group(0) @binding(2) var<storage, read_write> DS: array<T>;
@group(0) @binding(3) var<storage, read_write> DT: array<T>;
@group(0) @binding(4) var<uniform> u: Params;
${ENTRY}
  let x = flatIndex(wid, nwg, lid, ${WG}u);
  if (x >= u.B * u.n * u.H) { return; }
  let c = x % u.H; let bj = x / u.H; let b0 = (bj / u.n) * u.n; let j = bj % u.n;
  var accS = T(0); var accT = T(0);
  for (var i = 0u; i < u.n; i++) {
    let gv = GR[((b0 + i) * u.n + j) * u.G + c];
    accS += gv * N[(b0 + i) * u.H + c];
    accT += gv;
  }
  DS[x] = accS;
  DT[x] = accT;
}`;
}

/** A table's partials: invocation (b, k, c) sums g[cell, off + c] over the cells of sentence b whose id is k. */
function tableGradSource(V: number): string {
  return `${header(V)}
@group(0) @binding(0) var<storage, read> GR: array<T>;
@group(0) @binding(1) var<storage, read> IDS: array<i32>;
@group(0) @binding(2) var<storage, read_write> PART: array<T>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  let x = flatIndex(wid, nwg, lid, ${WG}u);
  if (x >= u.B * u.K * u.E) { return; }
  let c = x % u.E; let bk = x / u.E; let k = i32(bk % u.K); let b = bk / u.K;
  let first = b * u.n * u.n;
  var acc = T(0);
  for (var cell = first; cell < first + u.n * u.n; cell++) {
    if (IDS[cell] == k) { acc += GR[cell * u.G + u.off + c]; }
  }
  PART[x] = acc;
}`;
}

const kernelName = (name: string, V: number) => `cln_grid_${name}${V === 4 ? '_vec4' : ''}`;
const spec = (name: string, V: number, code: () => string, variant = '') => ({ key: `cln_grid_${name}:${V}${variant}`, name: kernelName(name, V), code });

/** grid (B, n, n, G) from norm, scale, shift (B, n, H), the tables and the (B, n, n) ids. */
export function launchClnGrid(dev: GpuDevice, norm: Tensor, scale: Tensor, shift: Tensor, dist: Tensor, distIds: Tensor, reg: Tensor, regIds: Tensor, out: Tensor, d: ClnGridDims): void {
  wgslType(norm.dtype);
  const V = width(d), group = rowsPerWorkgroup(dev), cells = d.B * d.n * d.n;
  dev.backend.dispatch(spec('forward', V, () => forwardSource(V, group), group ? ':workgroup' : ':invocation'),
    [norm.buffer, scale.buffer, shift.buffer, dist.buffer, distIds.buffer, reg.buffer, regIds.buffer, out.buffer], uniforms(d, V), group ? grid1d(cells, 1) : grid1d(cells));
}

/**
 * The gradients to compute; a null one is skipped. dScale and dShift come from one kernel: both or
 * neither. The tables' are partials (B, K, E), to be summed over b.
 */
export interface ClnGridGrads { dNorm: Tensor | null; dScaleShift: [Tensor, Tensor] | null; dDistPart: Tensor | null; dRegPart: Tensor | null }

export function launchClnGridBackward(dev: GpuDevice, norm: Tensor, scale: Tensor, distIds: Tensor, regIds: Tensor, g: Tensor, out: ClnGridGrads, d: ClnGridDims): void {
  wgslType(norm.dtype);
  const V = width(d), rows = grid1d((d.B * d.n * d.H) / V);
  if (out.dNorm) dev.backend.dispatch(spec('backward_norm', V, () => normGradSource(V)), [g.buffer, scale.buffer, out.dNorm.buffer], uniforms(d, V), rows);
  if (out.dScaleShift) {
    const [ds, dt] = out.dScaleShift;
    dev.backend.dispatch(spec('backward_scale_shift', V, () => scaleShiftGradSource(V)), [g.buffer, norm.buffer, ds.buffer, dt.buffer], uniforms(d, V), rows);
  }
  const tables = [
    { part: out.dDistPart, ids: distIds, off: d.H, E: d.E1, K: d.K1 },
    { part: out.dRegPart, ids: regIds, off: d.H + d.E1, E: d.E2, K: d.K2 },
  ];
  for (const t of tables) {
    if (t.part) dev.backend.dispatch(spec('backward_table', V, () => tableGradSource(V)), [g.buffer, t.ids.buffer, t.part.buffer], uniforms(d, V, t), grid1d((d.B * t.K * t.E) / V));
  }
}

/** The reference forward. */
export function cpuClnGrid(norm: TypedArray, scale: TypedArray, shift: TypedArray, dist: TypedArray, distIds: TypedArray, reg: TypedArray, regIds: TypedArray, out: TypedArray, d: ClnGridDims): void {
  const { B, n, H, K1, E1, K2, E2 } = d, G = H + E1 + E2;
  const embed = (table: TypedArray, k: number, K: number, E: number, o: number) => {
    for (let c = 0; c < E; c++) out[o + c] = k >= 0 && k < K ? table[k * E + c] : 0;
  };
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const cell = (b * n + i) * n + j, o = cell * G, bi = b * n + i, bj = b * n + j;
    for (let c = 0; c < H; c++) out[o + c] = norm[bi * H + c] * scale[bj * H + c] + shift[bj * H + c];
    embed(dist, distIds[cell], K1, E1, o + H);
    embed(reg, regIds[cell], K2, E2, o + H + E1);
  }
}

/** The reference backward: each wanted gradient (non-null) is overwritten; the tables' are whole (K, E), not partials. */
export function cpuClnGridBackward(norm: TypedArray, scale: TypedArray, distIds: TypedArray, regIds: TypedArray, g: TypedArray,
  out: { dNorm: TypedArray | null; dScale: TypedArray | null; dShift: TypedArray | null; dDist: TypedArray | null; dReg: TypedArray | null }, d: ClnGridDims): void {
  const { B, n, H, K1, E1, K2, E2 } = d, G = H + E1 + E2;
  for (const t of Object.values(out)) t?.fill(0);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const cell = (b * n + i) * n + j, o = cell * G, bi = b * n + i, bj = b * n + j;
    for (let c = 0; c < H; c++) {
      const gv = g[o + c];
      if (out.dNorm) out.dNorm[bi * H + c] += gv * scale[bj * H + c];
      if (out.dScale) out.dScale[bj * H + c] += gv * norm[bi * H + c];
      if (out.dShift) out.dShift[bj * H + c] += gv;
    }
    const k1 = distIds[cell], k2 = regIds[cell];
    if (out.dDist && k1 >= 0 && k1 < K1) for (let c = 0; c < E1; c++) out.dDist[k1 * E1 + c] += g[o + H + c];
    if (out.dReg && k2 >= 0 && k2 < K2) for (let c = 0; c < E2; c++) out.dReg[k2 * E2 + c] += g[o + H + E1 + c];
  }
}
