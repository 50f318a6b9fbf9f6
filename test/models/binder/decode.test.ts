/**
 * BINDER's read-out: a span is kept when its score beats its type's [CLS] score (score = sigmoid(margin) >
 * φ, 0.5 by default), at most maxSpanWidth words; flat data greedily by raw span score (not margin), no
 * two spans sharing a word (adjacent ones may stay), nested data keeps every span.
 */
import { suite } from 'uvu';
import { decodeSpans, flatGreedy, keptSpans, marginCut, type SpanScores } from '../../../src/models/binder/decode.js';

const s = suite('binder decode');

/** n words, M types; cells given as [type, i, j, raw]; every other cell far below the thresholds. */
function grid(n: number, thresholds: number[], cells: [number, number, number, number][], maxSpanWidth = 30): SpanScores {
  const spans = new Float32Array(thresholds.length * n * n).fill(-50);
  for (const [k, i, j, v] of cells) spans[(k * n + i) * n + j] = v;
  return { n, spans, thresholds: Float32Array.from(thresholds), maxSpanWidth };
}
const show = (xs: { start: number; end: number; type: number }[]) => xs.map((x) => `${x.type}:${x.start}-${x.end}`).join(' ');

s('the threshold rule: margin > 0 is score > 0.5; φ moves the cut to logit(φ)', () => {
  const g = grid(4, [2, 5], [[0, 0, 0, 2.5], [0, 1, 2, 2], [0, 3, 3, 1.9], [1, 2, 3, 5.0001], [1, 0, 1, 9]]);
  // (0,1,2) ties the threshold exactly: not kept (strictly greater, as span > span[0, 0]).
  if (show(keptSpans(g, 0.5)) !== '0:0-0 1:0-1 1:2-3') throw new Error(show(keptSpans(g, 0.5)));
  const k = keptSpans(g, 0.5);
  if (Math.abs(k[0].score - 1 / (1 + Math.exp(-0.5))) > 1e-7 || Math.abs(k[0].margin - 0.5) > 1e-6) throw new Error(`score ${k[0].score}`);
  if (show(keptSpans(g, 0.9)) !== '1:0-1') throw new Error(`φ 0.9: ${show(keptSpans(g, 0.9))}`);
  if (keptSpans(g, 0).length !== 2 * (4 * 5) / 2 || keptSpans(g, 1).length !== 0) throw new Error('φ 0 keeps every span, φ 1 none');
  if (marginCut(0.5) !== 0 || marginCut(0) !== -Infinity || Math.abs(marginCut(0.75) - Math.log(3)) > 1e-12) throw new Error('cut');
});

s('spans wider than maxSpanWidth are never predicted', () => {
  const g = grid(6, [0], [[0, 0, 5, 3], [0, 0, 2, 3], [0, 1, 3, 3]], 3);
  if (show(keptSpans(g, 0.5)) !== '0:0-2 0:1-3') throw new Error(show(keptSpans(g, 0.5)));
});

s('flat: greedy by raw span score, then start, end; adjacency allowed; the same span with another type refused', () => {
  // Type 1's span has the larger margin (9 − 0) but the lower raw score (9 < 10): the official order takes type 0's.
  const g = grid(6, [8, 0], [[0, 1, 2, 10], [1, 1, 2, 9], [1, 2, 4, 9.5], [0, 3, 4, 8.5], [0, 5, 5, 8.2], [1, 0, 0, 8.2]]);
  const flat = decodeSpans(g, 0.5, 'flat');
  // 0:1-2 (10) first; 1:2-4 (9.5) overlaps it; 1:1-2 (9) is the same span; 0:3-4 (8.5) adjacent: kept; then 8.2 ties: start 0 before 5.
  if (show(flat) !== '1:0-0 0:1-2 0:3-4 0:5-5') throw new Error(show(flat));
  if (show(decodeSpans(g, 0.5, 'nested')) !== '0:1-2 0:3-4 0:5-5 1:0-0 1:1-2 1:2-4') throw new Error(`nested keeps all: ${show(decodeSpans(g, 0.5, 'nested'))}`);
  // Ties in raw score go to the earlier start, then the earlier end.
  const tie = flatGreedy([{ start: 2, end: 3, type: 0, raw: 1, margin: 1, score: 0.7 }, { start: 1, end: 2, type: 0, raw: 1, margin: 1, score: 0.7 }, { start: 1, end: 1, type: 1, raw: 1, margin: 1, score: 0.7 }]);
  if (show(tie) !== '1:1-1 0:2-3') throw new Error(show(tie));
});

s.run();
