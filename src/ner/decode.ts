/**
 * From the K final proposals to entities, and strict scores (spec §1.7).
 * A proposal becomes a candidate when its type is not None, left <= right, the type probability is
 * above clsThreshold, a boundary probability is above boundaryThreshold, and
 * P^l_max + P^r_max + P_type > φ (2.5 in every official config). Candidates are kept greedily by that
 * sum: flat data drops any candidate sharing a word with a kept one; nested data drops only crossings.
 */

export interface Span { left: number; right: number; type: number }
export interface Candidate extends Span { score: number; leftScore: number; rightScore: number; typeScore: number }

export interface DecodeOptions {
  threshold?: number;
  clsThreshold?: number;
  boundaryThreshold?: number;
  mode: 'flat' | 'nested';
  /**
   * The paper's de-duplication (§4.3): of candidates with identical boundaries only the one with the
   * highest type probability stays. The official code does not do it (its `no_duplicate` is off); flat
   * filtering subsumes it.
   */
  dedupe?: boolean;
}

function argmax(a: ArrayLike<number>, from: number, n: number): [number, number] {
  let best = 0, v = a[from];
  for (let i = 1; i < n; i++) if (a[from + i] > v) { v = a[from + i]; best = i; }
  return [best, v];
}

/** One proposal read out: argmax boundaries and type, their probabilities, and what filtering did. */
export interface ProposalReadout extends Candidate {
  /** Passed the type / threshold / order tests. */
  candidate: boolean;
  /** Survived the flat or nested filtering (the final entities). */
  kept: boolean;
}

/**
 * Every proposal of one sentence: pl, pr (K x M) boundary probabilities over its real words only
 * (M = its length), probs (K x (C+1)) class probabilities.
 */
export function readProposals(pl: ArrayLike<number>, pr: ArrayLike<number>, probs: ArrayLike<number>, K: number, M: number, C1: number, o: DecodeOptions): ProposalReadout[] {
  // The official code adds and compares in float32, and in two different orders: the threshold test
  // sums left + right + type, the ranking key type + left + right. Near saturation (1 + 1 + 0.99999994)
  // float32 ties where float64 would not, and a tie keeps the lower proposal index first.
  const f32 = Math.fround;
  const phi = f32(o.threshold ?? 2.5), cls = f32(o.clsThreshold ?? 0), bnd = f32(o.boundaryThreshold ?? 0);
  const all: ProposalReadout[] = [];
  for (let k = 0; k < K; k++) {
    const [left, leftScore] = argmax(pl, k * M, M);
    const [right, rightScore] = argmax(pr, k * M, M);
    const [type, typeScore] = argmax(probs, k * C1, C1);
    const sum = f32(f32(leftScore + rightScore) + typeScore);
    const score = f32(f32(typeScore + leftScore) + rightScore);
    const candidate = type !== 0 && typeScore > cls && left <= right && (leftScore > bnd || rightScore > bnd) && sum > phi;
    all.push({ left, right, type, score, leftScore, rightScore, typeScore, candidate, kept: false });
  }
  const kept = new Set(filterCandidates(all.filter((p) => p.candidate), o.mode, o.dedupe));
  for (const p of all) p.kept = kept.has(p);
  return all;
}

/** The kept entities of one sentence, highest score first (see readProposals for the inputs). */
export function decodeSentence(pl: ArrayLike<number>, pr: ArrayLike<number>, probs: ArrayLike<number>, K: number, M: number, C1: number, o: DecodeOptions): Candidate[] {
  return filterCandidates(readProposals(pl, pr, probs, K, M, C1, o).filter((p) => p.candidate), o.mode, o.dedupe)
    .map(({ left, right, type, score, leftScore, rightScore, typeScore }) => ({ left, right, type, score, leftScore, rightScore, typeScore }));
}

export function overlaps(a: Span, b: Span): boolean {
  return a.left <= b.right && b.left <= a.right;
}

export function crosses(a: Span, b: Span): boolean {
  return (a.left < b.left && b.left <= a.right && a.right < b.right) || (b.left < a.left && a.left <= b.right && b.right < a.right);
}

/** Greedy by score (stable for ties): flat drops overlaps, nested drops crossings; `dedupe` first keeps one candidate per boundary pair. */
export function filterCandidates(cands: Candidate[], mode: 'flat' | 'nested', dedupe = false): Candidate[] {
  if (dedupe) {
    const best = new Map<string, Candidate>();
    for (const c of cands) {
      const key = `${c.left},${c.right}`, b = best.get(key);
      if (!b || c.typeScore > b.typeScore) best.set(key, c);
    }
    cands = cands.filter((c) => best.get(`${c.left},${c.right}`) === c);
  }
  const sorted = cands.map((c, i) => [c, i] as const).sort((x, y) => y[0].score - x[0].score || x[1] - y[1]).map(([c]) => c);
  const kept: Candidate[] = [];
  for (const c of sorted) {
    const clash = kept.some((k) => (mode === 'flat' ? overlaps(c, k) : crosses(c, k)));
    if (!clash) kept.push(c);
  }
  return kept;
}

export interface Scores { precision: number; recall: number; f1: number; tp: number; predicted: number; gold: number }

function prf(tp: number, predicted: number, gold: number): Scores {
  const precision = predicted ? (100 * tp) / predicted : 0, recall = gold ? (100 * tp) / gold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, predicted, gold };
}

/**
 * Strict micro P/R/F1 (×100) over sets of (sentence, left, right, type) (duplicates collapse), and the
 * same per type. `types` names the class indices 1..C.
 */
export function score(gold: Span[][], predicted: Span[][], types: readonly string[]): { micro: Scores; perType: Record<string, Scores> } {
  if (gold.length !== predicted.length) throw new Error(`score: ${gold.length} gold sentences but ${predicted.length} predicted`);
  const key = (b: number, s: Span) => `${b}:${s.left}:${s.right}:${s.type}`;
  const G = new Set<string>(), P = new Set<string>();
  gold.forEach((ss, b) => ss.forEach((s) => G.add(key(b, s))));
  predicted.forEach((ss, b) => ss.forEach((s) => P.add(key(b, s))));
  const per: Record<string, [number, number, number]> = {};
  const bump = (t: number, i: 0 | 1 | 2) => { const n = types[t - 1] ?? `type ${t}`; (per[n] ??= [0, 0, 0])[i]++; };
  let tp = 0;
  for (const k of P) { const t = Number(k.split(':')[3]); bump(t, 1); if (G.has(k)) { tp++; bump(t, 0); } }
  for (const k of G) bump(Number(k.split(':')[3]), 2);
  const perType: Record<string, Scores> = {};
  for (const [n, [a, p, g]] of Object.entries(per)) perType[n] = prf(a, p, g);
  return { micro: prf(tp, P.size, G.size), perType };
}
