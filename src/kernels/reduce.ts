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

/** `outOffset`: the first output element written (several reductions can fill one output tensor). */
export function launchReduce(dev: GpuDevice, op: ReduceOp, x: Tensor, out: Tensor, v: ReduceView, outOffset = 0): void {
  const T = wgslType(x.dtype);
  const chunks = chunksOf(v);
  const n = v.outer * chunks * v.inner;
  const summing = op === 'sum' || op === 'sumSquares';
  const init = summing ? 'T(0)' : 'X[base]';
  const body = {
    sum: 'acc += X[idx];',
    sumSquares: 'let xv = X[idx]; acc += xv * xv;',
    max: 'acc = max(acc, X[idx]);',
    min: 'acc = min(acc, X[idx]);',
    argmax: 'let xv = X[idx]; if (xv > acc) { acc = xv; best = l; }',
  }[op];
  const OT = op === 'argmax' ? 'i32' : T;
  const result = op === 'argmax' ? 'i32(best)' : summing ? `acc * T(u.scale)` : 'acc';
  const spec = {
    key: `reduce:${op}:${T}`,
    name: `reduce_${op}`,
    code: () => `alias T = ${T};
struct Params { outer: u32, len: u32, inner: u32, chunk: u32, chunks: u32, scale: f32, outOffset: u32 }
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> X: array<T>;
@group(0) @binding(1) var<storage, read_write> O: array<${OT}>;
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
  var best = start;
  for (var l = start; l < end; l++) {
    let idx = (o * u.len + l) * u.inner + inn;
    ${body}
  }
  O[u.outOffset + i] = ${result};
}`,
  };
  const uni = new UniformWriter().u32(v.outer, v.len, v.inner, v.chunk, chunks).f32(v.scale).u32(outOffset).build();
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
