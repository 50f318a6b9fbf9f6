/**
 * index-select and its adjoint, index-add (scatter-add), along one axis.
 *   indexSelect: x[outer, R, inner], idx[J] -> out[outer, J, inner];  out[o,j,:] = x[o, idx[j], :]
 *   indexAdd:    base[outer, R, inner], idx[J], src[outer, J, inner] -> out = base; out[o, idx[j], :] += src[o, j, :]
 * Indices outside [0, R) read as 0 / are ignored on both devices. indexAdd is deterministic with no
 * float atomics, summing base then src rows in index order, by one of two kernels:
 *   by_row:      an invocation owns one (o, r, column block) of out and scans all of idx: O(R·J)
 *   by_position: out = base, then the first position j of each distinct index sums all its positions:
 *                O(J²); chosen when J < R (an embedding table's gradient: R = vocabulary, J = batch words)
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { launchStridedCopy } from './copy.js';
import { ENTRY, FLAT_INDEX, grid1d, RUN, UniformWriter, WG, wgslType } from './common.js';

export interface IndexView { outer: number; rows: number; inner: number; count: number }

const COLS_PER_INVOCATION = 16;

/**
 * An invocation moves a run of RUN elements of one output row, so the index arithmetic (integer
 * division has no AVX2 instruction) and the index load happen once per run; rows whose length is a
 * multiple of 4 move vec4s (a span's start and end word projections: (B·K) rows of H).
 */
export function launchIndexSelect(dev: GpuDevice, x: Tensor, idx: Tensor, out: Tensor, v: IndexView): void {
  const T = wgslType(x.dtype);
  const V = v.inner % 4 === 0 ? 4 : 1;
  const inner = v.inner / V, chunks = Math.ceil(inner / RUN);
  const invocations = v.outer * v.count * chunks;
  if (invocations === 0) return;
  const spec = {
    key: `index_select:${T}:${V}`,
    name: V === 4 ? 'index_select_vec4' : 'index_select',
    code: () => `alias T = ${V === 4 ? `vec4<${T}>` : T};
struct Params { outer: u32, rows: u32, inner: u32, count: u32, chunks: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> X: array<T>;
@group(0) @binding(1) var<storage, read> IDX: array<i32>;
@group(0) @binding(2) var<storage, read_write> O: array<T>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer * u.count * u.chunks) { return; }
  let first = (i % u.chunks) * ${RUN}u;
  let oj = i / u.chunks;
  let j = oj % u.count;
  let o = oj / u.count;
  let r = IDX[j];
  let dst = oj * u.inner + first;
  let end = min(first + ${RUN}u, u.inner) - first;
  if (r < 0 || u32(r) >= u.rows) {
    for (var e = 0u; e < end; e++) { O[dst + e] = T(0); }
    return;
  }
  let src = (o * u.rows + u32(r)) * u.inner + first;
  for (var e = 0u; e < end; e++) { O[dst + e] = X[src + e]; }
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.rows, inner, v.count, chunks).build();
  dev.backend.dispatch(spec, [x.buffer, idx.buffer, out.buffer], uni, grid1d(invocations));
}

export function cpuIndexSelect(x: TypedArray, idx: TypedArray, out: TypedArray, v: IndexView): void {
  for (let o = 0; o < v.outer; o++) {
    for (let j = 0; j < v.count; j++) {
      const r = idx[j];
      for (let c = 0; c < v.inner; c++) {
        out[(o * v.count + j) * v.inner + c] = r >= 0 && r < v.rows ? x[(o * v.rows + r) * v.inner + c] : 0;
      }
    }
  }
}

export function launchIndexAdd(dev: GpuDevice, base: Tensor, idx: Tensor, src: Tensor, out: Tensor, v: IndexView): void {
  if (v.count < v.rows) launchIndexAddByPosition(dev, base, idx, src, out, v);
  else launchIndexAddByRow(dev, base, idx, src, out, v);
}

function launchIndexAddByRow(dev: GpuDevice, base: Tensor, idx: Tensor, src: Tensor, out: Tensor, v: IndexView): void {
  const T = wgslType(base.dtype);
  const blocks = Math.ceil(v.inner / COLS_PER_INVOCATION);
  const n = v.outer * v.rows * blocks;
  const spec = {
    key: `index_add:${T}`,
    name: 'index_add_by_row',
    code: () => `alias T = ${T};
struct Params { outer: u32, rows: u32, inner: u32, count: u32, blocks: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> BASE: array<T>;
@group(0) @binding(1) var<storage, read> IDX: array<i32>;
@group(0) @binding(2) var<storage, read> SRC: array<T>;
@group(0) @binding(3) var<storage, read_write> O: array<T>;
@group(0) @binding(4) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer * u.rows * u.blocks) { return; }
  let b = i % u.blocks;
  let r = (i / u.blocks) % u.rows;
  let o = i / (u.blocks * u.rows);
  let c0 = b * ${COLS_PER_INVOCATION}u;
  let c1 = min(u.inner, c0 + ${COLS_PER_INVOCATION}u);
  let dst = (o * u.rows + r) * u.inner;
  for (var c = c0; c < c1; c++) { O[dst + c] = BASE[dst + c]; }
  for (var j = 0u; j < u.count; j++) {
    if (IDX[j] != i32(r)) { continue; }
    let s = (o * u.count + j) * u.inner;
    for (var c = c0; c < c1; c++) { O[dst + c] += SRC[s + c]; }
  }
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.rows, v.inner, v.count, blocks).build();
  dev.backend.dispatch(spec, [base.buffer, idx.buffer, src.buffer, out.buffer], uni, grid1d(n));
}

