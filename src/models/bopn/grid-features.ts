/**
 * The word-pair features BOPN's grid embeds beside the conditional-layer-norm vectors (heads-notes §1.1
 * item 3): a distance bucket and a region, for start word i and end word j of an n-word sentence.
 *   distance d = i − j: |d| in buckets 1, 2–3, 4–7, …, 128–255, 256+ (ids 1..9), +9 when d < 0 (10..18),
 *            and 19 on the diagonal: 20 ids.
 *   region   2 in the upper triangle and on the diagonal (i ≤ j), 1 below it, 0 for padding.
 */
export const DISTANCE_IDS = 20;
export const REGION_IDS = 3;

/** The bucket of a positive distance: 1 for 1, 2 for 2–3, 3 for 4–7, … 9 for 256 and more. */
function bucket(d: number): number {
  return Math.min(9, Math.floor(Math.log2(d)) + 1);
}

export function distanceId(i: number, j: number): number {
  const d = i - j;
  if (d === 0) return 19;
  return d > 0 ? bucket(d) : bucket(-d) + 9;
}

/** Distance and region ids (B, N, N) for sentences of the given lengths padded to N words. */
export function gridFeatures(lengths: readonly number[], N: number): { distance: Int32Array; region: Int32Array } {
  const distance = new Int32Array(lengths.length * N * N), region = new Int32Array(lengths.length * N * N);
  lengths.forEach((n, b) => {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const k = (b * N + i) * N + j;
      distance[k] = distanceId(i, j);
      region[k] = i <= j ? 2 : 1;
    }
  });
  return { distance, region };
}
