#!/usr/bin/env node
/**
 * `npm start`: until the DiffusionNER issue gives it its real job, this reports the WebGPU adapter and
 * runs a small demonstration of the engine: kernels checked against the cpu reference, and a tiny MLP
 * trained with autograd and the fused AdamW kernel at flat memory.
 */
import * as T from '../index.js';

const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
const r = dev.backend.report;
console.log(`WebGPU adapter: ${r.description} (vendor ${r.vendor || '?'}, ${r.isSoftware ? 'software rasteriser' : 'hardware'})`);
console.log(`  subgroups: ${r.subgroupSize ?? 'no'}, timestamp queries: ${dev.backend.hasTimestamps ? 'yes' : 'no'}, max buffer ${(r.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB`);

T.manualSeed(0);
const a = T.randn([480, 256], { device: dev }), b = T.randn([256, 1024], { device: dev });
const t0 = performance.now();
const c = T.matmul(a, b, { act: 'gelu' });
const got = await c.data();
const ms = performance.now() - t0;
const [ac, bc] = [await a.to('cpu'), await b.to('cpu')];
const want = T.matmul(ac, bc, { act: 'gelu' }).array;
let err = 0;
for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
console.log(`\nmatmul 480x256 . 256x1024 + GELU on webgpu: ${ms.toFixed(1)} ms (first call, includes compiling the kernel), max rel. error vs cpu ${err.toExponential(1)}`);

console.log('\nA 2-layer MLP learning y = sin(x1 + ... + x8) with autograd and fused AdamW:');
const opts = { device: dev, requiresGrad: true };
const params = [T.randn([32, 8], { ...opts, std: 0.3 }), T.zeros([32], opts), T.randn([1, 32], { ...opts, std: 0.3 }), T.zeros([1], opts)];
const moments = params.map((p) => [T.zerosLike(p), T.zerosLike(p)]);
const x = T.randn([256, 8], { device: dev });
const y = T.sin(T.sum(x, -1, true));
for (let step = 1; step <= 300; step++) {
  const loss = T.tidy(() => {
    const pred = T.linear(T.linear(x, params[0], params[1], 'gelu'), params[2], params[3]);
    const l = T.mean(T.square(T.sub(pred, y)));
    l.backward();
    params.forEach((p, i) => {
      T.adamwUpdate(p, p.grad!, moments[i][0], moments[i][1], {
        lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, bc1: 1 - 0.9 ** step, bc2: 1 - 0.999 ** step, gradScale: 1, decayAfter: false,
      });
      p.grad!.dispose();
      p.grad = null;
    });
    return T.noGrad(() => T.clone(l));
  });
  if (step === 1 || step % 100 === 0) {
    const m = T.memoryStats(dev);
    console.log(`  step ${String(step).padStart(3)}  loss ${(await loss.item()).toFixed(4)}  live tensors ${m.liveTensors}  GPU bytes live ${m.liveBytes}  dispatches ${m.dispatches}  submits ${m.submits}`);
  }
  loss.dispose();
}
console.log('\nNext: `npm test` runs the test suite; `npm run bench -- matmul` measures the kernels.');
process.exit(0);
