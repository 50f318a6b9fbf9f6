/**
 * Memory-bound kernels in effective GB/s ((bytes read once + bytes written) / time): softmax,
 * log-softmax, layernorm (forward, and backward: x and g read, dx written), dropout and the fused AdamW update, each as a fraction of a plain copy kernel
 * measured in the same run (this adapter's practical ceiling); plus what a dispatch and a readback cost.
 */
import * as T from '../../src/index.js';
import { launchFill } from '../../src/kernels/copy.js';
import { type SuiteContext, timeIt } from '../common.js';

const SHAPES: [number, number][] = [[4096, 1024], [3840, 60]];

export async function run(ctx: SuiteContext): Promise<void> {
  const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
  const be = dev.backend;
  for (const [rows, d] of SHAPES) {
    const n = rows * d;
    const x = T.randn([rows, d], { device: dev });
    const gamma = T.ones([d], { device: dev }), beta = T.zeros([d], { device: dev });
    const reps = Math.max(1, Math.ceil(4e7 / n));
    const m = T.zeros([rows, d], { device: dev }), v = T.zeros([rows, d], { device: dev }), g = T.randn([rows, d], { device: dev });
    const stats = { mean: T.mean(x, -1), rstd: T.ones([rows], { device: dev }) };
    const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, bc1: 1, bc2: 1, gradScale: 1, decayAfter: true };
    // [name, op, bytes moved per element]
    const cases: [string, () => T.Tensor | null, number][] = [
      ['copy (ceiling)', () => T.clone(x), 8],
      ['softmax', () => T.softmax(x), 8],
      ['logSoftmax', () => T.logSoftmax(x), 8],
      ['layerNorm', () => T.layerNorm(x, gamma, beta), 8],
      ['layerNorm backward', () => { T.layerNormBackward(x, gamma, stats.mean, stats.rstd, g, rows, d).forEach((t) => t.dispose()); return null; }, 12],
      ['dropout', () => T.dropout(x, 0.1, 7), 8],
      ['AdamW update', () => { T.adamwUpdate(x, g, m, v, adam); return null; }, 28],
    ];
    let copy = 0;
    for (const [name, op, bytes] of cases) {
      const secs = await timeIt(async () => {
        for (let r = 0; r < reps; r++) op()?.dispose();
        await be.sync();
      }, { quick: ctx.quick });
      const gbs = (bytes * n * reps) / secs / 1e9;
      if (name.startsWith('copy')) copy = gbs;
      ctx.record({ name: `${name} [${rows}, ${d}]`, variant: 'row per invocation', device: 'webgpu', value: gbs, unit: 'GB/s' });
      if (!name.startsWith('copy') && copy) ctx.record({ name: `${name} [${rows}, ${d}]`, variant: 'fraction of the copy ceiling', device: 'webgpu', value: gbs / copy, unit: 'x' });
    }
    [x, gamma, beta, m, v, g, stats.mean, stats.rstd].forEach((t) => t.dispose());
  }

  const tiny = T.zeros([1], { device: dev });
  const batch = 1000;
  const perBatch = await timeIt(async () => {
    for (let i = 0; i < batch; i++) launchFill(dev, tiny, i);
    await be.sync();
  }, { quick: ctx.quick });
  ctx.record({ name: 'dispatch in a batch (1000 per submit)', variant: 'fill 1 element', device: 'webgpu', value: (perBatch / batch) * 1e6, unit: 'us/dispatch' });

  const roundTrip = await timeIt(async () => {
    const y = T.affine(tiny, 2, 1);
    await y.item();
    y.dispose();
  }, { quick: ctx.quick, minIterations: 50 });
  ctx.record({ name: 'eager op + item() readback', variant: 'affine 1 element', device: 'webgpu', value: roundTrip * 1e6, unit: 'us' });
  tiny.dispose();
}
