import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { diffusionNerLosses, matchProposals } from '../../../src/models/diffusionner/criterion.js';
import { crosses, filterCandidates, overlaps, type Candidate } from '../../../src/ner/spans.js';
import { score } from '../../../src/ner/metrics.js';
import { decodeSentence } from '../../../src/models/diffusionner/decode.js';
import { assertClose, assertProperty, DEVICES, randomValues } from '../../helpers.js';

const s = suite('losses, matching, decoding, scores');

s('binary cross-entropy: torch values, −100 log clamp, torch gradient (p − y)/max(p(1 − p), 1e−12)', async () => {
  for (const dev of DEVICES) {
    const p = T.tensor([0.2, 0.9, 0, 1, 0.5], { device: dev, requiresGrad: true });
    const y = T.tensor([1, 0, 1, 1, 0], { device: dev });
    const l = T.binaryCrossEntropy(p, y);
    assertClose(await l.data(), [-Math.log(0.2), -Math.log(0.1), 100, 0, Math.log(2)], { rtol: 1e-6, atol: 1e-5 }, `${dev.name} values`);
    T.sum(l).backward();
    assertClose(await p.grad!.data(), [(0.2 - 1) / 0.16, 0.9 / 0.09, -1 / 1e-12, 0, 0.5 / 0.25], { rtol: 1e-5, atol: 1e-5 }, `${dev.name} grad`);
  }
});

s('class and boundary losses equal the spec written out by hand (f64), and matching pairs every proposal', async () => {
  const B = 2, K = 3, M = 4, C1 = 3;
  const logitsV = randomValues(B * K * C1, 3), plV = randomValues(B * K * M, 4, 0.01, 0.99), prV = randomValues(B * K * M, 5, 0.01, 0.99);
  const mask = [1, 1, 1, 0, 1, 1, 1, 1];
  const gold = [[{ left: 0, right: 1, type: 2 }, { left: 2, right: 2, type: 1 }, { left: 0, right: 1, type: 2 }], []];
  const probs = new Float64Array(B * K * C1);
  for (let r = 0; r < B * K; r++) {
    const row = Array.from(logitsV.slice(r * C1, r * C1 + C1)), mx = Math.max(...row), z = row.reduce((a, v) => a + Math.exp(v - mx), 0);
    row.forEach((v, c) => { probs[r * C1 + c] = Math.exp(v - mx) / z; });
  }
  const matches = matchProposals(plV, prV, probs, gold, K, M, C1);
  if (matches[0].proposals.length !== 3 || matches[1].proposals.length !== 0) throw new Error('matching');
  // By hand: targets, w0 = 3 / 3 = 1, CE mean over 6; BCE sums over matched rows and real words / 3.
  const y = new Array(B * K).fill(0);
  matches[0].proposals.forEach((i, n) => { y[i] = gold[0][matches[0].golds[n]].type; });
  let ce = 0;
  y.forEach((t, r) => { ce += -Math.log(probs[r * C1 + t]) * (t === 0 ? 3 / 3 : 1); });
  ce /= B * K;
  let bce = 0;
  matches[0].proposals.forEach((i, n) => {
    const g = gold[0][matches[0].golds[n]];
    for (let j = 0; j < M; j++) {
      if (!mask[j]) continue;
      for (const [pv, at] of [[plV, g.left], [prV, g.right]] as const) {
        const pp = pv[i * M + j];
        bce += j === at ? -Math.log(pp) : -Math.log(1 - pp);
      }
    }
  });
  bce /= 3;
  for (const dev of DEVICES) {
    const dtype = dev.kind === 'cpu' ? 'f64' : 'f32';
    const t = (v: Float64Array | number[], shape: number[]) => T.tensor(Float64Array.from(v), { shape, dtype, device: dev, requiresGrad: true });
    const parts = diffusionNerLosses(t(logitsV, [B, K, C1]), t(plV, [B, K, M]), t(prV, [B, K, M]), T.tensor(mask, { shape: [B, M], dtype, device: dev }), gold, matches);
    const tol = dev.kind === 'cpu' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    assertClose([await parts.classification.item(), await parts.boundary.item()], [ce, bce], tol, `${dev.name} losses`);
  }
});

s('every proposal matched (no None target anywhere): the class loss is the plain mean CE and finite', async () => {
  const B = 1, K = 2, M = 3, C1 = 3;
  const logitsV = randomValues(B * K * C1, 7), plV = randomValues(B * K * M, 8, 0.01, 0.99), prV = randomValues(B * K * M, 9, 0.01, 0.99);
  const gold = [[{ left: 0, right: 1, type: 1 }, { left: 2, right: 2, type: 2 }]];
  const probs = new Float64Array(B * K * C1);
  for (let r = 0; r < B * K; r++) {
    const row = Array.from(logitsV.slice(r * C1, r * C1 + C1)), mx = Math.max(...row), z = row.reduce((a, v) => a + Math.exp(v - mx), 0);
    row.forEach((v, c) => { probs[r * C1 + c] = Math.exp(v - mx) / z; });
  }
  const matches = matchProposals(plV, prV, probs, gold, K, M, C1);
  let ce = 0;
  matches[0].proposals.forEach((i, n) => { ce += -Math.log(probs[i * C1 + gold[0][matches[0].golds[n]].type]); });
  for (const dev of DEVICES) {
    const dtype = dev.kind === 'cpu' ? 'f64' : 'f32';
    const t = (v: Float64Array, shape: number[]) => T.tensor(Float64Array.from(v), { shape, dtype, device: dev });
    const parts = diffusionNerLosses(t(logitsV, [B, K, C1]), t(plV, [B, K, M]), t(prV, [B, K, M]), T.ones([B, M], { dtype, device: dev }), gold, matches);
    if (parts.matched !== B * K) throw new Error('all proposals matched');
    assertClose([await parts.classification.item()], [ce / (B * K)], dev.kind === 'cpu' ? { rtol: 1e-12 } : { rtol: 1e-5 }, `${dev.name} class loss`);
  }
});

