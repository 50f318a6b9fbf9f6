import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { SpanDecoder } from '../../../src/models/diffusionner/decoder.js';
import { assertClose, assertThrows, DEVICES, randomValues } from '../../helpers.js';

const s = suite('span decoder (spec §1.5)');

async function run(dev: T.Device, pooling: 'lrconcat' | 'meanpool') {
  const [B, K, M, H, C] = [2, 5, 6, 16, 3];
  const dec = new SpanDecoder({ hidden: H, types: C, heads: 4, ffn: 32, spanPooling: pooling }, { device: dev, rng: new T.RNG(11) }).eval();
  const lengths = [6, 4];
  const words = T.tensor(randomValues(B * M * H, 1), { shape: [B, M, H], dtype: 'f32', device: dev, requiresGrad: true });
  const wordMask = T.tensor(Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], device: dev });
  const pairs = T.tensor(randomValues(B * K * 2, 2, 0, 1), { shape: [B, K, 2], dtype: 'f32', device: dev });
  const out = dec.forward(T.clamp(pairs, 0, 1), dec.prepare(words, wordMask, lengths, K), [999, 17]);
  const loss = T.add(T.sum(T.mul(out.logits, T.tensor(randomValues(B * K * (C + 1), 3), { shape: [B, K, C + 1], dtype: 'f32', device: dev }))),
    T.sum(T.mul(T.add(out.left, out.right), T.tensor(randomValues(B * K * M, 4), { shape: [B, K, M], dtype: 'f32', device: dev }))));
  loss.backward();
  const grads = await Promise.all([words, ...dec.parameters()].map(async (p) => Float64Array.from(await p.grad!.data())));
  return { outs: await Promise.all([out.logits, out.left, out.right, out.words].map(async (t) => Float64Array.from(await t.data()))), grads };
}

for (const pooling of ['lrconcat', 'meanpool'] as const) {
  s(`${pooling}: forward and backward agree on both devices; padded words get probability 0`, async () => {
    const results = [];
    for (const dev of DEVICES) results.push(await run(dev, pooling));
    const [cpu] = results;
    const left = cpu.outs[1];
    for (let b = 0; b < 2; b++) for (let k = 0; k < 5; k++) for (let j = 4; j < 6; j++) if (b === 1 && left[(b * 5 + k) * 6 + j] !== 0) throw new Error('padding probability');
    for (const r of results.slice(1)) {
      r.outs.forEach((a, i) => assertClose(a, cpu.outs[i], { rtol: 2e-4, atol: 2e-5 }, `output ${i}`));
      r.grads.forEach((a, i) => assertClose(a, cpu.grads[i], { rtol: 5e-4, atol: 5e-5 }, `gradient ${i}`));
    }
  });
}

s('lrconcat in evaluation folds down_proj into per-word projections (same outputs as the per-span product); boundaries() is forward() without the classifier', async () => {
  const [B, K, M, H, C] = [2, 7, 9, 16, 3];
  const lengths = [9, 5];
  for (const dev of DEVICES) {
    const dec = new SpanDecoder({ hidden: H, types: C, heads: 4, ffn: 32, dropout: 0, spanPooling: 'lrconcat' }, { device: dev, rng: new T.RNG(5) });
    const words = T.tensor(randomValues(B * M * H, 6), { shape: [B, M, H], dtype: 'f32', device: dev });
    const wordMask = T.tensor(Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], device: dev });
    const pairs = T.tensor(randomValues(B * K * 2, 7, 0, 1), { shape: [B, K, 2], dtype: 'f32', device: dev });
    const outputs = async () => {
      const memory = dec.prepare(words, wordMask, lengths, K);
      const out = dec.forward(pairs, memory, [500, 3]);
      return { folded: memory.spanStarts !== null, values: await Promise.all([out.logits, out.left, out.right].map(async (t) => Float64Array.from(await t.data()))) };
    };
    const perSpan = await outputs(); // training mode: dropout would sit between the projections
    dec.eval();
    const folded = await outputs();
    if (perSpan.folded || !folded.folded) throw new Error(`${dev.name}: folding should apply in evaluation only`);
    folded.values.forEach((a, i) => assertClose(a, perSpan.values[i], { rtol: 1e-4, atol: 1e-5 }, `${dev.name} output ${i}`));
    // What an intermediate DDIM step runs: the same boundaries without the classifier.
    const memory = dec.prepare(words, wordMask, lengths, K);
    const full = dec.forward(pairs, memory, [500, 3]), bare = dec.boundaries(pairs, memory, [500, 3]);
    for (const k of ['left', 'right', 'words'] as const) assertClose(await bare[k].data(), await full[k].data(), { rtol: 0, atol: 0 }, `${dev.name} boundaries().${k}`);
    // The memory carries the slot embedding of its K slots: a pass over another K is refused.
    assertThrows(() => dec.forward(T.slice(pairs, 1, 0, K - 1), memory, [500, 3]), /6 proposals, but the memory was prepared for 7/);
  }
});

s.run();
