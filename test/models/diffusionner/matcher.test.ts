import * as fc from 'fast-check';
import { suite } from 'uvu';
import { linearSumAssignment } from '../../../src/models/diffusionner/matcher.js';
import { assertProperty, assertThrows } from '../../helpers.js';

const s = suite('Hungarian matcher');

/** Minimum over every injective assignment of min(rows, cols) pairs, by enumeration. */
function bruteForce(cost: number[], rows: number, cols: number): number {
  let best = Infinity;
  const usedCols = new Array(cols).fill(false), usedRows = new Array(rows).fill(false);
  const k = Math.min(rows, cols);
  const rec = (count: number, startRow: number, acc: number) => {
    if (count === k) { best = Math.min(best, acc); return; }
    for (let i = startRow; i < rows; i++) {
      if (usedRows[i]) continue;
      usedRows[i] = true;
      for (let j = 0; j < cols; j++) {
        if (usedCols[j]) continue;
        usedCols[j] = true;
        rec(count + 1, i + 1, acc + cost[i * cols + j]);
        usedCols[j] = false;
      }
      usedRows[i] = false;
      if (rows > cols) continue; // with more rows than columns some rows stay unmatched
      break; // rows <= cols: every row is matched, in order
    }
  };
  rec(0, 0, 0);
  return best;
}

const matrix = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.boolean()).chain(([r, c, ties]) =>
  fc.tuple(fc.constant(r), fc.constant(c), fc.array(ties ? fc.integer({ min: 0, max: 3 }) : fc.double({ min: -10, max: 10, noNaN: true }), { minLength: r * c, maxLength: r * c })));

s('optimal cost equals brute force on random rectangular and square matrices (with and without ties)', async () => {
  await assertProperty([matrix], async ([r, c, cost]) => {
    const a = linearSumAssignment(cost, r, c);
    const k = Math.min(r, c);
    if (a.rows.length !== k || new Set(a.rows).size !== k || new Set(a.cols).size !== k) throw new Error(`not a matching: ${JSON.stringify(a)}`);
    if (a.rows.some((x, i) => i > 0 && x <= a.rows[i - 1])) throw new Error('rows not sorted');
    const best = bruteForce(cost, r, c);
    if (Math.abs(a.cost - best) > 1e-9) throw new Error(`${r}x${c}: cost ${a.cost}, brute force ${best}`);
  }, 300);
});

s('a 60 x 60 problem (DiffusionNER size) is a permutation no worse than 200 random permutations', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 60, cost = Array.from({ length: n * n }, rnd);
  const a = linearSumAssignment(cost, n, n);
  if (new Set(a.cols).size !== n) throw new Error('not a permutation');
  for (let t = 0; t < 200; t++) {
    const perm = Array.from({ length: n }, (_, i) => i).sort(() => rnd() - 0.5);
    const c = perm.reduce((acc, j, i) => acc + cost[i * n + j], 0);
    if (c < a.cost - 1e-9) throw new Error(`a random permutation (${c}) beat the matcher (${a.cost})`);
  }
});

s('bad input is rejected clearly', async () => {
  await assertThrows(() => linearSumAssignment([1, 2, 3], 2, 2), /3 costs for a 2 x 2 matrix/);
  await assertThrows(() => linearSumAssignment([1, NaN], 1, 2), /cost\[0\]\[1\] is NaN/);
  const empty = linearSumAssignment([], 0, 3);
  if (empty.rows.length !== 0) throw new Error('empty');
});

s.run();
