import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BINARY, collapseBroadcast, UNARY } from '../../src/kernels/elementwise.js';
import { stridedOffset } from '../../src/kernels/common.js';
import { broadcastShapes, broadcastStrides } from '../../src/tensor/shape.js';
import * as T from '../../src/index.js';
import { assertProperty, assertThrows, checkAgainstReference, DEVICES, shapeArb } from '../helpers.js';

const s = suite('elementwise kernels');

/** Inputs inside each op's domain, away from kinks where f32 and f64 legitimately disagree. */
const DOMAIN: Record<string, [number, number]> = {
  log: [0.1, 4], sqrt: [0.01, 4], rsqrt: [0.1, 4], reciprocal: [0.5, 3], powScalar: [0.1, 3],
};

for (const op of Object.keys(UNARY)) {
  if (op === 'step') continue; // a kink at 0 only; covered through relu's gradient
  s(`unary ${op}: every device matches the f64 reference on random shapes`, async () => {
    const [lo, hi] = DOMAIN[op] ?? [-3, 3];
    await assertProperty([shapeArb(0, 4, 11), fc.integer({ min: 1, max: 1e6 })], async (shape, seed) => {
      await checkAgainstReference(op, [{ shape, lo, hi }],
        (x) => T.unary(op as T.UnaryOpName, x, op === 'clamp' ? -0.5 : op === 'affine' ? 1.5 : 2.5, op === 'clamp' ? 0.7 : -0.25),
        { rtol: 2e-5, atol: 2e-6 }, seed);
    }, 6);
  });
}

/** Pairs of shapes that broadcast: b is a with some axes set to 1 and some leading axes dropped. */
const broadcastPair = shapeArb(1, 4, 7).chain((a) => fc.tuple(
  fc.constant(a),
  fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }),
  fc.integer({ min: 0, max: a.length - 1 }),
  fc.boolean(),
).map(([a, ones, drop, swap]) => {
  const b = a.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
  return swap ? [b, a] : [a, b];
}));

for (const op of Object.keys(BINARY)) {
  s(`binary ${op} with broadcasting on every device`, async () => {
    await assertProperty([broadcastPair, fc.integer({ min: 1, max: 1e6 })], async ([a, b], seed) => {
      const pos = op === 'pow';
      await checkAgainstReference(op, [{ shape: a, lo: pos ? 0.2 : -3, hi: 3 }, { shape: b, lo: op === 'div' ? 0.5 : -3, hi: 3 }],
        (x, y) => T.binary(op as T.BinaryOpName, x, y), { rtol: 2e-5, atol: 2e-6 }, seed);
    }, 6);
  });
}

s('broadcasts whose rows are whole in both inputs take the vec4-row path, with odd row counts and long rows', async () => {
  const rowPair = shapeArb(2, 4, 6).chain((a) => fc.tuple(fc.constant(a), fc.array(fc.boolean(), { minLength: a.length - 1, maxLength: a.length - 1 }), fc.integer({ min: 1, max: 9 })))
    .map(([a, ones, k]) => {
      const full = [...a.slice(0, -1), 4 * k];
      return [full, [...full.slice(0, -1).map((d, i) => (ones[i] ? 1 : d)), 4 * k]];
    });
  await assertProperty([rowPair, fc.integer({ min: 1, max: 1e6 })], async ([a, b], seed) => {
    // Inputs in [−2, 2] are rounded to f32 on the device (half an ulp, up to 1.2e-7 each), so a sum that
    // cancels to near 0 can be 2.4e-7 from the f64 reference.
    await checkAgainstReference('rows4', [{ shape: a }, { shape: b }], (x, y) => [T.add(x, y), T.mul(y, x), T.lt(x, y)], { rtol: 2e-6, atol: 3e-7 }, seed);
  }, 10);
});

