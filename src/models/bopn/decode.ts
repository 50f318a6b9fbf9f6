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

/** A span offset labels voted for: the (start, end) cells whose labels voted, and their probabilities, per family. */
export interface VotedSpan { start: number; end: number; type: number; startVotes: Vote[]; endVotes: Vote[] }
export interface Vote { i: number; j: number; label: string; p: number }

/** The centre cells and the voted spans of a label grid (M, n, n), with each cell's label probability (1 without `probs`). */
export function readGrid(labels: ArrayLike<number>, n: number, M: number, S: number, probs?: ArrayLike<number>): { centres: GridSpan[]; voted: VotedSpan[] } {
  const names = offsetLabels(S);
  const centres: GridSpan[] = [];
  const votes = new Map<string, VotedSpan>();
  const vote = (type: number, start: number, end: number, family: 'startVotes' | 'endVotes', v: Vote) => {
    const key = `${type},${start},${end}`;
    const span = votes.get(key) ?? { start, end, type, startVotes: [], endVotes: [] };
    span[family].push(v);
    votes.set(key, span);
  };
  for (let y = 0; y < M; y++) for (let i = 0; i < n; i++) for (let j = i; j < n; j++) {
    const cell = (y * n + i) * n + j, label = names[labels[cell]], p = probs ? probs[cell] : 1;
    if (label === 'none') continue;
    const [family, w] = [label[0], Number(label.split(':')[1])];
    if (w === 0) centres.push({ start: i, end: j, type: y, score: p });
    else if (family === 's' && i - w >= 0 && i - w <= j) vote(y, i - w, j, 'startVotes', { i, j, label, p });
    else if (family === 'e' && j - w >= i && j - w < n) vote(y, i, j - w, 'endVotes', { i, j, label, p });
  }
  return { centres, voted: [...votes.values()] };
}

/** Whether a voted span becomes an entity in a mode (besides the centres, which every mode keeps). */
export function votedIn(v: VotedSpan, mode: OffsetDecoding, S: number): boolean {
  if (mode === 'centres') return false;
  return mode === 'offsets' ? v.startVotes.length + v.endVotes.length >= 1 : v.startVotes.length >= S || v.endVotes.length >= S;
}

/** labels (M, n, n): label indices; probs (M, n, n): each cell's probability of its label (optional). */
export function decodeOffsets(labels: ArrayLike<number>, n: number, M: number, S: number, mode: OffsetDecoding, probs?: ArrayLike<number>): GridSpan[] {
  const { centres, voted } = readGrid(labels, n, M, S, probs);
  const out = [...centres];
  const isCentre = new Set(centres.map((c) => `${c.type},${c.start},${c.end}`));
  const mean = (vs: Vote[]) => vs.reduce((a, v) => a + v.p, 0) / vs.length;
  for (const v of voted) {
    if (isCentre.has(`${v.type},${v.start},${v.end}`) || !votedIn(v, mode, S)) continue;
    out.push({ start: v.start, end: v.end, type: v.type, score: mean(v.startVotes.length >= v.endVotes.length ? v.startVotes : v.endVotes) });
  }
  return out.sort((a, b) => a.type - b.type || a.start - b.start || a.end - b.end);
}
