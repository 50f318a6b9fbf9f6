import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { launchLayerNorm } from '../../src/kernels/layernorm.js';
import { assertClose, assertProperty, assertThrows, checkAgainstReference, DEVICES, kernelVariants, randomValues, shapeArb, webgpu, withKernelVariant } from '../helpers.js';

const s = suite('reductions, softmax, layernorm');

/** The lavapipe layerNorm kernels: one row per invocation alone (`rows`) or sharing γ, β across a subgroup. */
const layerNormVariants = () => (webgpu ? kernelVariants(webgpu) : ['reference']);

const shapeAndAxis = shapeArb(1, 4, 9).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: -shape.length, max: shape.length - 1 })));

for (const op of ['sum', 'mean', 'max', 'min'] as const) {
  s(`${op} over one axis, several axes and all, on every device`, async () => {
    await assertProperty([shapeAndAxis, fc.boolean(), fc.integer({ min: 1, max: 1e6 })], async ([shape, axis], keep, seed) => {
      await checkAgainstReference(op, [{ shape }], (x) => [
        T[op](x, axis, keep),
        T[op](x),
        T[op](x, shape.length > 1 ? [0, shape.length - 1] : [0], keep),
      ], { rtol: 2e-5, atol: 2e-5 }, seed);
    }, 10);
  });
}

s('long axes take the two-pass chunked path and still agree', async () => {
  await checkAgainstReference('sum', [{ shape: [2, 9001] }, { shape: [20000] }], (a, b) => [
    T.sum(a, 1), T.mean(a, -1), T.max(a, 1), T.min(b), T.sum(b), T.sumSquares(b), T.sumSquares(a), T.sumSquares(T.slice(a, 1, 0, 7)),
    T.sumSquaresEach([T.slice(a, 1, 0, 7), b, a, T.slice(b, 0, 0, 3)]),
  ], { rtol: 1e-4, atol: 2e-3 });
});

s('sumSquaresEach writes one Σx² per tensor, each equal to sumSquares alone (one- and two-pass sizes)', async () => {
  for (const dev of DEVICES) {
    const xs = [[3], [7, 5], [30000], [1], [4, 1100]].map((shape, i) => T.randn(shape, { device: dev, rng: new T.RNG(i + 1) }));
    const each = await T.sumSquaresEach(xs).data();
    const alone = await Promise.all(xs.map((x) => T.sumSquares(x).item()));
    assertClose(each, alone, { rtol: 1e-6, atol: 0 }, `${dev.name} sumSquaresEach`);
  }
  await assertThrows(() => T.sumSquaresEach([]), /no tensors/);
  await assertThrows(() => T.sumSquaresEach([T.ones([2]), T.ones([2], { dtype: 'i32' })]), /tensor 1 is/);
});

s('argmax returns the first maximal index', async () => {
  await assertProperty([shapeAndAxis, fc.integer({ min: 1, max: 1e6 })], async ([shape, axis], seed) => {
    await checkAgainstReference('argmax', [{ shape }], (x) => T.cast(T.argmax(x, axis), 'f32'), { rtol: 0, atol: 0 }, seed);
  }, 10);
  for (const dev of DEVICES) {
    const x = T.tensor([[1, 3, 3, 0], [5, 5, 5, 5]], { device: dev });
    const got = Array.from(await T.argmax(x, 1).data());
    if (got.join() !== '1,0') throw new Error(`ties on ${dev.name}: ${got}`);
    // Four neighbouring lines per invocation (inner a multiple of 4), ties included.
    const y = T.tensor([[[1, 7, 2, 2], [4, 7, 2, 9]], [[0, 0, 0, 0], [0, 1, 0, 0]]], { device: dev });
    const lines = Array.from(await T.argmax(y, 1).data());
    if (lines.join() !== '1,0,0,1,0,1,0,0') throw new Error(`argmax over lines of 4 on ${dev.name}: ${lines}`);
  }
});

s('vec4 reductions (four lines per invocation; contiguous lines four at a time) agree with the reference', async () => {
  await checkAgainstReference('reduce-vec4', [{ shape: [5, 6, 8] }, { shape: [3, 1024] }, { shape: [7, 12] }], (a, b, c) => [
    T.sum(a, 1), T.max(a, 1), T.min(a, 0), T.mean(a, 0), T.cast(T.argmax(a, 1), 'f32'), T.sum(c, 0), T.max(c, 0),
    T.sum(b, 1), T.mean(b, -1), T.sumSquares(b), T.sumSquares(c),
  ], { rtol: 1e-5, atol: 1e-5 });
});

