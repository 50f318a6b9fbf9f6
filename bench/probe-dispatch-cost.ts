/**
 * What one dispatch costs the host, by part: a kernel with 7 storage bindings and a uniform (the
 * LSTM step's shape), dispatched N times per submit (a) through the backend as every op does,
 * (b) re-using one bind group (the cost without createBindGroup), (c) createBindGroup alone.
 *   npx tsx bench/probe-dispatch-cost.ts [N]
 */
import * as T from '../src/index.js';

const N = Number(process.argv[2] ?? 2000);
const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = dev.backend;
const device = be.device;
const code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> d: array<f32>;
@group(0) @binding(4) var<storage, read_write> e: array<f32>;
@group(0) @binding(5) var<storage, read_write> f: array<f32>;
struct P { n: u32 }
@group(0) @binding(6) var<uniform> u: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < u.n) { d[g.x] = a[g.x] + b[g.x] + c[g.x]; e[g.x] = 1.0; f[g.x] = 2.0; }
}`;
const bufs = Array.from({ length: 6 }, () => T.zeros([64], { device: dev }));
const spec = { key: 'probe_dispatch_cost', name: 'probe', code: () => code };
const uni = new Uint32Array([64, 0, 0, 0]).buffer;
const run = async (label: string, f: () => void) => {
  f(); await bufs[3].data();
  const t = performance.now();
  f(); await bufs[3].data();
  const us = ((performance.now() - t) * 1000) / N;
  console.log(`${label.padEnd(48)} ${us.toFixed(1)} µs per dispatch`);
};
await run('backend.dispatch (bind group per dispatch)', () => { for (let i = 0; i < N; i++) be.dispatch(spec, bufs.map((t) => t.buffer), uni, [1]); be.flush(); });
const ub = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(ub, 0, uni);
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const layout = pipeline.getBindGroupLayout(0);
const entries = () => [...bufs.map((t, binding) => ({ binding, resource: { buffer: t.buffer } })), { binding: 6, resource: { buffer: ub } }];
const group = device.createBindGroup({ layout, entries: entries() });
const encode = (makeGroup: boolean) => {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let i = 0; i < N; i++) {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, makeGroup ? device.createBindGroup({ layout, entries: entries() }) : group);
    pass.dispatchWorkgroups(1);
  }
  pass.end();
  device.queue.submit([enc.finish()]);
};
await run('raw encode, new bind group each', () => encode(true));
await run('raw encode, one bind group re-used', () => encode(false));
await run('createBindGroup alone', () => { for (let i = 0; i < N; i++) device.createBindGroup({ layout, entries: entries() }); });
process.exit(0);
