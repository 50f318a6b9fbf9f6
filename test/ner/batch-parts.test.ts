/** Grouping a batch's sentences into parts that fit the device: order kept, every part within the budget unless one sentence alone is not. */
import * as fc from 'fast-check';
import { suite } from 'uvu';
import { groupByCells } from '../../src/ner/batch-parts.js';
import { runs } from '../helpers.js';

const s = suite('batch parts');

s('groups keep the order, hold every sentence once, and stay within the budget', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 2 }), (lengths, budget, extra) => {
    const sentences = lengths.map((n, i) => ({ i, tokens: Array.from({ length: n }, () => 'w') }));
    const groups = groupByCells(sentences, budget, extra);
    if (groups.flat().map((x) => x.i).join() !== sentences.map((x) => x.i).join()) return false;
    return groups.every((g) => {
      const n = Math.max(...g.map((x) => Math.max(x.tokens.length, 1))) + extra;
      return g.length === 1 || g.length * n * n <= budget;
    });
  }), { numRuns: runs(300) });
});

s('a part closes only when the next sentence would not fit', () => {
  const sentences = [3, 3, 3, 5, 1].map((n) => ({ tokens: Array.from({ length: n }, () => 'w') }));
  const sizes = groupByCells(sentences, 30).map((g) => g.length);
  if (sizes.join() !== '3,1,1') throw new Error(`parts of ${sizes.join(', ')}`);
});

s.run();
