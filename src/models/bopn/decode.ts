/**
 * BOPN's read-out of the predicted label grid (the argmax over the L offset labels of every (type, start,
 * end) cell), over the upper triangle and diagonal of each type's grid, as the official decoder does:
 *   `c:0` at (i, j) is an entity (i, j); `s:w` at (i, j) votes for (i − w, j) and `e:w` for (i, j − w), when
 *   the voted span lies in the sentence with its start at or before its end.
 * Three modes (the and the paper's Table 5):
 *   centres  the `c:0` cells only (the official CoNLL-2003 setting);
 *   offsets  centres and every span at least one offset label votes for;
 *   votes    centres and every span with at least S votes from one family (start or end), the official
 *            `parse_offset` setting (GENIA).
 * Each entity's score in [0, 1]: its centre cell's probability of `c:0`, or for a span found by votes
 * alone the mean probability of the labels that voted for it (1 when no probabilities are given).
 */
import { offsetLabels } from './labels.js';

export const OFFSET_DECODINGS = ['centres', 'offsets', 'votes'] as const;
export type OffsetDecoding = (typeof OFFSET_DECODINGS)[number];

export interface GridSpan { start: number; end: number; type: number; score: number }

/** labels (M, n, n): label indices; probs (M, n, n): each cell's probability of its label (optional). */
export function decodeOffsets(labels: ArrayLike<number>, n: number, M: number, S: number, mode: OffsetDecoding, probs?: ArrayLike<number>): GridSpan[] {
  const names = offsetLabels(S);
  const centres = new Map<string, GridSpan>();
  const votes = new Map<string, { span: Omit<GridSpan, 'score'>; start: number[]; end: number[] }>();
  const vote = (type: number, start: number, end: number, family: 'start' | 'end', p: number) => {
    const key = `${type},${start},${end}`;
    const v = votes.get(key) ?? { span: { start, end, type }, start: [], end: [] };
    v[family].push(p);
    votes.set(key, v);
  };
  for (let y = 0; y < M; y++) for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    const cell = (y * n + i) * n + j, label = names[labels[cell]], p = probs ? probs[cell] : 1;
    if (label === 'none') continue;
    const [family, w] = [label[0], Number(label.split(':')[1])];
    if (w === 0) centres.set(`${y},${i},${j}`, { start: i, end: j, type: y, score: p });
    else if (family === 's' && i - w >= 0 && i - w <= j) vote(y, i - w, j, 'start', p);
    else if (family === 'e' && j - w >= i && j - w < n) vote(y, i, j - w, 'end', p);
  }
  const out = [...centres.values()];
  if (mode === 'centres') return out;
  const mean = (ps: number[]) => ps.reduce((a, b) => a + b, 0) / ps.length;
  for (const [key, v] of votes) {
    if (centres.has(key)) continue;
    const enough = mode === 'offsets' ? v.start.length + v.end.length >= 1 : v.start.length >= S || v.end.length >= S;
    if (enough) out.push({ ...v.span, score: mean(v.start.length >= v.end.length ? v.start : v.end) });
  }
  return out.sort((a, b) => a.type - b.type || a.start - b.start || a.end - b.end);
}
