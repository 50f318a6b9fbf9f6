/**
 * Probe: what a texel fetch or a uniform-buffer load costs on lavapipe next to a storage-buffer load, in the FMA loop of
 * bench/probe-load-cost.ts (GFLOP/s of 8 vec4 FMAs per lane per iteration plus one load of each kind).
 * Usage: npx tsx bench/probe-texture-load.ts
 */
import * as T from '../src/index.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const device = gpu.backend.device;
const ITER = 4096, WGS = 512, W = 1024, H = 1024;
const buf = device.createBuffer({ size: W * H * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
const out = device.createBuffer({ size: WGS * 8 * 4, usage: GPUBufferUsage.STORAGE });
const tex = device.createTexture({ size: [W, H], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
const data = new Float32Array(W * H * 4).map(() => Math.random());
device.queue.writeBuffer(buf, 0, data);
device.queue.writeTexture({ texture: tex }, data, { bytesPerRow: W * 16 }, [W, H]);
const fmas = Array.from({ length: 8 }, (_, i) => `c${i} = fma(vec4<f32>(f32(k + ${i}u)), b, c${i});`).join(' ');
const cases: [string, string][] = [
  ['registers only', 'let b = vec4<f32>(f32(k));'],
  ['+1 storage vec4 load per lane', 'let b = X4[((wid.x * 64u + k * 8u + lane) & 0xfffffu)];'],
  ['+1 texel (rgba32float) per lane', 'let b = textureLoad(TX, vec2<u32>((k * 8u + lane) & 1023u, (wid.x + k / 128u) & 1023u), 0);'],
  ['+4 texels per lane', 'let p = vec2<u32>((k * 8u + lane) & 1023u, (wid.x + k / 128u) & 1023u); let b = textureLoad(TX, p, 0) + textureLoad(TX, p + vec2<u32>(0u, 1u), 0) + textureLoad(TX, p + vec2<u32>(0u, 2u), 0) + textureLoad(TX, p + vec2<u32>(0u, 3u), 0);'],
  ['+1 texel, uniform address', 'let b = textureLoad(TX, vec2<u32>(k & 1023u, wid.x & 1023u), 0);'],
  ['+1 uniform-buffer vec4 per lane', 'let b = UB[(k * 8u + lane) & 4095u];'],
  ['+4 uniform-buffer vec4 per lane', 'let i = (k * 32u + lane) & 4095u; let b = UB[i] + UB[(i + 8u) & 4095u] + UB[(i + 16u) & 4095u] + UB[(i + 24u) & 4095u];'],
];
for (const [name, body] of cases) {
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read> X4: array<vec4<f32>>;
@group(0) @binding(1) var TX: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> UB: array<vec4<f32>, 4096>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  ${Array.from({ length: 8 }, (_, i) => `var c${i} = vec4<f32>(0.0);`).join(' ')}
  for (var k = 0u; k < ${ITER}u; k++) { ${body} ${fmas} }
  O[wid.x * 8u + lane] = X4[0].x + UB[0].x + textureLoad(TX, vec2<u32>(0u, 0u), 0).x + ${Array.from({ length: 8 }, (_, i) => `dot(c${i}, vec4<f32>(1.0))`).join(' + ')};
}`;
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [
    { binding: 0, resource: { buffer: buf } }, { binding: 1, resource: tex.createView() }, { binding: 2, resource: { buffer: out } }, { binding: 3, resource: { buffer: buf, size: 65536 } }] });
  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(); pass.setPipeline(pipeline); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(WGS); pass.end();
    device.queue.submit([enc.finish()]);
    await gpu.backend.sync();
    if (r > 0) best = Math.min(best, performance.now() - t0);
  }
  console.log(name.padEnd(36), (WGS * 8 * ITER * 32 * 2 / best / 1e6).toFixed(1), 'GFLOP/s (wall)');
}
process.exit(0);
