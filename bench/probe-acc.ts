/**
 * Probe behind the regblock cost model in docs/ENGINE.md: GFLOP/s of a register-only loop of vec4 FMAs
 * with N accumulators per lane and one or four rounds of FMAs per loop iteration (GPU time, timestamp
 * queries). Usage: npx tsx bench/probe-acc.ts
 */
import * as T from '../src/index.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const out = T.zeros([1 << 16], { device: 'webgpu' });
const ITER = 4096, WGS = 512;
for (const [N, DEP] of [[1,1],[2,1],[3,1],[4,1],[6,1],[8,1],[16,1],[32,1],[2,4],[3,4],[4,4],[8,4]]) {
  // N vec4 accumulators; each iteration does DEP rounds of N vec4 FMAs (b changes per round).
  const body = Array.from({ length: DEP }, (_, d) => `{ let b = vec4<f32>(f32(k) * ${1 + d}.0, 1.0, 2.0, 3.0); ${Array.from({ length: N }, (_, i) => `c${i} = fma(vec4<f32>(f32(k + ${i}u)), b, c${i});`).join(' ')} }`).join('\n');
  const spec = { key: `acc:${N}:${DEP}`, name: 'acc', code: () => `
@group(0) @binding(0) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  ${Array.from({ length: N }, (_, i) => `var c${i} = vec4<f32>(f32(lane));`).join(' ')}
  for (var k = 0u; k < ${ITER}u; k++) {
    ${body}
  }
  O[wid.x * 8u + lane] = ${Array.from({ length: N }, (_, i) => `dot(c${i}, vec4<f32>(1.0))`).join(' + ')};
}` };
  be.dispatch(spec, [out.buffer], null, [WGS]);
  await out.data();
  let ms = 1e9; for (let r = 0; r < 3; r++) ms = Math.min(ms, (await be.timeGpu(() => { be.dispatch(spec, [out.buffer], null, [WGS]); })) ?? NaN);
  const flops = WGS * 8 * ITER * N * DEP * 4 * 2;
  console.log(`${N} vec4 accumulators x ${DEP} rounds`.padEnd(36), (flops / ms / 1e6).toFixed(1), 'GFLOP/s');
}
process.exit(0);
