/** BOPN's grid read-out: centres, any offset, and S votes from one family (the official decoder's rules). */
import { suite } from 'uvu';
import { decodeOffsets } from '../../../src/models/bopn/decode.js';
import { labelGrid, offsetLabels } from '../../../src/models/bopn/labels.js';

const s = suite('BOPN decoding');
const S = 2, names = offsetLabels(S);
const spans = (xs: { start: number; end: number; type: number }[]) => xs.map((x) => `${x.type}:${x.start}-${x.end}`).sort().join(' ');

s('a gold grid decodes back to its entities in every mode', () => {
  const gold = [{ start: 1, end: 3, type: 0 }, { start: 6, end: 6, type: 1 }, { start: 6, end: 8, type: 0 }];
  const g = labelGrid(10, gold, 2, S);
  for (const mode of ['centres', 'offsets', 'votes'] as const) {
    const got = decodeOffsets(g, 10, 2, S, mode);
    // A gold grid's offset labels all vote for gold spans: no mode adds anything.
    if (spans(got) !== spans(gold)) throw new Error(`${mode}: ${spans(got)}`);
    if (got.some((e) => e.score !== 1)) throw new Error('scores without probabilities are 1');
  }
});

s('a missed centre is recovered by S votes of one family (votes), by any vote (offsets), and not by centres', () => {
  const n = 6, g = labelGrid(n, [{ start: 1, end: 3, type: 0 }], 1, S);
  g[(0 * n + 1) * n + 3] = 0; g[(0 * n + 3) * n + 1] = 0; // the centre is lost
  if (decodeOffsets(g, n, 1, S, 'centres').length !== 0) throw new Error('centres');
  if (spans(decodeOffsets(g, n, 1, S, 'votes')) !== '0:1-3') throw new Error(`votes: ${spans(decodeOffsets(g, n, 1, S, 'votes'))}`);
  // One stray vote: offsets keeps its span, votes does not (one vote is fewer than S).
  const stray = new Int32Array(n * n);
  stray[0 * n + 4] = names.indexOf('e:1'); // (0, 4) votes for (0, 3)
  if (spans(decodeOffsets(stray, n, 1, S, 'offsets')) !== '0:0-3' || decodeOffsets(stray, n, 1, S, 'votes').length !== 0) throw new Error('one vote');
});

s('votes that would leave the sentence or reverse the span are ignored; scores are probabilities', () => {
  const n = 3, g = new Int32Array(n * n), p = new Float32Array(n * n).fill(0.5);
  g[0 * n + 0] = names.indexOf('s:1');  // (0, 0) votes for (−1, 0): outside
  g[0 * n + 2] = names.indexOf('e:-1'); // (0, 2) votes for (0, 3): outside
  g[1 * n + 1] = names.indexOf('c:0'); p[1 * n + 1] = 0.9;
  const got = decodeOffsets(g, n, 1, S, 'offsets', p);
  if (spans(got) !== '0:1-1' || got[0].score !== Float32Array.of(0.9)[0]) throw new Error(JSON.stringify(got));
});

s.run();
