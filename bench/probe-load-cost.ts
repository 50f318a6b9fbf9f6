/**
 * Probe behind the lavapipe cost model in docs/ENGINE.md: GFLOP/s of a 32-accumulator FMA loop with
 * different kinds of memory loads added per iteration (storage vs workgroup, scalar vs vec4, per-lane
 * vs uniform addresses, subgroup broadcasts). Usage: npx tsx bench/probe-load-cost.ts
 */
import * as T from '../src/index.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const buf = T.randn([1 << 22], { device: 'webgpu' });
const out = T.zeros([1 << 22], { device: 'webgpu' });
const ITER = 4096, WGS = 512;
function kernel(name: string, body: string, pre = '') {
  return { key: 'micro:' + name + body, name, code: () => `enable subgroups;
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> X4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> X16: array<mat4x4<f32>>;
var<workgroup> W: array<vec4<f32>, 1024>;
var<workgroup> WS: array<f32, 4096>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  ${Array.from({length: 8}, (_, i) => `var c${i} = vec4<f32>(0.0);`).join(' ')}
  let base = wid.x * 64u;
  for (var i = lane; i < 1024u; i += 8u) { W[i] = X4[(base + i) & 0xfffffu]; WS[i] = X[(base + i) & 0x3fffffu]; }
  workgroupBarrier();
  ${pre}
  for (var k = 0u; k < ${ITER}u; k++) {
    ${body}
  }
  O[wid.x * 8u + lane] = X[0] + X4[0].x + X16[0][0].x + ${Array.from({length: 8}, (_, i) => `dot(c${i}, vec4<f32>(1.0))`).join(' + ')};
}` };
}
const fmas = Array.from({length: 8}, (_, i) => `c${i} = fma(vec4<f32>(a${i}), b, c${i});`).join(' ');
const A8 = (expr: (i: number) => string) => Array.from({length:8},(_,i)=>`let a${i} = ${expr(i)};`).join(' ');
const tests: [string, string, string, number][] = [
  ['registers only (32 vec4 accumulators)', `let b = vec4<f32>(f32(k)); ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 storage vec4 load per lane', `let b = X4[(base + k * 8u + lane) & 0xfffffu]; ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 storage scalar load per lane', `let b = vec4<f32>(X[(base + k * 8u + lane) & 0x3fffffu]); ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 storage scalar load, uniform address', `let b = vec4<f32>(f32(k)); let u0 = X[(base + k) & 0x3fffffu]; ${A8(i => `u0 + f32(${i})`)} ${fmas}`, '', 1],
  ['+1 storage vec4 load, uniform address', `let b = vec4<f32>(f32(k)); let u0 = X4[(base + k) & 0xfffffu]; ${A8(i => `u0[${i % 4}] + f32(${i})`)} ${fmas}`, '', 1],
  ['+8 storage scalar loads, uniform', `let b = vec4<f32>(f32(k)); ${A8(i => `X[(base + k * 8u + ${i}u) & 0x3fffffu]`)} ${fmas}`, '', 1],
  ['+2 storage vec4 loads, uniform', `let b = vec4<f32>(f32(k)); let u0 = X4[(base + k * 2u) & 0xfffffu]; let u1 = X4[(base + k * 2u + 1u) & 0xfffffu]; ${A8(i => `${i < 4 ? 'u0' : 'u1'}[${i % 4}]`)} ${fmas}`, '', 1],
  ['+4 storage vec4 loads per lane', `let b = X4[(base + k * 32u + lane) & 0xfffffu] + X4[(base + k * 32u + 8u + lane) & 0xfffffu] + X4[(base + k * 32u + 16u + lane) & 0xfffffu] + X4[(base + k * 32u + 24u + lane) & 0xfffffu]; ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 storage mat4x4 load per lane', `let m = X16[(base + k * 8u + lane) & 0x3ffffu]; let b = m[0] + m[1] + m[2] + m[3]; ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 scalar load + 8 subgroupBroadcast', `let b = vec4<f32>(f32(k)); let av = X[(base + k * 8u + lane) & 0x3fffffu]; ${A8(i => `subgroupBroadcast(av, ${i}u)`)} ${fmas}`, '', 1],
  ['+1 workgroup vec4 load per lane', `let b = W[(k * 8u + lane) & 1023u]; ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
  ['+1 workgroup vec4 load, uniform', `let b = W[k & 1023u]; ${A8(i => `f32(k + ${i}u)`)} ${fmas}`, '', 1],
];
for (const [name, body, pre] of tests) {
  const spec = kernel(name, body, pre);
  be.dispatch(spec, [buf.buffer, buf.buffer, out.buffer, buf.buffer], null, [WGS]);
  await out.data();
  let ms = 1e9; for (let r = 0; r < 3; r++) ms = Math.min(ms, (await be.timeGpu(() => { be.dispatch(spec, [buf.buffer, buf.buffer, out.buffer, buf.buffer], null, [WGS]); })) ?? NaN);
  const flops = WGS * 8 * ITER * 32 * 2;
  console.log(name.padEnd(44), (flops / ms / 1e6).toFixed(1), 'GFLOP/s');
}
