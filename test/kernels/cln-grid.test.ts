/**
 * BOPN's fused CLN grid (src/kernels/cln-grid.ts, clnGrid in src/ops/cln-grid.ts) equals the composed ops it
 * replaces, add(mul(norm ⊗ scale), shift) then concat with two indexSelects, output and the gradients of
 * norm, scale, shift and both tables: on random shapes (odd widths take the scalar kernels, multiples of 4
 * the vec4 ones; ids include ones outside the tables), the cpu reference in f64 against the composed ops
 * in f64, and every device in f32 (webgpu in both row layouts) against both.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { assertClose, assertProperty, assertThrows, DEVICES, randomValues, withKernelVariant } from '../helpers.js';

const s = suite('CLN grid');

interface Case { B: number; n: number; H: number; K1: number; E1: number; K2: number; E2: number; seed: number }
type Inputs = [T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor];

/** Ids in [−1, K]: the ends are outside the table. */
const ids = (count: number, K: number, seed: number) => Int32Array.from(randomValues(count, seed, -1, K + 1), Math.floor);

function inputs(c: Case, dev: T.Device, dtype: 'f32' | 'f64', needGrad = [true, true, true, true, true]): Inputs {
  const f = (shape: number[], k: number, grad: boolean) => T.tensor(randomValues(shape.reduce((a, b) => a * b, 1), c.seed * 13 + k), { shape, device: dev, dtype, requiresGrad: grad });
  const i = (K: number, k: number) => T.tensor(ids(c.B * c.n * c.n, K, c.seed * 13 + k), { shape: [c.B, c.n, c.n], device: dev });
  const row = [c.B, c.n, c.H];
  return [f(row, 1, needGrad[0]), f(row, 2, needGrad[1]), f(row, 3, needGrad[2]), f([c.K1, c.E1], 4, needGrad[3]), i(c.K1, 5), f([c.K2, c.E2], 6, needGrad[4]), i(c.K2, 7)];
}

/** What clnGrid replaces in BOPN.forward. */
function composed(norm: T.Tensor, scale: T.Tensor, shift: T.Tensor, dist: T.Tensor, distance: T.Tensor, reg: T.Tensor, region: T.Tensor): T.Tensor {
  const v = T.add(T.mul(T.unsqueeze(norm, 2), T.unsqueeze(scale, 1)), T.unsqueeze(shift, 1));
  return T.concat([v, T.indexSelect(dist, 0, distance), T.indexSelect(reg, 0, region)], -1);
}

const WHAT = ['output', 'd norm', 'd scale', 'd shift', 'd distTable', 'd regionTable'];

/** The output and the gradients of the float inputs, for loss = Σ grid · r with a fixed random r. */
async function run(op: typeof composed, c: Case, dev: T.Device, dtype: 'f32' | 'f64'): Promise<ArrayLike<number>[]> {
  const xs = inputs(c, dev, dtype);
  const y = op(...xs);
  T.sum(T.mul(y, T.tensor(randomValues(y.size, c.seed + 99), { shape: y.shape, device: dev, dtype }))).backward();
  const out = await Promise.all([y, ...[0, 1, 2, 3, 5].map((k) => xs[k].grad!)].map((t) => t.data()));
  [y, ...xs].forEach((t) => { t.grad?.dispose(); t.dispose(); });
  return out;
}

const caseArb = fc.record({
  B: fc.integer({ min: 1, max: 3 }), n: fc.integer({ min: 1, max: 9 }), H: fc.integer({ min: 1, max: 13 }),
  K1: fc.integer({ min: 1, max: 6 }), E1: fc.integer({ min: 1, max: 7 }), K2: fc.integer({ min: 1, max: 3 }), E2: fc.integer({ min: 1, max: 7 }),
  seed: fc.integer({ min: 1, max: 1e5 }), vec4: fc.boolean(),
}).map(({ vec4, ...c }): Case => (vec4 ? { ...c, H: 4 * c.H, E1: 4 * c.E1, E2: 4 * c.E2 } : c));

