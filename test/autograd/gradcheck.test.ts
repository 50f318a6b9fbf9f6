/**
 * Every differentiable op: analytic gradients against central finite differences in f64 on the cpu
 * device (over random shapes), and webgpu gradients against cpu gradients.
 */
import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { assertClose, assertProperty, DEVICES, randomValues, shapeArb } from '../helpers.js';

type Shape = number[];
interface Input { shape: Shape; lo?: number; hi?: number; int?: number[]; constant?: boolean }
interface Case { name: string; inputs: (sh: Shape) => Input[]; f: (sh: Shape, ...xs: T.Tensor[]) => T.Tensor }

const last = (sh: Shape) => sh[sh.length - 1];
const u = (shape: Shape, lo = -2, hi = 2): Input => ({ shape, lo, hi });

const unaryCases: [string, (x: T.Tensor) => T.Tensor, number, number][] = [
  ['neg', T.neg, -2, 2], ['abs', T.abs, 0.2, 2], ['exp', T.exp, -2, 2], ['log', T.log, 0.2, 3],
  ['sqrt', T.sqrt, 0.2, 3], ['rsqrt', T.rsqrt, 0.2, 3], ['reciprocal', T.reciprocal, 0.5, 3],
  ['square', T.square, -2, 2], ['sin', T.sin, -3, 3], ['cos', T.cos, -3, 3], ['tanh', T.tanh, -2, 2],
  ['sigmoid', T.sigmoid, -4, 4], ['relu', T.relu, 0.1, 2], ['gelu', T.gelu, -3, 3], ['erf', T.erf, -2, 2],
  ['clamp', (x) => T.clamp(x, -0.5, 0.5), -0.45, 0.45], ['affine', (x) => T.affine(x, -1.5, 0.3), -2, 2],
  ['powScalar', (x) => T.pow(x, 2.5), 0.2, 2], ['divScalar', (x) => T.div(x, 1.7), -2, 2],
];

const CASES: Case[] = [
  ...unaryCases.map(([name, f, lo, hi]): Case => ({ name, inputs: (sh) => [u(sh, lo, hi)], f: (_sh, x) => f(x) })),
  { name: 'add (broadcast)', inputs: (sh) => [u(sh), u([last(sh)])], f: (_s, a, b) => T.add(a, b) },
  { name: 'sub (broadcast)', inputs: (sh) => [u([1, ...sh.slice(1)]), u(sh)], f: (_s, a, b) => T.sub(a, b) },
  { name: 'mul (broadcast)', inputs: (sh) => [u(sh), u([...sh.slice(0, -1), 1])], f: (_s, a, b) => T.mul(a, b) },
  { name: 'div (broadcast)', inputs: (sh) => [u(sh), u([last(sh)], 0.5, 2)], f: (_s, a, b) => T.div(a, b) },
  { name: 'pow', inputs: (sh) => [u(sh, 0.3, 2), u(sh, -1, 2)], f: (_s, a, b) => T.pow(a, b) },
  { name: 'maximum', inputs: (sh) => [u(sh), u(sh)], f: (_s, a, b) => T.maximum(a, b) },
  { name: 'minimum', inputs: (sh) => [u(sh), u(sh)], f: (_s, a, b) => T.minimum(a, b) },
  { name: 'where', inputs: (sh) => [{ ...u(sh), constant: true }, u(sh), u([last(sh)])], f: (_s, c, a, b) => T.where(T.gt(c, 0), a, b) },
  { name: 'binaryCrossEntropy', inputs: (sh) => [u(sh, 0.1, 0.9), { ...u(sh, 0, 1), constant: true }], f: (_s, p, y) => T.binaryCrossEntropy(p, y) },
  { name: 'reshape', inputs: (sh) => [u(sh)], f: (_s, x) => T.reshape(x, [-1]) },
  { name: 'permute', inputs: (sh) => [u(sh)], f: (sh, x) => T.permute(x, sh.map((_, i) => sh.length - 1 - i)) },
  { name: 'slice', inputs: (sh) => [u([...sh.slice(0, -1), last(sh) + 3])], f: (_s, x) => T.slice(x, -1, 1, undefined, 2) },
  { name: 'concat', inputs: (sh) => [u(sh), u(sh)], f: (_s, a, b) => T.concat([a, b, a], 0) },
  { name: 'expand', inputs: (sh) => [u([1, ...sh.slice(1)])], f: (sh, x) => T.expand(x, [3, ...sh.slice(1)]) },
  { name: 'clone', inputs: (sh) => [u(sh)], f: (_s, x) => T.clone(x) },
  { name: 'sum', inputs: (sh) => [u(sh)], f: (_s, x) => T.sum(x, 0) },
  { name: 'sum all', inputs: (sh) => [u(sh)], f: (_s, x) => T.sum(x) },
  { name: 'mean', inputs: (sh) => [u(sh)], f: (_s, x) => T.mean(x, -1, true) },
  { name: 'max', inputs: (sh) => [u(sh)], f: (_s, x) => T.max(x, -1) },
  { name: 'min', inputs: (sh) => [u(sh)], f: (_s, x) => T.min(x, 0, true) },
  { name: 'softmax', inputs: (sh) => [u(sh)], f: (_s, x) => T.softmax(x, -1) },
  { name: 'logSoftmax', inputs: (sh) => [u(sh)], f: (_s, x) => T.logSoftmax(x, 0) },
  { name: 'layerNorm', inputs: (sh) => [u(sh), u([last(sh)]), u([last(sh)])], f: (_s, x, g, b) => T.layerNorm(x, g, b) },
  ...(['nn', 'tn', 'nt', 'tt'] as const).map((t): Case => ({
    name: `matmul ${t} + bias`,
    inputs: (sh) => {
      const [M, K, N] = [sh[0], last(sh) + 1, (sh[1] ?? 2) + 1];
      return [u(t[0] === 't' ? [K, M] : [M, K]), u(t[1] === 't' ? [N, K] : [K, N]), u([N])];
    },
    f: (_s, a, b, bias) => T.matmul(a, b, { transA: t[0] === 't', transB: t[1] === 't', bias }),
  })),
  { name: 'matmul batched, broadcast b, relu', inputs: (sh) => [u([2, sh[0], 3]), u([3, 4])], f: (_s, a, b) => T.matmul(a, b, { act: 'relu' }) },
  { name: 'matmul gelu', inputs: (sh) => [u([sh[0], 3]), u([4, 3])], f: (_s, a, b) => T.matmul(a, b, { transB: true, act: 'gelu' }) },
  {
    name: 'indexSelect', inputs: (sh) => [u(sh), { shape: [5], int: [0, sh[0] - 1, 0, 1 % sh[0], 0] }],
    f: (_s, x, i) => T.indexSelect(x, 0, i),
  },
  {
    name: 'indexAdd', inputs: (sh) => [u(sh), { shape: [3], int: [0, sh[0] - 1, 0] }, u([3, ...sh.slice(1)])],
    f: (_s, x, i, src) => T.indexAdd(x, 0, i, src),
  },
  {
    name: 'clnGrid',
    inputs: (sh) => {
      const [B, n, H] = [sh[0], sh[1] ?? 2, sh[2] ?? 3], cells = B * n * n;
      const ids = (K: number) => ({ shape: [B, n, n], int: Array.from({ length: cells }, (_, k) => ((k * 5) % (K + 2)) - 1) }); // −1 and K read zeros
      return [u([B, n, H]), u([B, n, H]), u([B, n, H]), u([4, 3]), ids(4), u([2, 2]), ids(2)];
    },
    f: (_s, ...xs) => T.clnGrid(...(xs as [T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor])),
  },
];