for (const log of [false, true]) {
  const name = log ? 'logSoftmax' : 'softmax';
  s(`${name} forward and backward along any axis`, async () => {
    await assertProperty([shapeAndAxis, fc.integer({ min: 1, max: 1e6 })], async ([shape, axis], seed) => {
      await checkAgainstReference(name, [{ shape, lo: -8, hi: 8 }, { shape }], (x, g) => {
        const y = log ? T.logSoftmax(x, axis) : T.softmax(x, axis);
        const v = (() => { const a = axis < 0 ? axis + shape.length : axis; return { outer: shape.slice(0, a).reduce((p, q) => p * q, 1), len: shape[a], inner: shape.slice(a + 1).reduce((p, q) => p * q, 1) }; })();
        return [y, T.softmaxBackward(y, g, v, log)];
      }, { rtol: 1e-4, atol: 1e-5 }, seed);
    }, 10);
  });
}

s('every row layout of softmax and layerNorm agrees with the reference, rows longer than a workgroup or not a whole subgroup', async () => {
  for (const [variant, ln] of [...layerNormVariants().map((v) => ['invocation', v]), ['workgroup', 'rows']]) {
    await withKernelVariant('DNER_ROWS', variant, () => withKernelVariant('DNER_LAYERNORM', ln, () => checkAgainstReference(`rows ${variant}, layerNorm ${ln}`, [
      { shape: [5, 1028], lo: -8, hi: 8 }, { shape: [3, 260], lo: -8, hi: 8 }, { shape: [1028] }, { shape: [1028] }, { shape: [7, 8] }, { shape: [8] },
    ], (a, b, gamma, beta, c, gammaC) => [
      T.softmax(a, -1), T.logSoftmax(b, -1), T.softmax(c, -1), T.layerNorm(a, gamma, beta, 1e-5), T.layerNorm(c, gammaC, gammaC, 1e-5),
    ], { rtol: 1e-4, atol: 1e-5 })));
  }
});

s('softmax and logSoftmax: -inf-masked entries, rows of the lowest float and rows far from 0, in every row layout', async () => {
  const inf = -Infinity, low = -3.4028234663852886e38;
  const rows = [[0.5, 0, 1, inf, inf, inf, inf, inf], [inf, inf, 0, inf, 2, inf, inf, inf], [low, low, low, low, low, low, low, low], [-1e9, -1e9, -1e9, -1e9, -1e9 + 64, -1e9, -1e9, -1e9]];
  const exact = (xs: number[], log: boolean) => {
    const m = Math.max(...xs), s = xs.reduce((acc, x) => acc + (x === m ? 1 : Math.exp(x - m)), 0);
    return xs.map((x) => (log ? (x === m ? 0 : x - m) - Math.log(s) : (x === m ? 1 : Math.exp(x - m)) / s));
  };
  for (const dev of DEVICES) {
    for (const variant of dev.kind === 'webgpu' ? ['invocation', 'workgroup'] : ['reference']) {
      for (const log of [false, true]) {
        for (const contiguous of [true, false]) {
          // Columns of a transposed copy take the strided (scalar) kernel.
          const x = contiguous ? T.tensor(rows.flat(), { shape: [4, 8], device: dev }) : T.transpose(T.tensor(rows.flat(), { shape: [4, 8], device: dev }), 0, 1);
          const y = await withKernelVariant('DNER_ROWS', variant, () => (log ? T.logSoftmax(x, contiguous ? -1 : 0) : T.softmax(x, contiguous ? -1 : 0)).data());
          const got = contiguous ? Array.from(y) : rows.flatMap((_, r) => Array.from({ length: 8 }, (_, c) => y[c * 4 + r]));
          const want = rows.flatMap((r) => exact(r, log));
          got.forEach((v, i) => {
            const w = want[i];
            if (!(w === -Infinity ? v === -Infinity || v < -1e30 : Math.abs(v - w) <= 1e-5 * Math.max(1, Math.abs(w)))) {
              throw new Error(`${dev.name} ${variant} ${log ? 'logSoftmax' : 'softmax'} ${contiguous ? 'rows' : 'columns'}: element ${i} is ${v}, want ${w}`);
            }
          });
        }
      }
    }
  }
});

s('softmax survives huge logits (max-subtracted)', async () => {
  for (const dev of DEVICES) {
    const y3 = await T.softmax(T.tensor([[1000, 1000, -1000], [-5e4, 0, 5e4]], { device: dev })).data();
    [0.5, 0.5, 0, 0, 0, 1].forEach((w, i) => { if (Math.abs(y3[i] - w) > 1e-6) throw new Error(`${dev.name}: ${Array.from(y3)}`); });
    for (const variant of ['invocation', 'workgroup']) {
      const y = await withKernelVariant('DNER_ROWS', variant, () => T.softmax(T.tensor([[1000, 1000, -1000, 0], [-5e4, 0, 5e4, 0]], { device: dev })).data());
      const want = [0.5, 0.5, 0, 0, 0, 0, 1, 0];
      want.forEach((w, i) => { if (Math.abs(y[i] - w) > 1e-6) throw new Error(`${dev.name} ${variant}: ${Array.from(y)}`); });
    }
  }
});

