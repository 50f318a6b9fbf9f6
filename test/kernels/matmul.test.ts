import * as fc from 'fast-check';
import { suite } from 'uvu';
import { launchMatmul, type MatmulDims, type MatmulPlan } from '../../src/kernels/matmul.js';
import * as T from '../../src/index.js';
import { assertClose, assertProperty, checkAgainstReference, randomValues, webgpu, withKernelVariant } from '../helpers.js';

const s = suite('matmul');

const dims = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  M: fc.integer({ min: 1, max: 70 }),
  N: fc.integer({ min: 1, max: 70 }),
  K: fc.integer({ min: 1, max: 70 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  broadcast: fc.constantFrom('none', 'a', 'b'),
  bias: fc.boolean(),
  act: fc.constantFrom('none', 'relu', 'gelu'),
  // Each dimension independently rounded up (M, N to 4, K to 4 or 8), so every mix of vec4 and scalar
  // operands occurs: the regblock kernel picks vec4 loads per operand.
  align: fc.record({ M: fc.boolean(), N: fc.boolean(), K: fc.constantFrom(0, 4, 8) }),
}).map((d) => ({
  ...d,
  M: d.align.M ? 4 * Math.ceil(d.M / 4) : d.M,
  N: d.align.N ? 4 * Math.ceil(d.N / 4) : d.N,
  K: d.align.K ? d.align.K * Math.ceil(d.K / d.align.K) : d.K,
}));

type Case = fc.Arbitrary<typeof dims extends fc.Arbitrary<infer X> ? X : never>;

s('the default variant on every device matches the f64 reference (batches, transposes, bias, activations)', async () => {
  await assertProperty([dims as Case, fc.integer({ min: 1, max: 1e6 })], async (d, seed) => {
    const aShape = d.transA ? [d.K, d.M] : [d.M, d.K];
    const bShape = d.transB ? [d.N, d.K] : [d.K, d.N];
    const inputs = [
      { shape: d.broadcast === 'a' ? aShape : [d.batch, ...aShape] },
      { shape: d.broadcast === 'b' ? bShape : [d.batch, ...bShape] },
      { shape: [d.N] },
    ];
    await checkAgainstReference('matmul', inputs, (a, b, bias) =>
      T.matmul(a, b, { transA: d.transA, transB: d.transB, bias: d.bias ? bias : null, act: d.act as 'none' }),
    { rtol: 1e-4, atol: 1e-4 }, seed);
  }, 12);
});

/** Every WGSL variant (and regblock tile configurations) against the cpu reference, including odd sizes. */
const plans: [string, MatmulPlan][] = [
  ['naive', { variant: 'naive' }],
  ['tiled 64x64', { variant: 'tiled', tiled: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } }],
  ['tiled 128x128', { variant: 'tiled', tiled: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 } }],
  ['tiled 32x32', { variant: 'tiled', tiled: { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 } }],
  ['tiled 32x64', { variant: 'tiled', tiled: { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 } }],
  ['regblock 4S x 1 x 4', { variant: 'regblock', regblock: { S: 0, TM: 4, TNV: 1, KS: 4 } }],
  ['regblock 2S x 2 x 8', { variant: 'regblock', regblock: { S: 0, TM: 2, TNV: 2, KS: 8 } }],
];

