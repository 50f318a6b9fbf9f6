/**
 * Depthwise 3-D convolution with a 3×3×3 kernel, dilation d and padding d (the output has the input's
 * size), as torch's Conv3d(C, C, 3, padding=d, dilation=d, groups=C) computes it: BOPN's OffsetOpt runs it
 * over its (type, start, end) volume of L offset-label channels, with d = 1 then d = 2.
 *   y[b,c,p] = bias[c] + Σ_{o ∈ {−1,0,1}³} w[c,o] · x[b,c,p + d·o]          (zero outside the volume)
 * Backward:
 *   dx[b,c,p] = Σ_o w[c,o] · g[b,c,p − d·o]
 *   dw[c,o] = Σ_{b,p} g[b,c,p] · x[b,c,p + d·o]   (per-(b, c, o) partials, then a sum over b)
 *   dbias[c] = Σ_{b,p} g[b,c,p]
 *   x, y, g, dx (B, C, D1, D2, D3); w (C, 27) (torch's (C, 1, 3, 3, 3)); bias (C); dwPart (B, C, 27)
 * One invocation per output element (forward and dx) or per (b, c, o) (dw).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, UniformWriter, WG } from './common.js';

export interface Conv3dDims { B: number; C: number; D1: number; D2: number; D3: number; dilation: number }

const HEADER = /* wgsl */ `struct Params { B: u32, C: u32, D1: u32, D2: u32, D3: u32, d: i32 }
${FLAT_INDEX}
/** The flat index of (bc, p + d·o) for kernel tap k, or -1 outside the volume. */
fn at(bc: u32, p1: u32, p2: u32, p3: u32, k: u32, sign: i32) -> i32 {
  let q1 = i32(p1) + sign * u.d * (i32(k / 9u) - 1);
  let q2 = i32(p2) + sign * u.d * (i32((k / 3u) % 3u) - 1);
  let q3 = i32(p3) + sign * u.d * (i32(k % 3u) - 1);
  if (q1 < 0 || q2 < 0 || q3 < 0 || q1 >= i32(u.D1) || q2 >= i32(u.D2) || q3 >= i32(u.D3)) { return -1; }
  return i32(((bc * u.D1 + u32(q1)) * u.D2 + u32(q2)) * u.D3 + u32(q3));
}`;

/** One invocation per element of the volume: its flat index i, (batch·channel) bc, channel c and position (p1, p2, p3). */
const ELEMENT = /* wgsl */ `  let i = flatIndex(wid, nwg, lid, ${WG}u);
  let vol = u.D1 * u.D2 * u.D3;
  if (i >= u.B * u.C * vol) { return; }
  let bc = i / vol; let c = bc % u.C; let r = i % vol;
  let p1 = r / (u.D2 * u.D3); let p2 = (r / u.D3) % u.D2; let p3 = r % u.D3;`;

/**
 * The forward and dx kernels are one weighted sum over the 27 taps of each element:
 *   OUT[i] = init + Σ_k W[c, k] · SRC[i + sign · d · o_k]   (forward: from X, sign +1, init the bias; dx: from G, sign −1)
 */
function tapSumKernel(bindings: string, src: string, out: string, sign: 1 | -1, init: string): string {
  return `${HEADER}
${bindings}
${ENTRY}
${ELEMENT}
  var acc = ${init};
  for (var k = 0u; k < 27u; k++) {
    let j = at(bc, p1, p2, p3, k, ${sign});
    if (j >= 0) { acc += W[c * 27u + k] * ${src}[u32(j)]; }
  }
  ${out}[i] = acc;
}`;
}

const FORWARD = tapSumKernel(`@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> BIAS: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;`, 'X', 'Y', 1, 'BIAS[c]');

const BACKWARD_INPUT = tapSumKernel(`@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;`, 'G', 'DX', -1, '0.0');

