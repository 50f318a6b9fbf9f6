/**
 * Dropout by a counter-based hash: element i is kept when mix32(seed ^ mix32(i)) >= p·2³², and scaled
 * by 1/(1−p). No mask is stored or uploaded: the backward pass recomputes it from (seed, i), and the
 * cpu reference draws the same mask bit for bit.
 *   x (n) -> out (n)
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, UniformWriter, WG, wgslType } from './common.js';

/** lowbias32 (Wellons): a good 32-bit integer mixer, the same in WGSL and JS. */
export const WGSL_HASH = /* wgsl */ `
fn mix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u; h *= 0x7feb352du; h ^= h >> 15u; h *= 0x846ca68bu; h ^= h >> 16u;
  return h;
}`;

export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0; h ^= h >>> 15; h = Math.imul(h, 0x846ca68b) >>> 0; h ^= h >>> 16;
  return h >>> 0;
}

/** Keep when hash >= this threshold (probability 1 − p). */
export function keepThreshold(p: number): number {
  return Math.min(4294967295, Math.floor(p * 4294967296));
}

export function launchDropout(dev: GpuDevice, x: Tensor, out: Tensor, p: number, seed: number): void {
  const T = wgslType(x.dtype);
  const n4 = Math.ceil(x.size / 4); // the last vec4 may spill into the buffers' padding
  const spec = {
    key: `dropout:${T}`,
    name: 'dropout',
    code: () => `alias T = ${T};
struct Params { n4: u32, seed: u32, thresh: u32, scale: f32 }
${WGSL_HASH}
${FLAT_INDEX}
@group(0) @binding(0) var<storage, read> X: array<vec4<T>>;
@group(0) @binding(1) var<storage, read_write> O: array<vec4<T>>;
@group(0) @binding(2) var<uniform> u: Params;
fn factor(i: u32) -> T { return select(T(0), T(u.scale), mix32(u.seed ^ mix32(i)) >= u.thresh); }
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.n4) { return; }
  let b = 4u * i;
  O[i] = X[i] * vec4<T>(factor(b), factor(b + 1u), factor(b + 2u), factor(b + 3u));
}`,
  };
  const uni = new UniformWriter().u32(n4, seed >>> 0, keepThreshold(p)).f32(1 / (1 - p)).build();
  dev.backend.dispatch(spec, [x.buffer, out.buffer], uni, grid1d(n4));
}

export function cpuDropout(x: TypedArray, out: TypedArray, p: number, seed: number): void {
  const t = keepThreshold(p), scale = 1 / (1 - p), s = seed >>> 0;
  for (let i = 0; i < x.length; i++) out[i] = mix32((s ^ mix32(i)) >>> 0) >= t ? x[i] * scale : 0;
}