for (const [name, basePlan] of plans) {
  let plan = basePlan;
  s(`webgpu variant ${name} matches the cpu reference on random shapes`, async () => {
    if (!webgpu) return;
    const dev = webgpu;
    if (plan.variant === 'regblock') {
      // TM is given in multiples of the adapter's own subgroup size.
      const S = dev.backend.report.subgroupSize;
      if (!S || !dev.backend.hasSubgroups) return;
      const c = plan.regblock!;
      plan = { variant: 'regblock', regblock: { ...c, S, TM: c.TM * S } };
    }
    await assertProperty([dims as Case, fc.integer({ min: 1, max: 1e6 })], async (c, seed) => {
      const aStride = c.broadcast === 'a' ? 0 : c.M * c.K, bStride = c.broadcast === 'b' ? 0 : c.K * c.N;
      const d: MatmulDims = { batch: c.batch, M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, aStride, bStride, act: c.act as 'none' };
      const av = randomValues(aStride ? c.batch * aStride : c.M * c.K, seed);
      const bv = randomValues(bStride ? c.batch * bStride : c.K * c.N, seed + 1);
      const biasV = randomValues(c.N, seed + 2);
      const mk = (v: Float64Array, device: T.Device) => T.tensor(v, { dtype: 'f32', device });
      const out = T.Tensor.empty(dev, 'f32', [c.batch, c.M, c.N]);
      launchMatmul(dev, mk(av, dev), mk(bv, dev), c.bias ? mk(biasV, dev) : null, out, d, plan);
      const ref = new Float64Array(c.batch * c.M * c.N);
      const { cpuMatmul } = await import('../../src/kernels/matmul.js');
      cpuMatmul(av, bv, c.bias ? biasV : null, ref, d);
      assertClose(await out.data(), ref, { rtol: 1e-4, atol: 1e-4 }, `${name} ${JSON.stringify(c)}`);
    }, 5);
  });
}

s('K = 0 gives act(bias) in every webgpu variant and on the cpu (no first slab is loaded)', async () => {
  const bias = [0.5, -1, 2, 0, -3, 1, 4, -0.25];
  const want = Array.from({ length: 5 }, () => bias.map((v) => Math.max(v, 0))).flat();
  const devices: [string, T.Device, MatmulPlan | null][] = [['cpu', T.cpu, null], ...(webgpu ? plans.filter(([, p]) => p.variant !== 'regblock' || webgpu!.backend.hasSubgroups).map(([n, p]): [string, T.Device, MatmulPlan] => [n, webgpu!, p]) : [])];
  for (const [name, dev, basePlan] of devices) {
    const a = T.zeros([5, 0], { device: dev }), b = T.zeros([0, 8], { device: dev }), bt = T.tensor(bias, { device: dev });
    let got: ArrayLike<number>;
    if (dev.kind === 'webgpu' && basePlan) {
      const S = dev.backend.report.subgroupSize ?? 8;
      const plan = basePlan.variant === 'regblock' ? { variant: 'regblock' as const, regblock: { ...basePlan.regblock!, S, TM: basePlan.regblock!.TM * S } } : basePlan;
      const out = T.Tensor.empty(dev, 'f32', [1, 5, 8]);
      launchMatmul(dev, a, b, bt, out, { batch: 1, M: 5, N: 8, K: 0, transA: false, transB: false, aStride: 0, bStride: 0, act: 'relu' }, plan);
      got = await out.data();
    } else got = await T.matmul(a, b, { bias: bt, act: 'relu' }).data();
    assertClose(got, want, { rtol: 0, atol: 0 }, `${name}: K = 0`);
  }
});

s('an activation applied after the product is bitwise the fused epilogue (webgpu, every variant)', async () => {
  // Where the matmul has no activation epilogue (fusesActivation false: lavapipe's regblock), T.matmul
  // applies relu or gelu as an elementwise pass; the values must not change by a bit.
  if (!webgpu) return;
  const dev = webgpu, M = 37, N = 44, K = 29;
  const a = T.tensor(Float32Array.from(randomValues(M * K, 3)), { shape: [M, K], device: dev });
  const b = T.tensor(Float32Array.from(randomValues(N * K, 4)), { shape: [N, K], device: dev });
  const bias = T.tensor(Float32Array.from(randomValues(N, 5)), { shape: [N], device: dev });
  for (const act of ['relu', 'gelu'] as const) {
    for (const variant of ['regblock', 'tiled', 'naive']) await withKernelVariant('DNER_MATMUL', variant, async () => {
      if (variant === 'regblock' && !dev.backend.hasSubgroups) return;
      const fused = T.Tensor.empty(dev, 'f32', [1, M, N]);
      launchMatmul(dev, a, b, bias, fused, { batch: 1, M, N, K, transA: false, transB: true, aStride: M * K, bStride: N * K, act });
      const viaOp = await T.matmul(a, b, { transB: true, bias, act }).data();
      const want = await fused.data();
      const differing = viaOp.filter((v, i) => !Object.is(v, want[i])).length;
      if (differing) throw new Error(`${variant} ${act}: ${differing} of ${M * N} values differ from the fused epilogue`);
    });
  }
});