s('layerNorm forward (y, mean, rstd) and backward (dx, dgamma, dbeta)', async () => {
  await assertProperty([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }).map((d) => (d % 2 ? d : 4 * d)), fc.constantFrom(...layerNormVariants()), fc.integer({ min: 1, max: 1e6 })], async (rows, d, variant, seed) => {
    await withKernelVariant('DNER_LAYERNORM', variant, () => checkAgainstReference(`layerNorm ${variant}`, [{ shape: [rows, d], lo: -3, hi: 5 }, { shape: [d] }, { shape: [d] }, { shape: [rows, d] }], (x, gamma, beta, g) => {
      const y = T.layerNorm(x, gamma, beta, 1e-5);
      const mean = T.mean(x, -1);
      const meanT = mean;
      const rstd = T.rsqrt(T.affine(T.mean(T.square(T.sub(x, T.unsqueeze(meanT, -1))), -1), 1, 1e-5));
      return [y, ...T.layerNormBackward(x, gamma, meanT, rstd, g, rows, d)];
    }, { rtol: 2e-4, atol: 2e-4 }, seed));
  }, 10);
});

s('one-pass statistics stay accurate: layerNorm of rows far from 0, softmax with masked (-1e30) entries', async () => {
  // x = 1e4 + noise: Σx² − (Σx)²/d would lose every digit of the variance in f32; Welford keeps them.
  const rows = 6, d = 52;
  const noise = randomValues(rows * d, 11);
  const x = noise.map((v, i) => 1e4 + Math.round(64 * (i % 3) * v) / 64); // exact in f32
  const masked = randomValues(4 * 12, 12).map((v, i) => (i % 5 === 1 || (i >= 36 && i !== 40) ? -1e30 : 4 * v));
  // Every row layout: real GPUs take the workgroup-per-row kernels, which lavapipe runs only when forced.
  for (const [rowLayout, variant] of [...layerNormVariants().map((v) => ['invocation', v]), ['workgroup', 'rows']]) {
    await withKernelVariant('DNER_ROWS', rowLayout, () => withKernelVariant('DNER_LAYERNORM', variant, () => checkAgainstReference(`one pass, rows ${rowLayout}, layerNorm ${variant}`, [{ shape: [rows, d], values: x }, { shape: [d] }, { shape: [d] }, { shape: [4, 12], values: masked }, { shape: [12, 4], values: masked }],
      (xt, gamma, beta, m, mt) => [T.layerNorm(xt, gamma, beta, 1e-5), T.softmax(m, -1), T.logSoftmax(m, -1), T.softmax(mt, 0)], { rtol: 2e-4, atol: 2e-4 })));
  }
});

s('lavapipe layerNorm: sharing γ, β across a subgroup changes no bit of y, mean or rstd', async () => {
  if (!webgpu || layerNormVariants().length < 2) return;
  const dev = webgpu;
  for (const [rows, d] of [[1, 4], [9, 36], [17, 256], [3, 1028]]) {
    const x = T.tensor(Float32Array.from(randomValues(rows * d, rows + d), (v) => 3 * v + 1), { shape: [rows, d], device: dev });
    const gamma = T.tensor(Float32Array.from(randomValues(d, 5)), { device: dev }), beta = T.tensor(Float32Array.from(randomValues(d, 6)), { device: dev });
    const run = (variant: string) => withKernelVariant('DNER_LAYERNORM', variant, async () => {
      const [y, mean, rstd] = [T.zeros([rows, d], { device: dev }), T.zeros([rows], { device: dev }), T.zeros([rows], { device: dev })];
      launchLayerNorm(dev, x, gamma, beta, y, mean, rstd, rows, d, 1e-5);
      return [...(await y.data()), ...(await mean.data()), ...(await rstd.data())];
    });
    const [plain, shared] = [await run('rows'), await run('subgroup')];
    const differ = plain.findIndex((v, i) => !Object.is(v, shared[i]));
    if (differ >= 0) throw new Error(`[${rows}, ${d}]: value ${differ} is ${plain[differ]} one row per invocation, ${shared[differ]} shared`);
  }
});

s('layerNorm matches its definition', async () => {
  const v = randomValues(24, 3);
  for (const dev of DEVICES) {
    const x = T.tensor(v, { shape: [4, 6], dtype: 'f32', device: dev });
    const gamma = T.ones([6], { device: dev }), beta = T.zeros([6], { device: dev });
    const y = await T.layerNorm(x, gamma, beta, 0).data();
    for (let r = 0; r < 4; r++) {
      const row = Array.from(y.slice(r * 6, r * 6 + 6));
      const m = row.reduce((a, b) => a + b) / 6, var_ = row.reduce((a, b) => a + (b - m) ** 2, 0) / 6;
      if (Math.abs(m) > 1e-5 || Math.abs(var_ - 1) > 1e-4) throw new Error(`${dev.name}: row ${r} mean ${m} var ${var_}`);
    }
  }
});

s.run();
