/**
 * The official DiffusionNER's BERT input for one sentence (spec §1.2, `_parse_tokens`): every word and
 * context word is WordPiece-encoded on its own, and the sequence is
 *   [CLS] (left-context pieces [SEP])? sentence pieces ([SEP] right-context pieces)?
 * with no closing [SEP] (`closingSep` adds one at the end, as a Hugging Face tokenizer does: BINDER's
 * input). A word with no pieces gets an empty span, which pools to a zero vector.
 * Where the sequence would exceed BERT's positions the official code drops the sentence; here the context
 * is trimmed from its far ends instead (the sentence itself must fit), and the trimmed words are counted.
 */
import type { WordPieceTokenizer } from '../../text/wordpiece.js';

export interface BertInput {
  ids: number[];
  /** Per sentence word, its sub-word span [start, end) in ids (empty for a word with no pieces). */
  spans: [number, number][];
  /** Context words left out to fit `maxLength`. */
  contextTrimmed: number;
}

export function bertInput(tok: WordPieceTokenizer, s: { tokens: readonly string[]; ltokens?: readonly string[]; rtokens?: readonly string[] }, maxLength: number, closingSep = false): BertInput {
  const pieces = (words: readonly string[]) => words.map((w) => tok.encode(w));
  const sentence = pieces(s.tokens);
  const left = pieces(s.ltokens ?? []), right = pieces(s.rtokens ?? []);
  const length = (ws: number[][]) => ws.reduce((n, p) => n + p.length, 0);
  // [CLS], the sentence's pieces and the closing [SEP] if any.
  const sentenceLength = 1 + length(sentence) + (closingSep ? 1 : 0);
  if (sentenceLength > maxLength) throw new Error(`${sentenceLength} sub-words, more than BERT's ${maxLength} positions`);
  // Trim the context word by word from its far ends (the left context's first words, the right context's
  // last), the longer side first, until [CLS], both contexts with their [SEP]s and the sentence fit.
  let contextTrimmed = 0;
  const total = () => sentenceLength + (left.length ? length(left) + 1 : 0) + (right.length ? length(right) + 1 : 0);
  while (total() > maxLength) {
    if (left.length && (!right.length || length(left) >= length(right))) left.shift(); else right.pop();
    contextTrimmed++;
  }
  // concat, not push(...): a long context would overflow the argument list.
  let ids = [tok.id('[CLS]')];
  if (left.length) ids = ids.concat(left.flat(), [tok.id('[SEP]')]);
  const spans: [number, number][] = sentence.map((p) => {
    const start = ids.length;
    for (const id of p) ids.push(id);
    return [start, ids.length];
  });
  if (right.length) ids = ids.concat([tok.id('[SEP]')], right.flat());
  if (closingSep) ids.push(tok.id('[SEP]'));
  return { ids, spans, contextTrimmed };
}
