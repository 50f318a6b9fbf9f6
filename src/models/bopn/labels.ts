/**
 * BOPN's offset-label grid (heads-notes §1.1 item 7): for each type y, an n × n grid over (start, end)
 * word pairs. An entity (a, b) (inclusive) puts `c:0` at (a, b); then the cells a few words away teach
 * the offsets back to it: `s:w` at (a + w, b) (its start is w words off) and `e:w` at (a, b + w) (its end
 * is), for w = −1, −2, …, −S, then 1, 2, …, S, each start cell before the end cell of the same w. Every
 * label is mirrored to the transposed cell. A start cell must stay within the sentence and at or before
 * the end (a + w in 0..b); an end cell at or after the start and within the sentence (b + w in a..n − 1).
 * A cell already labelled keeps its label unless the new offset is strictly closer (|w| < |its offset|;
 * `c:0` is never replaced), and each w is tried on its own. Centres are all placed first; then each
 * entity's offsets, in order of (type, start, end), as the official code visits them (only the
 * upper-triangle centre of each pair).
 */

/** The label names: `none`, `c:0`, then `s:−S`..`s:S` and `e:−S`..`e:S` without 0 (L = 4S + 2). */
export function offsetLabels(S: number): string[] {
  const ws = [...Array.from({ length: S }, (_, i) => i - S), ...Array.from({ length: S }, (_, i) => i + 1)];
  return ['none', 'c:0', ...ws.map((w) => `s:${w}`), ...ws.map((w) => `e:${w}`)];
}

export interface GridEntity { start: number; end: number; type: number }

/**
 * The label grid (M, n, n) of label indices into offsetLabels(S), for entities with inclusive word spans
 * and type indices 0..M−1.
 */
export function labelGrid(n: number, entities: readonly GridEntity[], M: number, S: number): Int32Array {
  const names = offsetLabels(S), id = new Map(names.map((l, i) => [l, i]));
  const offset = names.map((l) => (l === 'none' ? Infinity : Math.abs(Number(l.split(':')[1]))));
  const grid = new Int32Array(M * n * n);
  const at = (y: number, i: number, j: number) => (y * n + i) * n + j;
  const put = (y: number, i: number, j: number, label: number) => { grid[at(y, i, j)] = label; grid[at(y, j, i)] = label; };
  for (const e of entities) {
    if (!(e.type >= 0 && e.type < M && e.start >= 0 && e.start <= e.end && e.end < n)) throw new Error(`labelGrid: entity ${JSON.stringify(e)} does not fit ${n} words and ${M} types`);
    put(e.type, e.start, e.end, id.get('c:0')!);
  }
  const centres = [...new Set(entities.map((e) => `${e.type},${e.start},${e.end}`))].map((k) => k.split(',').map(Number)).sort((p, q) => p[0] - q[0] || p[1] - q[1] || p[2] - q[2]);
  // A label takes a cell that is free or holds a strictly farther offset.
  const tryPut = (y: number, i: number, j: number, name: string, w: number) => {
    if (offset[grid[at(y, i, j)]] <= Math.abs(w)) return;
    put(y, i, j, id.get(name)!);
  };
  for (const [y, a, b] of centres) {
    const ws = [...Array.from({ length: S }, (_, i) => -(i + 1)), ...Array.from({ length: S }, (_, i) => i + 1)];
    for (const w of ws) {
      if (a + w >= 0 && a + w <= b) tryPut(y, a + w, b, `s:${w}`, w);
      if (b + w >= a && b + w < n) tryPut(y, a, b + w, `e:${w}`, w);
    }
  }
  return grid;
}
