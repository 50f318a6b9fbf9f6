import * as fc from 'fast-check';
import { suite } from 'uvu';
import { cpuAdamW } from '../../src/kernels/adamw.js';
import * as T from '../../src/index.js';
import { assertClose, assertProperty, checkAgainstReference, DEVICES, randomValues, shapeArb } from '../helpers.js';

const s = suite('gather, scatter, copies, casts, fill, AdamW');

const tableAndIndex = fc.tuple(shapeArb(1, 3, 8), fc.integer({ min: 1, max: 20 }), fc.nat(), fc.boolean()).map(([shape, count, ax, oob]) => {
  const axis = ax % shape.length;
  return { shape, axis, count, oob };
});

s('indexSelect and indexAdd (duplicates accumulate; out-of-range indices read 0 / are ignored)', async () => {
  await assertProperty([tableAndIndex, fc.integer({ min: 1, max: 1e6 })], async ({ shape, axis, count, oob }, seed) => {
    const rows = shape[axis];
    const idx = Array.from(randomValues(count, seed, 0, rows), Math.floor);
    if (oob) { idx[0] = rows; idx[count - 1] = -1; }
    const srcShape = [...shape.slice(0, axis), count, ...shape.slice(axis + 1)];
    await checkAgainstReference('index', [{ shape }, { shape: [count], dtype: 'i32', values: idx }, { shape: srcShape }],
      (x, i, src) => [T.indexSelect(x, axis, i), T.indexAdd(x, axis, i, src)], { rtol: 1e-6, atol: 1e-6 }, seed);
  }, 15);
  // Rows of a multiple of 4 take the vec4 path, in runs that may end part-way through a row.
  const rowsOfVec4 = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 12 }), fc.boolean());
  await assertProperty([rowsOfVec4, fc.integer({ min: 1, max: 1e6 })], async ([outer, rows, quads, count, oob], seed) => {
    const shape = [outer, rows, 4 * quads];
    const idx = Array.from(randomValues(count, seed, 0, rows), Math.floor);
    if (oob) { idx[0] = -1; idx[count - 1] = rows + 2; }
    await checkAgainstReference('index-vec4', [{ shape }, { shape: [count], dtype: 'i32', values: idx }],
      (x, i) => [T.indexSelect(x, 1, i)], { rtol: 1e-7, atol: 0 }, seed);
  }, 10);
});

s('permute, transpose, slice (with steps and negative bounds), concat, stack, expand', async () => {
  await assertProperty([shapeArb(1, 4, 6), fc.integer({ min: 1, max: 1e6 })], async (shape, seed) => {
    const rank = shape.length;
    const perm = shape.map((_, i) => i).reverse();
    await checkAgainstReference('movement', [{ shape }, { shape }], (x, y) => [
      T.permute(x, perm),
      T.transpose(x, 0, -1),
      T.slice(x, -1, 1, undefined, 2),
      T.slice(x, 0, -2),
      T.concat([x, y, x], rank - 1),
      T.stack([x, y], 0),
      T.expand(T.unsqueeze(x, 0), [3, ...shape]),
      T.clone(x),
    ], { rtol: 1e-7, atol: 0 }, seed); // only f32 rounding of the inputs separates the devices from f64
  }, 12);
  // Last axes that are multiples of 4 take the vec4 row-copy path.
  await assertProperty([shapeArb(2, 4, 5).map((sh) => [...sh.slice(0, -1), 4 * sh[sh.length - 1]]), fc.integer({ min: 1, max: 1e6 })], async (shape, seed) => {
    const rank = shape.length;
    await checkAgainstReference('movement-vec4', [{ shape }, { shape }], (x, y) => [
      T.slice(x, -1, 4), T.slice(x, 0, 1), T.concat([x, y], rank - 1), T.expand(T.unsqueeze(x, 0), [2, ...shape]), T.transpose(x, 0, 1),
    ], { rtol: 1e-7, atol: 0 }, seed);
  }, 10);
});

s('cast truncates toward zero and saturates out of i32\'s range; fill writes every element', async () => {
  await checkAgainstReference('cast', [{ shape: [7, 3], lo: -20, hi: 20 }, { shape: [4], values: [3e9, -3e9, 2.5e9, -2147483648] }], (x, big) => [
    T.cast(big, 'i32'),
    T.cast(T.cast(x, 'i32'), 'f32'),
    T.full([5, 3], 2.5),
    T.full([33], -7, { dtype: 'i32' }),
  ], { rtol: 0, atol: 0 });
});

s('fused AdamW equals the textbook update over random lengths, steps and settings (both decay orders, with and without bias correction)', async () => {
  const settings = fc.record({
    n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 4000, max: 5000 })), step: fc.integer({ min: 1, max: 50 }),
    decayAfter: fc.boolean(), correct: fc.boolean(), weightDecay: fc.constantFrom(0, 0.01, 0.1), gradScale: fc.double({ min: 0.05, max: 1, noNaN: true }),
    seed: fc.integer({ min: 1, max: 1e5 }),
  });
  await assertProperty([settings], async ({ n, step, decayAfter, correct, weightDecay, gradScale, seed }) => {
    const h = {
      lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay,
      bc1: correct ? 1 - 0.9 ** step : 1, bc2: correct ? 1 - 0.999 ** step : 1, gradScale, decayAfter,
    };
    const p0 = randomValues(n, seed), g0 = randomValues(n, seed + 1), m0 = randomValues(n, seed + 2, -0.1, 0.1), v0 = randomValues(n, seed + 3, 0, 0.1);
    // Textbook AdamW, written out independently of the kernel.
    const want = p0.map((p, i) => {
      const g = g0[i] * h.gradScale;
      if (!decayAfter) p *= 1 - h.lr * h.weightDecay;
      const m = 0.9 * m0[i] + 0.1 * g, v = 0.999 * v0[i] + 0.001 * g * g;
      p -= h.lr * (m / h.bc1) / (Math.sqrt(v / h.bc2) + h.eps);
      return decayAfter ? p * (1 - h.lr * h.weightDecay) : p;
    });
    const ref = [p0.slice(), g0, m0.slice(), v0.slice()];
    cpuAdamW(ref[0], ref[1], ref[2], ref[3], h);
    assertClose(ref[0], want, { rtol: 1e-12, atol: 1e-12 }, 'cpu reference');
    for (const dev of DEVICES) {
      const [p, g, m, v] = [p0, g0, m0, v0].map((a) => T.tensor(a, { dtype: 'f32', device: dev }));
      T.adamwUpdate(p, g, m, v, h);
      assertClose(await p.data(), want, { rtol: 1e-5, atol: 1e-6 }, `${dev.name} param (n ${n})`);
      assertClose(await m.data(), ref[2], { rtol: 1e-5, atol: 1e-6 }, `${dev.name} exp_avg (n ${n})`);
      assertClose(await v.data(), ref[3], { rtol: 1e-5, atol: 1e-7 }, `${dev.name} exp_avg_sq (n ${n})`);
      [p, g, m, v].forEach((t) => t.dispose());
    }
  }, 12);
});

s.run();