s('more row tiles or batches than one dispatch may have are split across dispatches (webgpu, every variant)', async () => {
  if (!webgpu) return;
  const dev = webgpu;
  const max = dev.backend.report.limits.maxComputeWorkgroupsPerDimension;
  // Rows: (max + 3) row tiles of the 32-row regblock and tiled tiles; batches: max + 2 products of 1 x 2 · 2 x 1.
  const rows = 32 * (max + 3), batch = max + 2;
  const a = T.tensor(Float32Array.from({ length: rows * 2 }, (_, i) => (i % 7) - 3), { shape: [rows, 2], device: dev });
  const w = T.tensor([1, 2, -1, 0.5], { shape: [2, 2], device: dev });
  const x = T.tensor(Float32Array.from({ length: batch * 2 }, (_, i) => (i % 5) - 2), { shape: [batch, 1, 2], device: dev });
  const y = T.tensor(Float32Array.from({ length: batch * 2 }, (_, i) => (i % 3) - 1), { shape: [batch, 2, 1], device: dev });
  for (const variant of ['regblock', 'tiled']) {
    if (variant === 'regblock' && !dev.backend.hasSubgroups) continue;
    const [tall, many] = await withKernelVariant('DNER_MATMUL', variant, async () => [await T.matmul(a, w).data(), await T.matmul(x, y).data()]);
    const av = await a.data(), xv = await x.data(), yv = await y.data();
    for (const r of [0, 31, 32 * max - 1, 32 * max, rows - 1]) {
      const want = [av[2 * r] * 1 + av[2 * r + 1] * -1, av[2 * r] * 2 + av[2 * r + 1] * 0.5];
      if (tall[2 * r] !== want[0] || tall[2 * r + 1] !== want[1]) throw new Error(`${variant}: row ${r} of ${rows} is ${tall[2 * r]}, ${tall[2 * r + 1]}, want ${want}`);
    }
    for (const bi of [0, max - 1, max, batch - 1]) {
      const want = xv[2 * bi] * yv[2 * bi] + xv[2 * bi + 1] * yv[2 * bi + 1];
      if (many[bi] !== want) throw new Error(`${variant}: batch ${bi} of ${batch} is ${many[bi]}, want ${want}`);
    }
  }
});

s('linear uses the Hugging Face [out, in] weight layout', async () => {
  await checkAgainstReference('linear', [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }], (x, w, b) => [
    T.linear(x, w, b),
    T.add(T.matmul(x, T.transpose(w)), b),
  ]);
});

s('batch dimensions broadcast like torch.matmul, unit batch dimensions included', () => {
  const shape = (a: number[], b: number[], o: T.MatmulOptions = {}) => T.matmul(T.zeros(a, { device: 'cpu' }), T.zeros(b, { device: 'cpu' }), o).shape.join();
  const cases: [number[], number[], string][] = [[[1, 3, 4], [4, 5], '1,3,5'], [[2, 3], [1, 3, 4], '1,2,4'], [[2, 3, 4], [4, 5], '2,3,5'], [[3, 4], [2, 4, 5], '2,3,5'], [[2, 1, 3, 4], [2, 1, 4, 6], '2,1,3,6']];
  for (const [a, b, want] of cases) if (shape(a, b) !== want) throw new Error(`[${a}] @ [${b}] gave [${shape(a, b)}], want [${want}]`);
  if (shape([1, 3, 4], [5, 4], { transB: true }) !== '1,3,5') throw new Error('linear on a unit batch');
});

s('shape errors name both operands', async () => {
  const a = T.zeros([2, 3], { device: 'cpu' }), b = T.zeros([4, 5], { device: 'cpu' });
  let msg = '';
  try { T.matmul(a, b); } catch (e) { msg = (e as Error).message; }
  if (!/inner dimensions differ: \[2, 3\] @ \[4, 5\]/.test(msg)) throw new Error(msg);
});

s.run();
