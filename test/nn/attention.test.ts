import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { assertClose, assertProperty, assertThrows, DEVICES, kernelVariants, randomValues, withKernelVariant } from '../helpers.js';

const s = suite('fused multi-head attention');

interface Case { B: number; Lq: number; Lk: number; heads: number; dh: number; dropout: number; masked: boolean; seed: number }

const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 3 }), Lq: fc.integer({ min: 1, max: 45 }), Lk: fc.integer({ min: 1, max: 45 }), // past one block of rows (32 forward, 8 backward on lavapipe)
  heads: fc.integer({ min: 1, max: 3 }), dh: fc.constantFrom(4, 8, 12), dropout: fc.constantFrom(0, 0, 0.3),
  masked: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
});

/** Forward output and the three input gradients of sum(attention(q, k, v) * w). */
async function run(c: Case, dev: T.Device, dtype: 'f32' | 'f64', fused: boolean): Promise<Float64Array[]> {
  const E = c.heads * c.dh;
  const mk = (shape: number[], k: number) => T.tensor(randomValues(shape.reduce((a, b) => a * b), c.seed + k), { shape, dtype, device: dev, requiresGrad: true });
  const q = mk([c.B, c.Lq, E], 1), k = mk([c.B, c.Lk, E], 2), v = mk([c.B, c.Lk, E], 3);
  // Hide a suffix of keys per batch element but always keep key 0 visible.
  const maskV = new Float32Array(c.B * c.Lk).map((_, i) => (i % c.Lk === 0 || !c.masked || (i % c.Lk) < c.Lk - (i / c.Lk | 0) - 1 ? 1 : 0));
  const mask = c.masked ? T.tensor(maskV, { shape: [c.B, c.Lk], device: dev, dtype }) : null;
  const opts = { heads: c.heads, mask, dropout: c.dropout, seed: c.seed };
  const out = fused ? T.attention(q, k, v, opts) : T.attentionUnfused(q, k, v, opts);
  const w = T.tensor(randomValues(out.size, c.seed + 4), { shape: out.shape, dtype, device: dev });
  T.sum(T.mul(out, w)).backward();
  return Promise.all([out, q.grad!, k.grad!, v.grad!].map(async (t) => Float64Array.from(await t.data())));
}

s('fused forward and backward equal the unfused composition (f64 cpu) on every device, with masks and dropout', async () => {
  await assertProperty([caseArb], async (c) => {
    const ref = await run(c, T.cpu, 'f64', false);
    const refFused = await run(c, T.cpu, 'f64', true);
    refFused.forEach((a, i) => assertClose(a, ref[i], { rtol: 1e-9, atol: 1e-10 }, `cpu fused vs unfused, output ${i} ${JSON.stringify(c)}`));
    for (const dev of DEVICES) {
      for (const variant of kernelVariants(dev, ['rows:1'])) {
        const got = await withKernelVariant('DNER_ATTENTION', variant, () => run(c, dev, 'f32', true));
        got.forEach((a, i) => assertClose(a, ref[i], { rtol: 2e-4, atol: 2e-5 }, `${dev.name} ${variant} output ${i} ${JSON.stringify(c)}`));
      }
    }
  }, 12);
});

s('dropout keeps about 1 − p of the probabilities and scales them by 1/(1 − p)', async () => {
  const { dropoutFactor } = await import('../../src/kernels/attention.js');
  const d = { B: 2, heads: 4, Lq: 30, Lk: 40, dh: 8, scale: 1, dropout: 0.25, seed: 9 };
  let kept = 0, n = 0;
  for (let b = 0; b < 2; b++) for (let h = 0; h < 4; h++) for (let i = 0; i < 30; i++) for (let j = 0; j < 40; j++) {
    const z = dropoutFactor(d, b, h, i, j);
    if (z !== 0 && Math.abs(z - 1 / 0.75) > 1e-12) throw new Error(`factor ${z}`);
    kept += z !== 0 ? 1 : 0; n++;
  }
  if (Math.abs(kept / n - 0.75) > 0.02) throw new Error(`kept ${kept / n}`);
});

s('a query whose keys are all padding gets zeros, and the rest of the batch is unaffected', async () => {
  for (const dev of DEVICES) {
    const q = T.randn([2, 3, 8], { device: dev, rng: new T.RNG(1) });
    const kv = T.randn([2, 4, 8], { device: dev, rng: new T.RNG(2) });
    const mask = T.tensor([[0, 0, 0, 0], [1, 1, 0, 1]], { device: dev });
    for (const variant of kernelVariants(dev, ['rows:1'])) {
      const o = await withKernelVariant('DNER_ATTENTION', variant, () => T.attention(q, kv, kv, { heads: 2, mask }).data());
      assertClose(o.slice(0, 24), new Float32Array(24), { atol: 0 }, `${dev.name} ${variant} padded batch element`);
      if (!o.slice(24).some((x) => x !== 0)) throw new Error(`${variant}: second batch element was zeroed too`);
    }
  }
});

s('a variant name the attention kernels do not have is a clear error', async () => {
  for (const dev of DEVICES) {
    if (dev.kind !== 'webgpu') continue;
    const q = T.randn([1, 3, 8], { device: dev, rng: new T.RNG(1) });
    await withKernelVariant('DNER_ATTENTION', 'bogus', () => assertThrows(() => T.attention(q, q, q, { heads: 2 }), /DNER_ATTENTION must be rows, rows:R or subgroup, got 'bogus'/));
    await withKernelVariant('DNER_ATTENTION', 'rows:0', () => assertThrows(() => T.attention(q, q, q, { heads: 2 }), /R from 1 to 8/));
  }
});

s.run();
