/**
 * Data movement: one strided-copy kernel serves permute/transpose, slice, expand (stride 0), concat
 * (writes into a region of the output) and pad; plus fill and dtype casts.
 *   strided copy: for every index c of `shape`, dst[dstOff + c.dstStrides] = src[srcOff + c.srcStrides]
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { DIM_AT, ENTRY, FLAT_INDEX, grid1d, MAX_RANK, RUN, UniformWriter, WG, wgslType } from './common.js';

export interface StridedCopy {
  shape: readonly number[];
  srcStrides: readonly number[];
  srcOffset: number;
  dstStrides: readonly number[];
  dstOffset: number;
}

function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/**
 * A copy of one contiguous block runs as vec4 moves when both ends are vec4-aligned and the block
 * either has a multiple of 4 elements or ends at the end of dst (then the last vec4 only spills into
 * the buffer's padding).
 */
function launchBlockCopy(dev: GpuDevice, src: Tensor, dst: Tensor, srcOffset: number, dstOffset: number, n: number): boolean {
  const fits = srcOffset % 4 === 0 && dstOffset % 4 === 0 && (n % 4 === 0 || (dstOffset + n === dst.size && srcOffset + n <= src.size));
  if (!fits) return false;
  const T = wgslType(src.dtype);
  const n4 = Math.ceil(n / 4);
  const spec = {
    key: `copy4:${T}`,
    name: 'block_copy',
    code: () => `struct Params { n: u32, srcOff: u32, dstOff: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> S: array<vec4<${T}>>;
@group(0) @binding(1) var<storage, read_write> D: array<vec4<${T}>>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  let i0 = flatIndex(wid, nwg, lid, ${WG}u) * ${RUN}u;
  for (var e = 0u; e < ${RUN}u; e++) {
    let i = i0 + e;
    if (i < u.n) { D[u.dstOff + i] = S[u.srcOff + i]; }
  }
}`,
  };
  const uni = new UniformWriter().u32(n4, srcOffset / 4, dstOffset / 4).build();
  dev.backend.dispatch(spec, [src.buffer, dst.buffer], uni, grid1d(Math.ceil(n4 / RUN)));
  return true;
}

export function launchStridedCopy(dev: GpuDevice, src: Tensor, dst: Tensor, c: StridedCopy): void {
  if (c.shape.length === 0) c = { ...c, shape: [1], srcStrides: [1], dstStrides: [1] }; // a scalar is one row of one
  const T = wgslType(src.dtype);
  const n = c.shape.reduce((x, y) => x * y, 1);
  if (n === 0) return;
  if (isContiguous(c.shape, c.srcStrides) && isContiguous(c.shape, c.dstStrides) && launchBlockCopy(dev, src, dst, c.srcOffset, c.dstOffset, n)) return;
  // Rows contiguous at both ends and everything 4-aligned (slices and concats along the last axis,
  // broadcasts of rows): move vec4s, so the index arithmetic and the loads happen once per 4 elements.
  const r = c.shape.length - 1;
  const rowsOfVec4 = r >= 0 && c.shape[r] % 4 === 0 && c.srcStrides[r] === 1 && c.dstStrides[r] === 1 &&
    c.srcOffset % 4 === 0 && c.dstOffset % 4 === 0 && c.srcStrides.every((s, d) => d === r || s % 4 === 0) &&
    c.dstStrides.every((s, d) => d === r || s % 4 === 0);
  const V = rowsOfVec4 ? 4 : 1;
  const shape = rowsOfVec4 ? c.shape.map((d, i) => (i === r ? d / 4 : d)) : c.shape;
  const scale = (st: readonly number[]) => (rowsOfVec4 ? st.map((s, i) => (i === r ? 1 : s / 4)) : st);
  // Invocation i moves elements chunk·RUN .. chunk·RUN + RUN − 1 of row `row` (the last axis).
  const rowLen = shape[r], chunks = Math.ceil(rowLen / RUN), invocations = (n / V / rowLen) * chunks;
  const spec = {
    key: `copy:${T}:${V}`,
    name: rowsOfVec4 ? 'strided_copy_vec4' : 'strided_copy',
    code: () => `alias T = ${rowsOfVec4 ? `vec4<${T}>` : T};
struct Params { n: u32, rank: u32, srcOff: u32, dstOff: u32, chunks: u32,
  shape: array<vec4<u32>, ${MAX_RANK / 4}>, ss: array<vec4<u32>, ${MAX_RANK / 4}>, ds: array<vec4<u32>, ${MAX_RANK / 4}> }
${DIM_AT}${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> S: array<T>;
@group(0) @binding(1) var<storage, read_write> D: array<T>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.n) { return; }
  let last = u.rank - 1u;
  let first = (i % u.chunks) * ${RUN}u;
  var r = i / u.chunks;
  var so = u.srcOff + first * dimAt(u.ss, last); var dO = u.dstOff + first * dimAt(u.ds, last);
  for (var k = 1u; k < u.rank; k++) {
    let d = last - k;
    let len = dimAt(u.shape, d);
    let cd = r % len; r = r / len;
    so += cd * dimAt(u.ss, d); dO += cd * dimAt(u.ds, d);
  }
  let rowLen = dimAt(u.shape, last);
  for (var e = 0u; e < ${RUN}u; e++) {
    if (first + e < rowLen) { D[dO + e * dimAt(u.ds, last)] = S[so + e * dimAt(u.ss, last)]; }
  }
}`,
  };
  const uni = new UniformWriter().u32(invocations, shape.length, c.srcOffset / V, c.dstOffset / V, chunks)
    .dims(shape).dims(scale(c.srcStrides)).dims(scale(c.dstStrides)).build();
  dev.backend.dispatch(spec, [src.buffer, dst.buffer], uni, grid1d(invocations));
}