s('collapsing a broadcast keeps every element at the same offset in every input', () => {
  fc.assert(fc.property(broadcastPair, ([a, b]) => {
    const shape = broadcastShapes('t', a, b);
    const strides = [broadcastStrides(a, shape), broadcastStrides(b, shape)];
    const c = collapseBroadcast({ shape, strides, contiguous: false });
    const n = shape.reduce((x, y) => x * y, 1);
    assert.is(c.shape.reduce((x, y) => x * y, 1), n);
    assert.ok(c.shape.length <= Math.max(1, shape.length));
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 2; k++) assert.is(stridedOffset(i, c.shape, c.strides[k]), stridedOffset(i, shape, strides[k]));
    }
  }), { numRuns: 300 });
  assert.equal(collapseBroadcast({ shape: [612, 13, 50], strides: [[650, 50, 1], [13, 1, 0]], contiguous: false }),
    { shape: [7956, 50], strides: [[50, 1], [1, 0]] });
});

s('broadcasts along long odd rows (several runs a row, a ragged last run) match the reference', async () => {
  for (const [a, b] of [[[7, 3, 50], [7, 3, 1]], [[5, 37], [5, 1]], [[6, 4, 33], [6, 1, 33]], [[3, 70], [70]], [[2, 1, 19], [2, 5, 1]]]) {
    await checkAgainstReference('long rows', [{ shape: a }, { shape: b }], (x, y) => [T.add(x, y), T.sub(y, x), T.where(T.gt(y, 0), x, y)], { rtol: 2e-6, atol: 3e-7 });
  }
});

s('empty tensors: broadcast ops with a zero-length axis give empty results on every device; an integer mean is refused', async () => {
  for (const dev of DEVICES) {
    for (const [a, b] of [[[3, 0], [1, 0]], [[0, 4], [4]], [[2, 0, 5], [2, 1, 5]]]) {
      const y = T.add(T.zeros(a, { device: dev }), T.ones(b, { device: dev }));
      if (y.size !== 0 || (await y.data()).length !== 0) throw new Error(`${dev.name}: [${a}] + [${b}] gave ${y.describe()}`);
    }
    assertThrows(() => T.mean(T.tensor(Int32Array.of(2, 4, 6), { device: dev })), /mean: needs a floating-point tensor/);
  }
});

s('i32 with a scalar beyond f32\'s exact integers stays exact on every device', async () => {
  for (const dev of DEVICES) {
    const x = T.tensor(Int32Array.of(0, 1, -5), { device: dev });
    const got = [...(await T.add(x, 16777217).data()), ...(await T.mul(x, 16777217).data()), ...(await T.sub(16777219, x).data())];
    const want = [16777217, 16777218, 16777212, 0, 16777217, -83886085, 16777219, 16777218, 16777224];
    if (got.join() !== want.join()) throw new Error(`${dev.name}: ${got.join()}`);
  }
});

s('integer arithmetic and comparisons keep exact i32 semantics', async () => {
  await checkAgainstReference('i32', [{ shape: [5, 7], dtype: 'i32', lo: -50, hi: 50 }, { shape: [7], dtype: 'i32', lo: 1, hi: 9 }],
    (a, b) => [T.add(a, b), T.sub(a, b), T.mul(a, b), T.div(a, b), T.maximum(a, b), T.lt(a, b), T.affine(a, 3, -2)], { rtol: 0, atol: 0 });
});

s('where broadcasts condition and both branches', async () => {
  await assertProperty([broadcastPair, fc.integer({ min: 1, max: 1e6 })], async ([a, b], seed) => {
    await checkAgainstReference('where', [{ shape: b, lo: -1, hi: 1 }, { shape: a }, { shape: b }],
      (c, x, y) => T.where(T.gt(c, 0), x, y), { rtol: 1e-7, atol: 0 }, seed);
  }, 8);
});

s('negative bases with integral exponents follow torch.pow', async () => {
  await checkAgainstReference('pow', [{ shape: [6], values: [-2, -1.5, -3, 0, 2, -0.5] }, { shape: [6], values: [2, 3, 3, 2, -1, 4] }],
    (x, y) => T.pow(x, y), { rtol: 1e-6, atol: 1e-6 });
});

s.run();
