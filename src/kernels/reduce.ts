/**
 * Reductions along one axis, on the (outer, len, inner) view of the input:
 *   x[outer, len, inner] -> out[outer, chunks, inner]
 * Each invocation reduces `chunk` consecutive elements of one (outer, inner) line, so a long axis with
 * few lines can be split into chunks and reduced again (two passes) instead of running on one lane.
 * sum and sumSquares apply `scale` at the end (mean = sum with scale 1/len); argmax returns the first maximal index.
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, UniformWriter, WG, wgslType } from './common.js';

/** sumSquares: Σx² (gradient-norm clipping reads one of these per parameter). */
export type ReduceOp = 'sum' | 'sumSquares' | 'max' | 'min' | 'argmax';

export interface ReduceView { outer: number; len: number; inner: number; chunk: number; scale: number }

export function chunksOf(v: ReduceView): number {
  return Math.max(1, Math.ceil(v.len / v.chunk));
}

/**
 * `outOffset`: the first output element written (several reductions can fill one output tensor).
 * Two vec4 forms cut the loads four-fold (lavapipe pays per load instruction): when `inner` is a
 * multiple of 4 an invocation reduces four neighbouring lines at once (bias gradients: sums over rows),
 * and when a line is contiguous (`inner` 1) a sum walks it four elements at a time (norms of tensors).
 */
export function launchReduce(dev: GpuDevice, op: ReduceOp, x: Tensor, out: Tensor, v: ReduceView, outOffset = 0): void {
  const T = wgslType(x.dtype);
  const chunks = chunksOf(v);
  const summing = op === 'sum' || op === 'sumSquares';
  const lines4 = v.inner % 4 === 0 && outOffset % 4 === 0;
  const along4 = !lines4 && v.inner === 1 && summing && v.len % 4 === 0 && v.chunk % 4 === 0;
  const W = lines4 ? 4 : 1; // lines per invocation
  const inner = v.inner / W;
  const n = v.outer * chunks * inner;
  const X = lines4 || along4 ? 'vec4<T>' : 'T';
  const OT = op === 'argmax' ? 'i32' : T;
  const O = lines4 ? `vec4<${OT}>` : OT;
  const init = summing ? `${X}(0)` : 'X[base]';
  const body = {
    sum: 'acc += X[idx];',
    sumSquares: 'let xv = X[idx]; acc += xv * xv;',
    max: 'acc = max(acc, X[idx]);',
    min: 'acc = min(acc, X[idx]);',
    argmax: lines4
      ? 'let xv = X[idx]; let gt = xv > acc; acc = select(acc, xv, gt); best = select(best, vec4<u32>(l), gt);'
      : 'let xv = X[idx]; if (xv > acc) { acc = xv; best = l; }',
  }[op];
  const result = op === 'argmax' ? (lines4 ? 'vec4<i32>(best)' : 'i32(best)')
    : along4 ? '(acc.x + acc.y + acc.z + acc.w) * T(u.scale)'
    : summing ? `acc * T(u.scale)` : 'acc';
  // along4 walks vec4 l from start / 4; the line's elements are contiguous, so idx = o · len / 4 + l.
  const loop = along4
    ? `for (var l = start / 4u; l < end / 4u; l++) {
    let idx = o * (u.len / 4u) + l;
    ${body}
  }`
    : `for (var l = start; l < end; l++) {
    let idx = (o * u.len + l) * u.inner + inn;
    ${body}
  }`;
  const spec = {
    key: `reduce:${op}:${T}:${lines4 ? 'lines4' : along4 ? 'along4' : '1'}`,
    name: `reduce_${op}`,
    code: () => `alias T = ${T};
struct Params { outer: u32, len: u32, inner: u32, chunk: u32, chunks: u32, scale: f32, outOffset: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> X: array<${X}>;
@group(0) @binding(1) var<storage, read_write> O: array<${O}>;
@group(0) @binding(2) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.outer * u.chunks * u.inner) { return; }
  let inn = i % u.inner;
  let c = (i / u.inner) % u.chunks;
  let o = i / (u.inner * u.chunks);
  let start = c * u.chunk;
  let end = min(u.len, start + u.chunk);
  let base = (o * u.len + start) * u.inner + inn;
  var acc = ${init};
  var best = ${lines4 ? 'vec4<u32>(start)' : 'start'};
  ${loop}
  O[u.outOffset + i] = ${result};
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.len, inner, v.chunk, chunks).f32(v.scale).u32(outOffset / W).build();
  dev.backend.dispatch(spec, [x.buffer, out.buffer], uni, grid1d(n));
}

export function cpuReduce(op: ReduceOp, x: TypedArray, out: TypedArray, v: ReduceView): void {
  const chunks = chunksOf(v);
  for (let o = 0; o < v.outer; o++) {
    for (let c = 0; c < chunks; c++) {
      for (let inn = 0; inn < v.inner; inn++) {
        const start = c * v.chunk, end = Math.min(v.len, start + v.chunk);
        let acc = op === 'sum' || op === 'sumSquares' ? 0 : x[(o * v.len + start) * v.inner + inn];
        let best = start;
        for (let l = start; l < end; l++) {
          const xv = x[(o * v.len + l) * v.inner + inn];
          if (op === 'sum') acc += xv;
          else if (op === 'sumSquares') acc += xv * xv;
          else if (op === 'max') acc = Math.max(acc, xv);
          else if (op === 'min') acc = Math.min(acc, xv);
          else if (xv > acc) { acc = xv; best = l; }
        }
        out[(o * chunks + c) * v.inner + inn] = op === 'argmax' ? best : op === 'sum' || op === 'sumSquares' ? acc * v.scale : acc;
      }
    }
  }
}
