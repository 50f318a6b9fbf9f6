/**
 * Memory-bound kernels in effective GB/s ((bytes read once + bytes written) / time): softmax,
 * log-softmax, layernorm, against a plain copy kernel as this adapter's practical ceiling; plus what a
 * dispatch and a readback cost.
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
    const cases: [string, () => T.Tensor][] = [
      ['copy (ceiling)', () => T.clone(x)],
      ['softmax', () => T.softmax(x)],
      ['logSoftmax', () => T.logSoftmax(x)],
      ['layerNorm', () => T.layerNorm(x, gamma, beta)],
    ];
    for (const [name, op] of cases) {
      const secs = await timeIt(async () => {
        for (let r = 0; r < reps; r++) op().dispose();
        await be.sync();
      }, { quick: ctx.quick });
      ctx.record({ name: `${name} [${rows}, ${d}]`, variant: 'row per invocation', device: 'webgpu', value: (8 * n * reps) / secs / 1e9, unit: 'GB/s' });
    }
    x.dispose(); gamma.dispose(); beta.dispose();
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
