/**
 * Grid models (BOPN, BINDER) hold tensors over every word pair of a batch, (B, n, n, width): a batch whose
 * widest such tensor would not fit the largest buffer a kernel can bind is split into parts, in order,
 * each small enough. These are the two halves of that: how many cells fit, and the grouping.
 */
import { type Device, largestTensorBytes } from '../tensor/device.js';

/** The most word-pair cells (B·n²) whose widest tensor (`width` values a cell, f32 or f64) one kernel can bind. */
export function cellsThatFit(device: Device, width: number, dtype: 'f32' | 'f64' | string): number {
  return Math.max(1, Math.floor(largestTensorBytes(device) / ((dtype === 'f64' ? 8 : 4) * width)));
}

/**
 * Consecutive groups of the sentences, each holding at most `budget` cells (count · (longest + extra)²,
 * `extra` positions before the words, e.g. a [CLS] row), unless one sentence alone holds more.
 */
export function groupByCells<S extends { tokens: readonly unknown[] }>(sentences: readonly S[], budget: number, extra = 0): S[][] {
  const groups: S[][] = [];
  let group: S[] = [], longest = 0;
  for (const s of sentences) {
    const len = Math.max(s.tokens.length, 1), n = Math.max(longest, len) + extra;
    if (group.length && (group.length + 1) * n * n > budget) { groups.push(group); group = []; longest = 0; }
    group.push(s);
    longest = Math.max(longest, len);
  }
  if (group.length) groups.push(group);
  return groups;
}
