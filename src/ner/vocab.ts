/** The from-scratch encoder's word vocabulary, built from the training set. */
import type { Sentence } from './data.js';

export const PAD = '[PAD]';
export const UNK = '[UNK]';

/** [PAD], [UNK], then words seen at least `minFreq` times, most frequent first (ties alphabetical). */
export function buildVocab(sentences: readonly Sentence[], minFreq = 1, lowercase = false): string[] {
  const freq = new Map<string, number>();
  for (const s of sentences) for (const w0 of s.tokens) {
    const w = lowercase ? w0.toLowerCase() : w0;
    // vocab.txt holds one non-empty entry per line, each once: such words, and the data's own
    // "[PAD]" or "[UNK]", stay with the special entries.
    if (w === '' || w === PAD || w === UNK || /[\r\n]/.test(w)) continue;
    freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  const words = [...freq].filter(([, n]) => n >= minFreq).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
  return [PAD, UNK, ...words];
}