const BACKWARD_WEIGHT = /* wgsl */ `${HEADER}
@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> DWP: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.B * u.C * 27u) { return; }
  let bc = i / 27u; let k = i % 27u;
  var acc = 0.0;
  for (var p1 = 0u; p1 < u.D1; p1++) {
    for (var p2 = 0u; p2 < u.D2; p2++) {
      for (var p3 = 0u; p3 < u.D3; p3++) {
        let j = at(bc, p1, p2, p3, k, 1);
        if (j >= 0) { acc += G[((bc * u.D1 + p1) * u.D2 + p2) * u.D3 + p3] * X[u32(j)]; }
      }
    }
  }
  DWP[i] = acc;
}`;

function uniforms(d: Conv3dDims): ArrayBuffer {
  return new UniformWriter().u32(d.B, d.C, d.D1, d.D2, d.D3).i32(d.dilation).build();
}

const elements = (d: Conv3dDims) => d.B * d.C * d.D1 * d.D2 * d.D3;

export function launchConv3d(dev: GpuDevice, x: Tensor, w: Tensor, bias: Tensor, y: Tensor, d: Conv3dDims): void {
  dev.backend.dispatch({ key: 'conv3d_dw_fwd', name: 'conv3d_depthwise_forward', code: () => FORWARD }, [x.buffer, w.buffer, bias.buffer, y.buffer], uniforms(d), grid1d(elements(d)));
}

export function launchConv3dBackward(dev: GpuDevice, x: Tensor, w: Tensor, g: Tensor, dx: Tensor, dwPart: Tensor, d: Conv3dDims): void {
  dev.backend.dispatch({ key: 'conv3d_dw_bwd_x', name: 'conv3d_depthwise_backward_input', code: () => BACKWARD_INPUT }, [g.buffer, w.buffer, dx.buffer], uniforms(d), grid1d(elements(d)));
  dev.backend.dispatch({ key: 'conv3d_dw_bwd_w', name: 'conv3d_depthwise_backward_weight', code: () => BACKWARD_WEIGHT }, [g.buffer, x.buffer, dwPart.buffer], uniforms(d), grid1d(d.B * d.C * 27));
}

/** The taps of the reference: offsets (o1, o2, o3) ∈ {−1, 0, 1}³ in kernel order. */
const TAPS = Array.from({ length: 27 }, (_, k) => [Math.floor(k / 9) - 1, (Math.floor(k / 3) % 3) - 1, (k % 3) - 1]);

function forEachTap(d: Conv3dDims, sign: number, f: (bc: number, out: number, k: number, src: number) => void): void {
  for (let bc = 0; bc < d.B * d.C; bc++) {
    for (let p1 = 0; p1 < d.D1; p1++) for (let p2 = 0; p2 < d.D2; p2++) for (let p3 = 0; p3 < d.D3; p3++) {
      const out = ((bc * d.D1 + p1) * d.D2 + p2) * d.D3 + p3;
      TAPS.forEach(([o1, o2, o3], k) => {
        const q1 = p1 + sign * d.dilation * o1, q2 = p2 + sign * d.dilation * o2, q3 = p3 + sign * d.dilation * o3;
        if (q1 < 0 || q2 < 0 || q3 < 0 || q1 >= d.D1 || q2 >= d.D2 || q3 >= d.D3) return;
        f(bc, out, k, ((bc * d.D1 + q1) * d.D2 + q2) * d.D3 + q3);
      });
    }
  }
}

export function cpuConv3d(x: TypedArray, w: TypedArray, bias: TypedArray, y: TypedArray, d: Conv3dDims): void {
  for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / (d.D1 * d.D2 * d.D3)) % d.C];
  forEachTap(d, 1, (bc, out, k, src) => { y[out] += w[(bc % d.C) * 27 + k] * x[src]; });
}

export function cpuConv3dBackward(x: TypedArray, w: TypedArray, g: TypedArray, dx: TypedArray, dwPart: TypedArray, d: Conv3dDims): void {
  dx.fill(0); dwPart.fill(0);
  forEachTap(d, -1, (bc, out, k, src) => { dx[out] += w[(bc % d.C) * 27 + k] * g[src]; });
  forEachTap(d, 1, (bc, out, k, src) => { dwPart[bc * 27 + k] += g[out] * x[src]; });
}