const candArb = fc.array(fc.record({
  left: fc.integer({ min: 0, max: 12 }), len: fc.integer({ min: 0, max: 5 }), type: fc.integer({ min: 1, max: 3 }), score: fc.double({ min: 2.5, max: 3, noNaN: true }),
}), { maxLength: 25 }).map((xs) => xs.map((x): Candidate => ({ left: x.left, right: x.left + x.len, type: x.type, score: x.score, leftScore: 1, rightScore: 1, typeScore: 1 })));

s('filtering: flat output never overlaps, nested never crosses, the best candidate always survives, and nothing is invented', async () => {
  await assertProperty([candArb], async (cands) => {
    for (const mode of ['flat', 'nested'] as const) {
      const kept = filterCandidates(cands, mode);
      for (const a of kept) for (const b of kept) if (a !== b && (mode === 'flat' ? overlaps(a, b) : crosses(a, b))) throw new Error(`${mode}: ${JSON.stringify([a, b])}`);
      if (kept.some((k) => !cands.includes(k))) throw new Error('invented a span');
      if (cands.length && !kept.includes([...cands].sort((x, y) => y.score - x.score)[0])) throw new Error('best dropped');
      // Maximality: every dropped candidate clashes with a kept one.
      for (const c of cands) if (!kept.includes(c) && !kept.some((k) => (mode === 'flat' ? overlaps(c, k) : crosses(c, k)))) throw new Error('dropped without a clash');
    }
  }, 300);
});

s('decoding applies the thresholds (type ≠ None, left ≤ right, sum > φ)', () => {
  // K = 3 proposals over M = 3 words, C+1 = 2 classes.
  const pl = [0.9, 0.05, 0.05, 0.1, 0.95, 0, 0.99, 0, 0];
  const pr = [0.05, 0.9, 0.05, 0.97, 0.01, 0, 0, 0, 0.99];
  const probs = [0.1, 0.9, 0.05, 0.95, 0.99, 0.01];
  const got = decodeSentence(pl, pr, probs, 3, 3, 2, { mode: 'nested' });
  // 0: (0,1) sum 2.7 kept; 1: left 1 > right 0 dropped; 2: None dropped.
  if (got.length !== 1 || got[0].left !== 0 || got[0].right !== 1) throw new Error(JSON.stringify(got));
  if (decodeSentence(pl, pr, probs, 3, 3, 2, { mode: 'nested', threshold: 2.8 }).length !== 0) throw new Error('φ');
});

s('decoding sums and ranks in float32 as the official code: a float32 tie keeps the earlier proposal', () => {
  // Proposal 0 reads (0, 1) with P = 1, 1 and type 1 - 2^-24; proposal 1 reads (1, 2) with 1, 1, 1. They
  // overlap. In float64 proposal 1 ranks higher (3 > 2.99999994); in float32 type + left rounds to 2, both
  // score 3, and the stable order keeps proposal 0.
  const t = 1 - 2 ** -24;
  const pl = [1, 0, 0, 0, 1, 0], pr = [0, 1, 0, 0, 0, 1], probs = [1 - t, t, 0, 1];
  const got = decodeSentence(pl, pr, probs, 2, 3, 2, { mode: 'flat' });
  if (got.length !== 1 || got[0].left !== 0 || got[0].score !== 3) throw new Error(JSON.stringify(got));
  // The threshold is compared in float32 too: 2.99999994 is above φ = 2.9999999 in float64 but the
  // float32 sum (3) and float32 φ (3) are equal, so nothing passes.
  if (decodeSentence(pl, pr, probs, 2, 3, 2, { mode: 'nested', threshold: 2.9999999 }).length !== 0) throw new Error('φ in float32');
});

s('strict micro and per-type scores over sets', () => {
  const gold = [[{ left: 0, right: 1, type: 1 }, { left: 3, right: 3, type: 2 }], [{ left: 2, right: 4, type: 1 }]];
  const pred = [[{ left: 0, right: 1, type: 1 }, { left: 0, right: 1, type: 1 }, { left: 3, right: 3, type: 1 }], []];
  const r = score(gold, pred, ['PER', 'LOC']);
  assertClose([r.micro.precision, r.micro.recall, r.micro.f1], [50, 100 / 3, 40], { rtol: 1e-12 });
  if (r.perType.PER.tp !== 1 || r.perType.PER.predicted !== 2 || r.perType.LOC.gold !== 1 || r.perType.LOC.tp !== 0) throw new Error(JSON.stringify(r.perType));
});

s.run();
