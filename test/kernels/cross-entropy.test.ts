/**
 * The fused cross-entropy (src/kernels/cross-entropy.ts, crossEntropy in src/ops/losses.ts) equals
 * torch.nn.functional.cross_entropy with class weights, label smoothing, ignored rows and an additive
 * log(mask + tiny) logit mask, loss and gradient, in f64 on the cpu device and in f32 on every device
 * (fixture: scripts/fixtures/make_cross_entropy.py); and, on random shapes, the composition of ordinary
 * ops it replaces.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { assertClose, assertProperty, assertThrows, DEVICES, randomValues } from '../helpers.js';

const s = suite('fused cross-entropy');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'cross-entropy.safetensors'), { f64: true });
const get = (k: string) => fx.get(k);

for (const name of ['plain', 'smooth', 'weighted', 'masked', 'masked_fp16']) {
  s(`${name}: loss and d loss / d logits equal torch's (f64 on cpu, f32 on every device)`, async () => {
    const runs = [{ dev: DEVICES[0], dtype: 'f64' as const }, ...DEVICES.map((dev) => ({ dev, dtype: 'f32' as const }))];
    for (const { dev, dtype } of runs) {
      const f = (k: string) => T.tensor(get(k)!.data, { shape: get(k)!.shape, device: dev, dtype });
      const logits = f(`${name}.logits`);
      logits.setRequiresGrad(true);
      const target = T.tensor(get(`${name}.target`)!.data, { device: dev, dtype: 'i32' });
      const loss = T.crossEntropy(logits, target, {
        labelSmoothing: get(`${name}.eps`)!.data[0], tiny: get(`${name}.tiny`)!.data[0], rowMask: f(`${name}.rows`),
        ...(get(`${name}.weight`) ? { weight: f(`${name}.weight`) } : {}), ...(get(`${name}.mask`) ? { logitMask: f(`${name}.mask`) } : {}),
      });
      loss.backward();
      const tol = dtype === 'f64' ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 1e-5, atol: 1e-6 };
      assertClose(await loss.data(), get(`${name}.loss`)!.data, tol, `${name} loss on ${dev.name} (${dtype})`);
      assertClose(await logits.grad!.data(), get(`${name}.grad`)!.data, tol, `${name} gradient on ${dev.name} (${dtype})`);
    }
  });
}

/** The composition the fused op replaces, with torch's reductions. */
function composed(logits: T.Tensor, target: T.Tensor, w: T.Tensor, rows: T.Tensor, eps: number): T.Tensor {
  const C = logits.shape[1];
  const logp = T.logSoftmax(logits, -1);
  const onehot = T.indexSelect(T.tensor(Float64Array.from({ length: C * C }, (_, i) => (Math.floor(i / C) === i % C ? 1 : 0)), { shape: [C, C], device: logits.device, dtype: logits.dtype }), 0, target);
  const scale = T.mul(rows, T.indexSelect(w, 0, target));
  const nll = T.div(T.sum(T.mul(scale, T.neg(T.sum(T.mul(onehot, logp), -1)))), T.sum(scale));
  const smooth = T.div(T.sum(T.mul(rows, T.neg(T.sum(T.mul(T.reshape(w, [1, C]), logp), -1)))), T.sum(scale));
  return T.add(T.affine(nll, 1 - eps), T.affine(smooth, eps / C));
}

s('on random shapes it equals the composition of ordinary ops, loss and gradient, on every device', async () => {
  await assertProperty([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 13 }), fc.constantFrom(0, 0.01, 0.3), fc.integer({ min: 1, max: 1000 })], async (N, C, eps, seed) => {
    for (const dev of DEVICES) {
      const rng = new T.RNG(seed);
      const make = () => T.tensor(randomValues(N * C, seed, -4, 4), { shape: [N, C], device: dev, dtype: 'f32' });
      const target = T.tensor(Int32Array.from({ length: N }, () => rng.int(C)), { device: dev });
      const w = T.tensor(randomValues(C, seed + 1, 0.5, 2), { device: dev, dtype: 'f32' });
      const rows = T.tensor(Float32Array.from({ length: N }, (_, i) => (i === 0 || rng.uniform() > 0.3 ? 1 : 0)), { device: dev });
      const [a, b] = [make(), make()];
      a.setRequiresGrad(true); b.setRequiresGrad(true);
      const fused = T.crossEntropy(a, target, { weight: w, rowMask: rows, labelSmoothing: eps });
      const ref = composed(b, target, w, rows, eps);
      fused.backward(); ref.backward();
      assertClose(await fused.data(), await ref.data(), { rtol: 1e-5, atol: 1e-6 }, `loss on ${dev.name}`);
      assertClose(await a.grad!.data(), await b.grad!.data(), { rtol: 1e-4, atol: 1e-6 }, `gradient on ${dev.name}`);
    }
  }, 20);
});

s('bad shapes and settings are one-line errors', async () => {
  const x = T.zeros([3, 4]), y = T.tensor(Int32Array.of(0, 1, 2));
  await assertThrows(() => T.crossEntropy(x, T.zeros([3])), /targets \[3\] \(f32\) must be \(N, C\) and \(N\) i32/);
  await assertThrows(() => T.crossEntropy(x, y, { weight: T.ones([3]) }), /weight \[3\] must be \(4\)/);
  await assertThrows(() => T.crossEntropy(x, y, { labelSmoothing: 2 }), /labelSmoothing must be in \[0, 1\], got 2/);
});

s.run();
