/** The from-scratch encoder's word vocabulary, built from the training set. */
import type { Sentence } from '../data.js';

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

/** The share of training tokens outside the vocabulary: what the frequency cutoff costs the encoder. */
export function unknownShare(sentences: readonly Sentence[], vocab: readonly string[], lowercase = false): number {
  const known = new Set(vocab.slice(2));
  let tokens = 0, unknown = 0;
  for (const s of sentences) for (const w of s.tokens) { tokens++; if (!known.has(lowercase ? w.toLowerCase() : w)) unknown++; }
  return tokens ? unknown / tokens : 0;
}

/**
 * The vocabulary as the training log describes it, with a note when the cutoff turns a large share of a
 * (small) training set into [UNK]: a config copied from CoNLL-2003 keeps its minFreq 2, which on a few
 * hundred sentences leaves the encoder little to learn words from.
 */
export function describeVocab(sentences: readonly Sentence[], vocab: readonly string[], minFreq: number, lowercase = false): string {
  const share = unknownShare(sentences, vocab, lowercase);
  const pct = (100 * share).toFixed(1);
  const line = `vocabulary ${vocab.length} (${lowercase ? 'lower-cased ' : ''}words seen >= ${minFreq} time${minFreq === 1 ? '' : 's'}; ${pct} % of training tokens read as unknown)`;
  return minFreq > 1 && share > 0.15 ? `${line}; note: minFreq ${minFreq} leaves ${pct} % of the training tokens unknown, "minFreq": 1 suits a small training set` : line;
}

/** Characters of the training words, most frequent first, after padding and unknown. */
export function buildCharVocab(sentences: readonly Sentence[]): string[] {
  const freq = new Map<string, number>();
  for (const s of sentences) for (const w of s.tokens) for (const c of w) freq.set(c, (freq.get(c) ?? 0) + 1);
  return ['<pad>', '<unk>', ...[...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c)];
}