function launchIndexAddByPosition(dev: GpuDevice, base: Tensor, idx: Tensor, src: Tensor, out: Tensor, v: IndexView): void {
  const T = wgslType(base.dtype);
  launchStridedCopy(dev, base, out, { shape: [base.size], srcStrides: [1], srcOffset: 0, dstStrides: [1], dstOffset: 0 });
  const blocks = Math.ceil(v.inner / COLS_PER_INVOCATION);
  const n = v.outer * v.count * blocks;
  const spec = {
    key: `index_add_pos:${T}`,
    name: 'index_add_by_position',
    code: () => `alias T = ${T};
struct Params { outer: u32, rows: u32, inner: u32, count: u32, blocks: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> IDX: array<i32>;
@group(0) @binding(1) var<storage, read> SRC: array<T>;
@group(0) @binding(2) var<storage, read_write> O: array<T>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer * u.count * u.blocks) { return; }
  let b = i % u.blocks;
  let j = (i / u.blocks) % u.count;
  let o = i / (u.blocks * u.count);
  let r = IDX[j];
  if (r < 0 || u32(r) >= u.rows) { return; }
  // Only the first position holding r writes, so each output row has one writer.
  for (var e = 0u; e < j; e++) { if (IDX[e] == r) { return; } }
  let c0 = b * ${COLS_PER_INVOCATION}u;
  let c1 = min(u.inner, c0 + ${COLS_PER_INVOCATION}u);
  let dst = (o * u.rows + u32(r)) * u.inner;
  var acc: array<T, ${COLS_PER_INVOCATION}>;
  for (var c = c0; c < c1; c++) { acc[c - c0] = O[dst + c]; }
  for (var e = j; e < u.count; e++) {
    if (IDX[e] != r) { continue; }
    let s = (o * u.count + e) * u.inner;
    for (var c = c0; c < c1; c++) { acc[c - c0] += SRC[s + c]; }
  }
  for (var c = c0; c < c1; c++) { O[dst + c] = acc[c - c0]; }
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.rows, v.inner, v.count, blocks).build();
  dev.backend.dispatch(spec, [idx.buffer, src.buffer, out.buffer], uni, grid1d(n));
}

export function cpuIndexAdd(base: TypedArray, idx: TypedArray, src: TypedArray, out: TypedArray, v: IndexView): void {
  out.set(base);
  for (let o = 0; o < v.outer; o++) {
    for (let j = 0; j < v.count; j++) {
      const r = idx[j];
      if (r < 0 || r >= v.rows) continue;
      for (let c = 0; c < v.inner; c++) out[(o * v.rows + r) * v.inner + c] += src[(o * v.count + j) * v.inner + c];
    }
  }
}
