/**
 * An epoch's order of training sentences, optionally length-bucketed (train.lengthBuckets): sentences
 * of like length share a batch, so a batch pads less, while the order of the batches stays random.
 * The loop takes batches as consecutive slices of `batch` from this order; evaluation batching is not
 * affected.
 */
import type { RNG } from '../../tensor/random.js';

/**
 * The indices 0..lengths.length-1 in the order one epoch trains them. `lengthBuckets` 0: one shuffle with
 * `rng` (the trainer's order without bucketing, rng calls included). N > 0: the shuffled indices are cut
 * into pools of N·batch, each pool is sorted by length (stably) and cut into batches of `batch`, and the
 * batches are shuffled with `rng`.
 *
 * Only one batch may be partial, and it must come last: the loop slices the order every `batch` indices,
 * so a short batch in the middle would shift every later batch across pool boundaries. A pool holds a
 * whole number of batches, so only the final pool can be short and only its last batch partial; that
 * batch is kept out of the shuffle and placed last. The epoch has ceil(n / batch) batches, as without
 * bucketing, so the schedule's step count is unchanged.
 */
export function epochOrder(lengths: readonly number[], batch: number, lengthBuckets: number, rng: RNG): number[] {
  const shuffled = rng.shuffle(lengths.map((_, i) => i));
  if (lengthBuckets <= 0) return shuffled;
  const pool = lengthBuckets * batch;
  const batches: number[][] = [];
  for (let p = 0; p < shuffled.length; p += pool) {
    // Array.prototype.sort is stable: equal lengths keep their shuffled order.
    const sorted = shuffled.slice(p, p + pool).sort((a, b) => lengths[a] - lengths[b]);
    for (let b = 0; b < sorted.length; b += batch) batches.push(sorted.slice(b, b + batch));
  }
  const partial = batches.length && batches[batches.length - 1].length < batch ? batches.pop()! : [];
  return [...rng.shuffle(batches).flat(), ...partial];
}
