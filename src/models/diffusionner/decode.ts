/**
 * From the K final proposals to entities (spec §1.7).
 * A proposal becomes a candidate when its type is not None, left <= right, the type probability is
 * above clsThreshold, a boundary probability is above boundaryThreshold, and
 * P^l_max + P^r_max + P_type > φ (2.5 in every official config). Candidates are kept greedily by that
 * sum: flat data drops any candidate sharing a word with a kept one; nested data drops only crossings.
 */
import { type Candidate, type FilterMode, filterCandidates } from '../../ner/spans.js';
import { SAMPLING_DEFAULTS } from './sampling.js';

export interface DecodeOptions {
  threshold?: number;
  clsThreshold?: number;
  boundaryThreshold?: number;
  mode: FilterMode;
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
  const phi = f32(o.threshold ?? SAMPLING_DEFAULTS.threshold), cls = f32(o.clsThreshold ?? 0), bnd = f32(o.boundaryThreshold ?? 0);
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

