/**
 * A character-level word encoder (Ma & Hovy, 2016): character embeddings, a width-3 convolution over
 * each word's characters, max-pooled over the word.
 *   charIds (W, L + 2) i32, one word per row with -1 padding around and after its characters
 *   lengths: characters per word  ->  (W, filters)
 * Padding ids read as zero vectors (indexSelect returns 0 outside the table), so the convolution sees
 * zeros past the word's ends, as a zero-padded torch Conv1d does; positions past the word's last
 * character are excluded from the max.
 */
import * as T from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout, Embedding, type InitOptions, Linear } from './layers.js';
import { Module } from './module.js';
import { defaultRng } from '../tensor/random.js';

export const CHAR_WINDOW = 3;

export class CharCNN extends Module {
  readonly embed: Embedding;
  readonly conv: Linear;
  readonly drop: Dropout;

  constructor(readonly chars: number, readonly dim: number, readonly filters: number, dropout = 0, o: InitOptions = {}) {
    super();
    this.embed = this.child('embed', new Embedding(chars, dim, o));
    // The convolution as a Linear over the concatenated window: weight (filters, 3·dim) = torch's
    // Conv1d weight (filters, dim, 3) permuted to (filters, 3, dim).
    this.conv = this.child('conv', new Linear(CHAR_WINDOW * dim, filters, o));
    this.drop = this.child('dropout', new Dropout(dropout, o.rng ?? defaultRng()));
  }

  /** Character ids with padding, and the exclusion mask (0 inside a word, -1e4 after), for `words`. */
  static indices(words: readonly string[], charIndex: ReadonlyMap<string, number>, maxChars: number): { ids: Int32Array; mask: Float32Array; L: number } {
    // A reduce, not Math.max(...): a very long sentence's words would overflow the argument list.
    const L = Math.max(1, Math.min(maxChars, words.reduce((m, w) => Math.max(m, [...w].length), 0)));
    const ids = new Int32Array(words.length * (L + 2)).fill(-1);
    const mask = new Float32Array(words.length * L).fill(-1e4);
    words.forEach((w, i) => {
      const cs = [...w].slice(0, L);
      cs.forEach((c, j) => { ids[i * (L + 2) + 1 + j] = charIndex.get(c) ?? 1; });
      // A word with no characters (padding) keeps one position so its max is finite.
      for (let j = 0; j < Math.max(1, cs.length); j++) mask[i * L + j] = 0;
    });
    return { ids, mask, L };
  }

  /** ids (W, L + 2) i32, mask (W, L, 1) -> (W, filters). */
  forward(ids: Tensor, mask: Tensor): Tensor {
    const L = ids.shape[1] - 2;
    const e = this.drop.forward(this.embed.forward(ids)); // (W, L + 2, dim)
    const windows = T.concat(Array.from({ length: CHAR_WINDOW }, (_, k) => T.slice(e, 1, k, k + L)), -1); // (W, L, 3·dim)
    return T.max(T.add(this.conv.forward(windows), mask), 1); // (W, filters)
  }
}
