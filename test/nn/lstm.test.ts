import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { launchLstmForward } from '../../src/kernels/lstm.js';
import { assertClose, assertProperty, assertThrows, DEVICES, kernelVariants, randomValues, webgpu, withKernelVariant } from '../helpers.js';

const s = suite('fused LSTM');
const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures');

s('a 2-layer BiLSTM with lengths matches torch (outputs, input and weight gradients) on every device', async () => {
  const fx = nn.readSafetensors(join(fixtures, 'lstm.safetensors'));
  const get = (k: string) => fx.get(k)!;
  const lengths = Array.from(get('lengths').data);
  for (const dev of DEVICES) for (const variant of kernelVariants(dev, ['split', 'split:4'])) await withKernelVariant('DNER_LSTM', variant, async () => {
    const lstm = new nn.LSTM(5, 8, { layers: 2, bidirectional: true, device: dev });
    await lstm.loadStateDict(new Map([...lstm.stateDict().keys()].map((k) => [k, get(`param.${k}`)])));
    const x = T.tensor(get('x').data, { shape: get('x').shape, device: dev, requiresGrad: true });
    const y = lstm.forward(x, lengths);
    const tol = { rtol: 1e-4, atol: 1e-5 };
    assertClose(await y.data(), get('out').data, tol, `${dev.name} output`);
    T.sum(T.mul(y, T.tensor(get('w').data, { shape: get('w').shape, device: dev }))).backward();
    assertClose(await x.grad!.data(), get('grad.x').data, tol, `${dev.name} dx`);
    for (const [k, p] of lstm.namedParameters()) assertClose(await p.grad!.data(), get(`grad.${k}`).data, tol, `${dev.name} ${variant} d${k}`);
  });
});

s('fused and op-by-op layers agree (f64 reference) on random shapes, lengths and both directions', async () => {
  await assertProperty([
    // B past one subgroup (8) and H past one block of 8 × 4 units exercise every tile of the subgroup variant;
    // H = 36 and 12 leave threads of the split variant's workgroup (32) without a share of the reduction,
    // and with 4 threads (split:4) each thread takes several.
    fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom(1, 3, 4, 5, 8, 12, 36),
    fc.boolean(), fc.integer({ min: 1, max: 1e6 }),
  ], async (B, L, I, H, reverse, seed) => {
    const lengths = Array.from(randomValues(B, seed, 0, L + 1), Math.floor);
    const run = async (dev: T.Device, dtype: 'f32' | 'f64', fused: boolean) => {
      const mk = (shape: number[], k: number) => T.tensor(randomValues(shape.reduce((a, b) => a * b), seed + k, -0.8, 0.8), { shape, dtype, device: dev, requiresGrad: true });
      const x = mk([B, L, I], 1);
      const w = { wih: mk([4 * H, I], 2), whh: mk([4 * H, H], 3), bih: mk([4 * H], 4), bhh: mk([4 * H], 5) };
      const y = (fused ? T.lstmLayer : T.lstmLayerUnfused)(x, w, lengths, reverse);
      T.sum(T.mul(y, T.tensor(randomValues(y.size, seed + 6), { shape: y.shape, dtype, device: dev }))).backward();
      return Promise.all([y, x.grad!, w.wih.grad!, w.whh.grad!, w.bih.grad!, w.bhh.grad!].map(async (t) => Float64Array.from(await t.data())));
    };
    const ref = await run(T.cpu, 'f64', false);
    (await run(T.cpu, 'f64', true)).forEach((a, i) => assertClose(a, ref[i], { rtol: 1e-9, atol: 1e-11 }, `cpu fused vs op-by-op, output ${i}`));
    for (const dev of DEVICES) {
      for (const variant of kernelVariants(dev, ['split', 'split:4'])) {
        const got = await withKernelVariant('DNER_LSTM', variant, () => run(dev, 'f32', true));
        got.forEach((a, i) => assertClose(a, ref[i], { rtol: 1e-4, atol: 1e-5 }, `${dev.name} ${variant} output ${i} (B ${B} L ${L} H ${H} lengths ${lengths})`));
      }
    }
  }, 10);
});

s('one sentence gets bitwise the same LSTM step outputs alone and in a batch, with every variant', async () => {
  // The subgroup step packs as many batch elements into a workgroup as the batch needs (1, 2, 4 or 8),
  // so tagging a sentence alone or beside others must not change a single bit (eval counts depend on it).
  if (!webgpu) return;
  const dev = webgpu, H = 36, L = 5, seed = 7;
  const whh = T.tensor(Float32Array.from(randomValues(4 * H * H, seed, -0.5, 0.5)), { shape: [4 * H, H], device: dev });
  const forward = (B: number, lengths: number[]) => {
    const xw = T.tensor(Float32Array.from(randomValues(B * L * 4 * H, seed + 1, -1, 1)), { shape: [B, L, 4 * H], device: dev });
    const lens = T.tensor(Int32Array.from(lengths), { shape: [B], device: dev });
    const [hs, c, g] = [[B, L, H], [B, L, H], [B, L, 4 * H]].map((shape) => T.zeros(shape, { device: dev }));
    launchLstmForward(dev, xw, whh, lens, hs, c, g, { B, L, H, reverse: false }, L);
    return hs.data();
  };
  for (const variant of kernelVariants(dev, ['split'])) await withKernelVariant('DNER_LSTM', variant, async () => {
    // randomValues(n, seed) is a prefix of randomValues(m > n, seed), so element 0's inputs are the same in every batch.
    const alone = await forward(1, [L]);
    for (const B of [2, 3, 8, 11]) {
      const batched = (await forward(B, Array.from({ length: B }, (_, i) => L - (i % L)))).slice(0, L * H);
      const differing = batched.filter((v, i) => v !== alone[i]).length;
      if (differing) throw new Error(`${variant}: batch ${B} changes ${differing} of element 0's ${L * H} outputs`);
    }
  });
});

s('a variant name the LSTM kernels do not have is a clear error', async () => {
  if (!webgpu) return;
  const dev = webgpu;
  const mk = (shape: number[]) => T.zeros(shape, { device: dev });
  const run = () => T.lstmLayer(mk([1, 2, 4]), { wih: mk([16, 4]), whh: mk([16, 4]), bih: mk([16]), bhh: mk([16]) }, [2], false);
  await withKernelVariant('DNER_LSTM', 'bogus', () => assertThrows(run, /DNER_LSTM must be rows, subgroup, split or split:W, got 'bogus'/));
  await withKernelVariant('DNER_LSTM', 'split:3', () => assertThrows(run, /power of two/));
});

s.run();
