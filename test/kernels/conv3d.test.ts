/**
 * The depthwise 3-D convolution (src/kernels/conv3d.ts, depthwiseConv3d in src/ops/conv3d.ts) equals
 * torch's F.conv3d(x, w, b, padding=d, dilation=d, groups=C) for d = 1 and 2, output and every gradient,
 * in f64 on the cpu device and in f32 on every device (fixture: scripts/fixtures/make_conv3d.py); and,
 * on random shapes and dilations, the webgpu kernels equal the cpu reference.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { assertClose, assertProperty, assertThrows, DEVICES, randomValues } from '../helpers.js';

const s = suite('depthwise 3-D convolution');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'conv3d.safetensors'), { f64: true });
const get = (k: string) => fx.get(k)!;

for (const d of [1, 2]) {
  s(`dilation ${d}: output and the gradients of input, weight and bias equal torch's (f64 on cpu, f32 on every device)`, async () => {
    for (const { dev, dtype } of [{ dev: DEVICES[0], dtype: 'f64' as const }, ...DEVICES.map((dev) => ({ dev, dtype: 'f32' as const }))]) {
      const t = (k: string) => T.tensor(get(k).data, { shape: get(k).shape, device: dev, dtype });
      const [x, w, b] = [t('x'), t('weight'), t('bias')];
      for (const p of [x, w, b]) p.setRequiresGrad(true);
      const y = T.depthwiseConv3d(x, w, b, d);
      T.sum(T.mul(y, t('r'))).backward();
      const tol = dtype === 'f64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
      const where = `${dev.name} (${dtype})`;
      assertClose(await y.data(), get(`d${d}.y`).data, tol, `output on ${where}`);
      assertClose(await x.grad!.data(), get(`d${d}.dx`).data, tol, `d input on ${where}`);
      assertClose(await w.grad!.data(), get(`d${d}.dw`).data, tol, `d weight on ${where}`);
      assertClose(await b.grad!.data(), get(`d${d}.db`).data, tol, `d bias on ${where}`);
    }
  });
}

s('on random shapes and dilations every device equals the f64 cpu reference, forward and backward', async () => {
  await assertProperty([fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 5, maxLength: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 999 })], async (shape, d, seed) => {
    const [, C] = shape, n = shape.reduce((a, b) => a * b, 1);
    const run = async (dev: T.Device, dtype: 'f32' | 'f64') => {
      const x = T.tensor(randomValues(n, seed), { shape, device: dev, dtype });
      const w = T.tensor(randomValues(C * 27, seed + 1), { shape: [C, 1, 3, 3, 3], device: dev, dtype });
      const b = T.tensor(randomValues(C, seed + 2), { device: dev, dtype });
      for (const p of [x, w, b]) p.setRequiresGrad(true);
      const y = T.depthwiseConv3d(x, w, b, d);
      T.sum(T.mul(y, T.tensor(randomValues(n, seed + 3), { shape, device: dev, dtype }))).backward();
      return Promise.all([y.data(), x.grad!.data(), w.grad!.data(), b.grad!.data()]);
    };
    const ref = await run(DEVICES[0], 'f64');
    for (const dev of DEVICES) {
      const got = await run(dev, 'f32');
      got.forEach((g, i) => assertClose(g, ref[i], { rtol: 1e-4, atol: 1e-4 }, `${['output', 'd input', 'd weight', 'd bias'][i]} on ${dev.name}`));
    }
  }, 15);
});

s('bad shapes and dilations are one-line errors', async () => {
  await assertThrows(() => T.depthwiseConv3d(T.zeros([1, 2, 3, 3, 3]), T.zeros([2, 3, 3, 3]), T.zeros([2])), /weight \[2, 3, 3, 3\], bias \[2\] must be \(B, C, D1, D2, D3\), \(C, 1, 3, 3, 3\), \(C\)/);
  await assertThrows(() => T.depthwiseConv3d(T.zeros([1, 2, 3, 3, 3]), T.zeros([2, 1, 3, 3, 3]), T.zeros([2]), 0), /dilation must be a whole number >= 1, got 0/);
});

s.run();
