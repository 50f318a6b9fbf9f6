/** BOPN's offset-label grid against golden cases (heads-notes §1.1 item 7; the official data loader's rules). */
import { suite } from 'uvu';
import { labelGrid, offsetLabels } from '../../../src/models/bopn/labels.js';

const s = suite('BOPN offset labels');
const S = 2, names = offsetLabels(S);

/** The labelled cells of type y's upper triangle (and the diagonal), as "i,j label". */
function cells(grid: Int32Array, n: number, y = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) { const l = grid[(y * n + i) * n + j]; if (l) out.push(`${i},${j} ${names[l]}`); }
  return out;
}

s('labels: none, c:0, then the start and end families without 0 (L = 4S + 2)', () => {
  if (names.join(' ') !== 'none c:0 s:-2 s:-1 s:1 s:2 e:-2 e:-1 e:1 e:2' || names.length !== 4 * S + 2) throw new Error(names.join(' '));
});

s('the n = 6 example of the notes: entity (1, 3)', () => {
  const got = cells(labelGrid(6, [{ start: 1, end: 3, type: 0 }], 1, S), 6).sort();
  const want = ['0,3 s:-1', '2,3 s:1', '3,3 s:2', '1,2 e:-1', '1,1 e:-2', '1,4 e:1', '1,5 e:2', '1,3 c:0'].sort();
  if (got.join('|') !== want.join('|')) throw new Error(got.join(' | '));
});

s('every label is mirrored to the transposed cell', () => {
  const n = 7, g = labelGrid(n, [{ start: 2, end: 4, type: 1 }, { start: 0, end: 0, type: 0 }], 2, S);
  for (let y = 0; y < 2; y++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (g[(y * n + i) * n + j] !== g[(y * n + j) * n + i]) throw new Error(`(${y}, ${i}, ${j})`);
  }
});

s('sentence edges: offsets outside the sentence, or past the other boundary, are not written', () => {
  // A one-word entity at the start of a 3-word sentence: no s:-w (before word 0), no s:+w (past its end),
  // no e:-w (before its start); e:1 and e:2 fit.
  const got = cells(labelGrid(3, [{ start: 0, end: 0, type: 0 }], 1, S), 3).sort();
  if (got.join('|') !== ['0,0 c:0', '0,1 e:1', '0,2 e:2'].sort().join('|')) throw new Error(got.join(' | '));
  // At the end: e:+w would leave the sentence; s:-1 and s:-2 fit.
  const end = cells(labelGrid(3, [{ start: 2, end: 2, type: 0 }], 1, S), 3).sort();
  if (end.join('|') !== ['2,2 c:0', '1,2 s:-1', '0,2 s:-2'].sort().join('|')) throw new Error(end.join(' | '));
});

s('overlaps: a closer offset wins a cell, a tie keeps the earlier label, and a centre is never replaced', () => {
  // (1, 3) and (2, 3): cell (2, 3) is the second's centre, which (1, 3)'s s:1 does not replace; cell (1, 3),
  // the first's centre, is not replaced by the second's s:-1. Cell (0, 3) holds the first's s:-1 (|−1|)
  // and is not taken by the second's s:-2 (|−2|, farther).
  const g = labelGrid(6, [{ start: 1, end: 3, type: 0 }, { start: 2, end: 3, type: 0 }], 1, S);
  const got = new Map(cells(g, 6).map((c) => c.split(' ') as [string, string]));
  if (got.get('2,3') !== 'c:0' || got.get('1,3') !== 'c:0' || got.get('0,3') !== 's:-1') throw new Error(JSON.stringify([...got]));
  // Cell (3, 3): the first's s:2 (visited first) then the second's s:1 (closer) takes it.
  if (got.get('3,3') !== 's:1') throw new Error(`(3, 3): ${got.get('3,3')}`);
  // A tie: (0, 1)'s e:1 and (0, 3)'s e:-1 both want (0, 2); (0, 1) comes first and keeps it.
  const t = new Map(cells(labelGrid(5, [{ start: 0, end: 3, type: 0 }, { start: 0, end: 1, type: 0 }], 1, S), 5).map((c) => c.split(' ') as [string, string]));
  if (t.get('0,2') !== 'e:1') throw new Error(`tie at (0, 2): ${t.get('0,2')}`);
  // Types have grids of their own.
  const two = labelGrid(4, [{ start: 1, end: 1, type: 1 }], 2, S);
  if (cells(two, 4, 0).length !== 0 || !cells(two, 4, 1).includes('1,1 c:0')) throw new Error('types');
});

s('each w is tried on its own: a blocked s:-1 does not stop s:-2 (the whole grid, derived by hand)', () => {
  // n = 5, entities (1, 2) then (2, 3). (1, 2): s:-1 (0, 2), e:-1 (1, 1), s:1 (2, 2), e:1 (1, 3), e:2 (1, 4);
  // s:-2, e:-2 and s:2 leave their bounds. (2, 3): s:-1 at (1, 3) is blocked by (1, 2)'s e:1 (a tie), e:-1
  // at (2, 2) by its s:1, but s:-2 still takes (0, 3); s:1 (3, 3) and e:1 (2, 4) are free; e:2 leaves the sentence.
  const got = cells(labelGrid(5, [{ start: 1, end: 2, type: 0 }, { start: 2, end: 3, type: 0 }], 1, S), 5).sort();
  const want = ['1,2 c:0', '2,3 c:0', '0,2 s:-1', '1,1 e:-1', '2,2 s:1', '1,3 e:1', '1,4 e:2', '0,3 s:-2', '3,3 s:1', '2,4 e:1'].sort();
  if (got.join('|') !== want.join('|')) throw new Error(got.join(' | '));
});

s('sentence edges on both sides: an entity over the whole sentence keeps only its inward offsets', () => {
  // (0, 2) of 3 words: no s:-w (before word 0) and no e:+w (past word 2); s:1, s:2 (up to its end) and
  // e:-1, e:-2 (down to its start) fit.
  const got = cells(labelGrid(3, [{ start: 0, end: 2, type: 0 }], 1, S), 3).sort();
  if (got.join('|') !== ['0,2 c:0', '1,2 s:1', '2,2 s:2', '0,1 e:-1', '0,0 e:-2'].sort().join('|')) throw new Error(got.join(' | '));
});

s('a repeated entity is one centre: the grid is the same as with it once', () => {
  const once = labelGrid(6, [{ start: 1, end: 3, type: 0 }, { start: 3, end: 4, type: 0 }], 1, S);
  const twice = labelGrid(6, [{ start: 3, end: 4, type: 0 }, { start: 1, end: 3, type: 0 }, { start: 1, end: 3, type: 0 }], 1, S);
  if (once.join() !== twice.join()) throw new Error(`${cells(once, 6).join(' | ')} vs ${cells(twice, 6).join(' | ')}`);
});

s.run();