export function cpuStridedCopy(src: TypedArray, dst: TypedArray, c: StridedCopy): void {
  const n = c.shape.reduce((x, y) => x * y, 1);
  const rank = c.shape.length;
  for (let i = 0; i < n; i++) {
    let r = i, so = c.srcOffset, dO = c.dstOffset;
    for (let d = rank - 1; d >= 0; d--) {
      const cd = r % c.shape[d];
      r = (r - cd) / c.shape[d];
      so += cd * c.srcStrides[d];
      dO += cd * c.dstStrides[d];
    }
    dst[dO] = src[so];
  }
}

export function launchFill(dev: GpuDevice, out: Tensor, value: number): void {
  const T = wgslType(out.dtype);
  if (out.size === 0) return;
  const n4 = Math.ceil(out.size / 4); // the last vec4 may spill into the buffer's padding
  const spec = {
    key: 'fill',
    name: 'fill',
    code: () => `struct Params { n: u32, bits: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read_write> O: array<vec4<u32>>;
@group(0) @binding(1) var<uniform> u: Params;
${ENTRY}
  let i0 = flatIndex(wid, nwg, lid, ${WG}u) * ${RUN}u;
  for (var e = 0u; e < ${RUN}u; e++) { if (i0 + e < u.n) { O[i0 + e] = vec4<u32>(u.bits); } }
}`,
  };
  const w = new UniformWriter().u32(n4);
  if (T === 'f32') w.f32(value); else w.i32(value);
  dev.backend.dispatch(spec, [out.buffer], w.build(), grid1d(Math.ceil(n4 / RUN)));
}

/** f32 -> i32 truncates toward zero (like torch's .int()); i32 -> f32 is exact below 2^24. */
export function launchCast(dev: GpuDevice, x: Tensor, out: Tensor): void {
  const from = wgslType(x.dtype), to = wgslType(out.dtype);
  if (x.size === 0) return;
  const spec = {
    key: `cast:${from}:${to}`,
    name: `cast_${from}_${to}`,
    code: () => `struct Params { n: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> X: array<${from}>;
@group(0) @binding(1) var<storage, read_write> O: array<${to}>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i < u.n) { O[i] = ${to}(X[i]); }
}`,
  };
  dev.backend.dispatch(spec, [x.buffer, out.buffer], new UniformWriter().u32(x.size).build(), grid1d(x.size));
}

export function cpuCast(x: TypedArray, out: TypedArray, to: DType): void {
  // Saturating as WGSL's i32(x) is, to the i32 range that f32 can hold, [−2³¹, 2³¹ − 128] (an Int32Array
  // store would wrap out-of-range values).
  if (to === 'i32') for (let i = 0; i < x.length; i++) out[i] = Math.min(2 ** 31 - 128, Math.max(-(2 ** 31), Math.trunc(x[i])));
  else out.set(x);
}
