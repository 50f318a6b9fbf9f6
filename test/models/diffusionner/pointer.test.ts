import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { assertClose, assertProperty, DEVICES, kernelVariants, randomValues, withKernelVariant } from '../../helpers.js';

const s = suite('fused boundary-pointer kernel');

s('forward and backward equal the unfused composition (f64 reference) on every device, with padding', async () => {
  await assertProperty([
    // K and M past one subgroup (8) exercise several span and word blocks of the subgroup variant.
    fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 19 }), fc.constantFrom(4, 8, 12, 6, 40),
    fc.integer({ min: 1, max: 1e6 }),
  ], async (B, K, M, H, seed) => {
    const lengths = Array.from(randomValues(B, seed, 1, M + 1), Math.floor);
    const run = async (dev: T.Device, dtype: 'f32' | 'f64', fused: boolean) => {
      const mk = (shape: number[], k: number) => T.tensor(randomValues(shape.reduce((a, b) => a * b), seed + k), { shape, dtype, device: dev, requiresGrad: true });
      const u = mk([B, M, H], 1), v = mk([B, K, H], 2), w = mk([H], 3), bias = mk([1], 4);
      const mask = T.tensor(Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], dtype, device: dev });
      const z = (fused ? T.boundaryPointer : T.boundaryPointerUnfused)(u, v, w, bias, mask);
      // A loss that also passes through the padding logits, which must contribute no gradient.
      T.sum(T.mul(T.sigmoid(z), T.tensor(randomValues(z.size, seed + 5), { shape: z.shape, dtype, device: dev }))).backward();
      return Promise.all([z, u.grad!, v.grad!, w.grad!, bias.grad!].map(async (t) => Float64Array.from(await t.data())));
    };
    const ref = await run(T.cpu, 'f64', false);
    (await run(T.cpu, 'f64', true)).forEach((a, i) => assertClose(a, ref[i], { rtol: 1e-9, atol: 1e-11 }, `cpu fused vs unfused, output ${i}`));
    for (const dev of DEVICES) {
      for (const variant of kernelVariants(dev)) {
        const got = await withKernelVariant('DNER_POINTER', variant, () => run(dev, 'f32', true));
        got.forEach((a, i) => assertClose(a, ref[i], { rtol: 2e-4, atol: 2e-5 }, `${dev.name} ${variant} output ${i} (B ${B} K ${K} M ${M} H ${H})`));
      }
    }
  }, 12);
});

s.run();
