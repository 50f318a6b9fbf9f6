/**
 * DiffusionNER's matcher cost and losses (spec §1.6).
 *   cost C[i, j] = w_b (−P^l_i[l_j] − P^r_i[r_j]) + w_c (−softmax(logits_i)[c_j]), Hungarian per sentence
 *   class loss: mean over all B·K proposals of w_y · −log softmax(logits)[y], y = matched type or 0 (None),
 *               w_0 = N_match / (B·K − N_match) (1 when every proposal is matched), other weights 1
 *   boundary loss: Σ over matched pairs and real words of BCE(P^l, onehot(l)) + BCE(P^r, onehot(r)), / N_match
 */
import * as T from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GoldSpan } from '../../ner/spans.js';

export type { GoldSpan } from '../../ner/spans.js';
import { linearSumAssignment } from './matcher.js';


export interface Match {
  /** Proposal index (within the sentence) and gold row index, per matched pair. */
  proposals: number[];
  golds: number[];
}

/**
 * Matches each sentence's K proposals to its gold rows from host copies of the outputs:
 *   pl, pr (B, K, M) boundary probabilities, probs (B, K, C+1) class probabilities.
 */
export function matchProposals(pl: ArrayLike<number>, pr: ArrayLike<number>, probs: ArrayLike<number>, gold: GoldSpan[][],
  K: number, M: number, C1: number, wBoundary = 1, wClass = 1): Match[] {
  return gold.map((g, b) => {
    if (g.length === 0) return { proposals: [], golds: [] };
    const cost = new Float64Array(K * g.length);
    for (let i = 0; i < K; i++) {
      const row = (b * K + i);
      g.forEach((t, j) => {
        cost[i * g.length + j] = wBoundary * (-pl[row * M + t.left] - pr[row * M + t.right]) + wClass * -probs[row * C1 + t.type];
      });
    }
    const a = linearSumAssignment(cost, K, g.length);
    return { proposals: a.rows, golds: a.cols };
  });
}

export interface LossParts { classification: Tensor; boundary: Tensor; matched: number }

/**
 * logits (B, K, C+1); pl, pr (B, K, M) probabilities; wordMask (B, M); matches from matchProposals.
 * Returns both loss terms (scalars, differentiable) and N_match.
 */
export function diffusionNerLosses(logits: Tensor, pl: Tensor, pr: Tensor, wordMask: Tensor, gold: GoldSpan[][], matches: Match[]): LossParts {
  const [B, K, C1] = logits.shape, M = pl.shape[2];
  const dev = logits.device, f = logits.dtype === 'f64' ? 'f64' : 'f32';
  const target = new Int32Array(B * K);
  const rows: number[] = [], lefts: number[] = [], rights: number[] = [], sentence: number[] = [];
  matches.forEach((m, b) => m.proposals.forEach((i, n) => {
    const g = gold[b][m.golds[n]];
    target[b * K + i] = g.type;
    rows.push(b * K + i); lefts.push(g.left); rights.push(g.right); sentence.push(b);
  }));
  const matched = rows.length;
  const unmatched = B * K - matched;
  const w0 = unmatched > 0 ? matched / unmatched : 1;
  const oneHot = new Float32Array(B * K * C1), weight = new Float32Array(B * K);
  target.forEach((y, r) => { oneHot[r * C1 + y] = 1; weight[r] = y === 0 ? w0 : 1; });
  const logp = T.logSoftmax(T.reshape(logits, [B * K, C1]), -1);
  const nll = T.neg(T.sum(T.mul(logp, T.tensor(oneHot, { shape: [B * K, C1], device: dev, dtype: f })), -1));
  const classification = T.mean(T.mul(nll, T.tensor(weight, { device: dev, dtype: f })));
  if (matched === 0) return { classification, boundary: T.zeros([], { device: dev, dtype: f }), matched };
  const idx = T.tensor(Int32Array.from(rows), { device: dev });
  const masks = T.indexSelect(wordMask, 0, T.tensor(Int32Array.from(sentence), { device: dev }));
  const side = (p: Tensor, at: number[]) => {
    const oh = new Float32Array(matched * M);
    at.forEach((pos, n) => { oh[n * M + pos] = 1; });
    const bce = T.binaryCrossEntropy(T.indexSelect(T.reshape(p, [B * K, M]), 0, idx), T.tensor(oh, { shape: [matched, M], device: dev, dtype: f }));
    return T.sum(T.mul(bce, masks));
  };
  const boundary = T.affine(T.add(side(pl, lefts), side(pr, rights)), 1 / matched);
  return { classification, boundary, matched };
}