s('on random shapes and ids the fused op equals the composed ops, output and every gradient: cpu f64, and every device in f32', async () => {
  await assertProperty([caseArb], async (c) => {
    const want = await run(composed, c, DEVICES[0], 'f64');
    const ref = await run(T.clnGrid, c, DEVICES[0], 'f64');
    ref.forEach((r, k) => assertClose(r, want[k], { rtol: 1e-12, atol: 1e-12 }, `${WHAT[k]}, cpu reference (f64) against the composed ops (${JSON.stringify(c)})`));
    for (const dev of DEVICES) {
      for (const rows of dev.kind === 'webgpu' ? ['invocation', 'workgroup'] : ['reference']) {
        const got = await withKernelVariant('DNER_ROWS', rows, () => run(T.clnGrid, c, dev, 'f32'));
        const where = `on ${dev.name}${dev.kind === 'webgpu' ? `, rows ${rows}` : ''} (f32, ${JSON.stringify(c)})`;
        got.forEach((g, k) => assertClose(g, ref[k], { rtol: 1e-4, atol: 1e-5 }, `${WHAT[k]} ${where} against the cpu reference`));
        const comp = await run(composed, c, dev, 'f32');
        got.forEach((g, k) => assertClose(g, comp[k], { rtol: 1e-4, atol: 1e-5 }, `${WHAT[k]} ${where} against the composed ops`));
      }
    }
  }, 20);
});

s('BOPN-like widths (H 64, tables of 20 and 3 rows of 20) on every device', async () => {
  const c: Case = { B: 2, n: 11, H: 64, K1: 20, E1: 20, K2: 3, E2: 20, seed: 7 };
  const ref = await run(composed, c, DEVICES[0], 'f64');
  for (const dev of DEVICES) {
    const got = await run(T.clnGrid, c, dev, 'f32');
    got.forEach((g, k) => assertClose(g, ref[k], { rtol: 1e-4, atol: 1e-4 }, `${WHAT[k]} on ${dev.name}`));
  }
});

s('only the inputs that need a gradient get one, and they equal the composed ops\'', async () => {
  const c: Case = { B: 2, n: 5, H: 8, K1: 4, E1: 4, K2: 3, E2: 4, seed: 3 };
  for (const dev of DEVICES) {
    for (const mask of [[false, false, true, false, false], [true, false, false, false, true], [false, true, false, true, false]]) {
      const grads = async (op: typeof composed) => {
        const xs = inputs(c, dev, 'f32', mask);
        const y = op(...xs);
        T.sum(T.mul(y, T.tensor(randomValues(y.size, 5), { shape: y.shape, device: dev, dtype: 'f32' }))).backward();
        return Promise.all([0, 1, 2, 3, 5].map((k) => xs[k].grad?.data() ?? null));
      };
      const [got, want] = [await grads(T.clnGrid), await grads(composed)];
      got.forEach((g, k) => {
        if ((g === null) !== (want[k] === null)) throw new Error(`${WHAT[k + 1]} on ${dev.name} with needs ${mask}: ${g === null ? 'missing' : 'present'}`);
        if (g && want[k]) assertClose(g, want[k]!, { rtol: 1e-5, atol: 1e-5 }, `${WHAT[k + 1]} on ${dev.name} with needs ${mask}`);
      });
    }
  }
});

s('bad shapes and dtypes are one-line errors naming the shapes', async () => {
  const f = (shape: number[]) => T.zeros(shape), i = (shape: number[]) => T.zeros(shape, { dtype: 'i32' });
  await assertThrows(() => T.clnGrid(f([2, 3, 4]), f([2, 3, 5]), f([2, 3, 4]), f([5, 2]), i([2, 3, 3]), f([3, 2]), i([2, 3, 3])),
    /clnGrid: norm \[2, 3, 4\], scale \[2, 3, 5\], shift \[2, 3, 4\] must all be \(B, n, H\)/);
  await assertThrows(() => T.clnGrid(f([2, 3, 4]), f([2, 3, 4]), f([2, 3, 4]), f([5, 2]), i([2, 3, 2]), f([3, 2]), i([2, 3, 3])),
    /clnGrid: distance \[2, 3, 2\] and region \[2, 3, 3\] must be \(B, n, n\) = \[2, 3, 3\]/);
  await assertThrows(() => T.clnGrid(f([2, 3, 4]), f([2, 3, 4]), f([2, 3, 4]), f([10]), i([2, 3, 3]), f([3, 2]), i([2, 3, 3])),
    /clnGrid: distTable \[10\] and regionTable \[3, 2\] must be \(rows, E\)/);
  await assertThrows(() => T.clnGrid(f([2, 3, 4]), f([2, 3, 4]), f([2, 3, 4]), f([5, 2]), f([2, 3, 3]), f([3, 2]), i([2, 3, 3])), /clnGrid: distance must be i32/);
});

s.run();
