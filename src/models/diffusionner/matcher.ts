/**
 * Minimum-cost assignment (the Hungarian method with potentials, shortest augmenting paths, O(n² m)),
 * for rectangular and square cost matrices, as scipy.optimize.linear_sum_assignment: min(rows, cols)
 * pairs, returned sorted by row. Written from scratch (the official DiffusionNER calls scipy).
 */

export interface Assignment {
  rows: number[];
  cols: number[];
  cost: number;
}

/** cost: row-major rows x cols. */
export function linearSumAssignment(cost: ArrayLike<number>, rows: number, cols: number): Assignment {
  if (cost.length !== rows * cols) throw new Error(`linearSumAssignment: ${cost.length} costs for a ${rows} x ${cols} matrix`);
  for (let i = 0; i < cost.length; i++) {
    if (!Number.isFinite(cost[i])) throw new Error(`linearSumAssignment: cost[${Math.floor(i / cols)}][${i % cols}] is ${cost[i]}`);
  }
  if (rows === 0 || cols === 0) return { rows: [], cols: [], cost: 0 };
  // The algorithm assigns every row of an n x m matrix with n <= m; transpose otherwise.
  const transposed = rows > cols;
  const n = transposed ? cols : rows, m = transposed ? rows : cols;
  const a = (i: number, j: number) => (transposed ? cost[j * cols + i] : cost[i * cols + j]);
  const u = new Float64Array(n + 1), v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: row (1-based) matched to column j; 0 = none
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) { u[p[j]] += delta; v[j] -= delta; } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do { const j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0 !== 0);
  }
  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) {
    if (p[j] === 0) continue;
    pairs.push(transposed ? [j - 1, p[j] - 1] : [p[j] - 1, j - 1]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  let total = 0;
  for (const [r, c] of pairs) total += cost[r * cols + c];
  return { rows: pairs.map((x) => x[0]), cols: pairs.map((x) => x[1]), cost: total };
}
