/**
 * GPU time of the copy and elementwise kernels at DiffusionNER-sized tensors (block, vec4-row and
 * scalar strided copies; same-shape and broadcast adds (vec4 rows and scalar rows), a unary op; timestamp queries, median of 5 runs
 * of 8). Usage: npx tsx bench/probe-small-kernels.ts
 */
import * as T from '../src/index.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const b1 = T.randn([13, 1, 256], { device: gpu });
const chars = T.randn([612, 13, 50], { device: gpu }), charMask = T.randn([612, 13, 1], { device: gpu }), charScale = T.randn([612, 1, 50], { device: gpu });
const x = T.randn([780, 512], { device: gpu }), w = T.randn([256, 256], { device: gpu }), y = T.randn([13, 60, 256], { device: gpu });
const cases: [string, () => T.Tensor][] = [
  ['slice 780x512 -> 780x256 (vec4 rows)', () => T.slice(x, -1, 0, 256)],
  ['transpose 256x256 (scalar strided)', () => T.transpose(w, 0, 1)],
  ['clone 780x512 (block)', () => T.clone(x)],
  ['concat 2x(13,60,256) last axis', () => T.concat([y, y], -1)],
  ['expand (1,60,256)->(13,60,256)', () => T.expand(T.slice(y, 0, 0, 1), [13, 60, 256])],
  ['add (13,60,256) + (13,60,256)', () => T.add(y, y)],
  ['add (13,60,256) + (13,1,256) broadcast', () => T.add(y, b1)],
  ['add (612,13,50) + (612,13,1) (character CNN mask; scalar rows)', () => T.add(chars, charMask)],
  ['div (612,13,50) / (612,1,50) (scalar rows)', () => T.div(chars, charScale)],
  ['gelu (13,60,256)', () => T.gelu(y)],
];
const out: string[] = [];
for (const [name, f] of cases) {
  f().dispose();
  const t: number[] = [];
  for (let r = 0; r < 5; r++) { const keep: T.Tensor[] = []; t.push((await be.timeGpu(() => { for (let i = 0; i < 8; i++) keep.push(f()); }))! / 8); keep.forEach((k) => k.dispose()); }
  out.push(`${name}: ${t.sort((a, b) => a - b)[2].toFixed(3)} ms`);
}
console.log(out.join('\n'));
process.exit(0);