function makeInputs(inputs: Input[], device: T.Device, dtype: 'f32' | 'f64', seed: number): T.Tensor[] {
  return inputs.map((inp, k) => {
    if (inp.int) return T.tensor(Int32Array.from(inp.int), { shape: inp.shape, device });
    const n = inp.shape.reduce((a, b) => a * b, 1);
    return T.tensor(randomValues(n, seed * 31 + k, inp.lo, inp.hi), { shape: inp.shape, dtype, device, requiresGrad: !inp.constant });
  });
}

/** loss = sum(f(x) * w) with fixed random w, so every output element's gradient path is exercised. */
function lossOf(c: Case, sh: Shape, xs: T.Tensor[], seed: number): T.Tensor {
  const y = c.f(sh, ...xs);
  const w = T.tensor(randomValues(y.size, seed + 99), { shape: y.shape, dtype: y.dtype, device: y.device });
  return T.sum(T.mul(y, w));
}

const s = suite('gradients');
const smallShape = shapeArb(1, 3, 4);

for (const c of CASES) {
  s(`${c.name}: backward equals central finite differences (f64, cpu)`, async () => {
    await assertProperty([smallShape, fc.integer({ min: 1, max: 1e5 })], async (sh, seed) => {
      const xs = makeInputs(c.inputs(sh), T.cpu, 'f64', seed);
      lossOf(c, sh, xs, seed).backward();
      const eps = 1e-6;
      for (const [k, x] of xs.entries()) {
        if (!x.requiresGrad) continue;
        if (!x.grad) throw new Error(`input ${k} got no gradient`);
        const fd = new Float64Array(x.size);
        const a = x.array;
        T.noGrad(() => {
          for (let j = 0; j < x.size; j++) {
            const keep = a[j];
            a[j] = keep + eps; const lp = lossOf(c, sh, xs, seed).array[0];
            a[j] = keep - eps; const lm = lossOf(c, sh, xs, seed).array[0];
            a[j] = keep;
            fd[j] = (lp - lm) / (2 * eps);
          }
        });
        assertClose(x.grad.array, fd, { rtol: 1e-5, atol: 1e-6 }, `d/d input ${k} (shape ${sh})`);
      }
    }, 4);
  });
}

s('webgpu gradients equal cpu gradients for every op, over random shapes (odd sizes, up to 3 dimensions of 11)', async () => {
  const gpu = DEVICES.find((d) => d.kind === 'webgpu');
  if (!gpu) return;
  for (const c of CASES) {
    await assertProperty([shapeArb(1, 3, 11), fc.integer({ min: 1, max: 1e5 })], async (sh, seed) => {
      const grads: Float32Array[][] = [];
      for (const dev of [T.cpu, gpu]) {
        const xs = makeInputs(c.inputs(sh), dev, 'f32', seed);
        lossOf(c, sh, xs, seed).backward();
        grads.push(await Promise.all(xs.filter((x) => x.requiresGrad).map(async (x) => (await x.grad!.data()) as Float32Array)));
        xs.forEach((x) => x.dispose());
      }
      grads[0].forEach((g, k) => assertClose(grads[1][k], g, { rtol: 2e-4, atol: 2e-5 }, `${c.name} input ${k} (shape ${sh})`));
    }, 3);
  }
});

s.run();
