/** Edit distances and the nearest of some known names: for "did you mean" in flag and config errors. */

/** Levenshtein distance; with `transpositions`, swapping two neighbours counts one edit (trian → train). */
export function editDistance(a: string, b: string, transpositions = false): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (transpositions && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], before[j - 2] + 1);
    }
    [before, prev] = [prev, cur];
  }
  return prev[b.length];
}

/**
 * The known name a misspelt one most likely meant, or undefined when none is close. Case and `_`/`-` are
 * ignored (max_steps, MaxSteps mean maxSteps); a short name allows fewer edits, so `xy` does not suggest `lr`.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const n = norm(name);
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    // More than 2 apart in length is never close; skipping it also keeps a huge key cheap.
    if (Math.abs(n.length - norm(k).length) > 2) continue;
    const d = editDistance(n, norm(k), true);
    if (d <= Math.max(1, Math.min(2, Math.floor(k.length / 3))) && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}
