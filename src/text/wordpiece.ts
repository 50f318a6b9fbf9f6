/**
 * BERT tokenisation as Hugging Face's BertTokenizer does it: BasicTokenizer (clean control characters,
 * split CJK characters, whitespace split, optional lower-casing with accent stripping, punctuation
 * split) followed by greedy longest-match-first WordPiece with "##" continuations and [UNK] for words
 * that cannot be covered or are longer than 100 characters.
 */
import { readVocabFile } from './vocab-file.js';

export interface TokenizerOptions {
  lowercase?: boolean;
  /** Defaults to `lowercase`, as in Hugging Face (accents are stripped when lower-casing). */
  stripAccents?: boolean;
  tokenizeChineseChars?: boolean;
  unkToken?: string;
  maxInputCharsPerWord?: number;
}

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || /\p{Zs}/u.test(c);
const isControl = (c: string) => c !== '\t' && c !== '\n' && c !== '\r' && /\p{C}/u.test(c);
function isPunctuation(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(c);
}
function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df)
    || (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

export function stripAccents(text: string): string {
  return [...text.normalize('NFD')].filter((c) => !/\p{Mn}/u.test(c)).join('');
}

export function basicTokenize(text: string, o: TokenizerOptions = {}): string[] {
  const lower = o.lowercase ?? true;
  const strip = o.stripAccents ?? lower;
  let clean = '';
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(c)) continue;
    if (isWhitespace(c)) clean += ' ';
    else if ((o.tokenizeChineseChars ?? true) && isChineseChar(cp)) clean += ` ${c} `;
    else clean += c;
  }
  const out: string[] = [];
  for (let token of clean.split(' ').filter(Boolean)) {
    if (lower) token = token.toLowerCase();
    if (strip) token = stripAccents(token);
    let cur = '';
    for (const c of token) {
      if (isPunctuation(c)) { if (cur) out.push(cur); out.push(c); cur = ''; } else cur += c;
    }
    if (cur) out.push(cur);
  }
  return out;
}

export class WordPieceTokenizer {
  readonly vocab: Map<string, number>;
  readonly idToToken: string[];
  readonly unkId: number;

  constructor(tokens: string[], readonly o: TokenizerOptions = {}) {
    this.idToToken = tokens;
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
    const unk = o.unkToken ?? '[UNK]';
    const id = this.vocab.get(unk);
    if (id === undefined) throw new Error(`vocabulary has no unknown token '${unk}'`);
    this.unkId = id;
  }

  /** vocab.txt: one token per line, the line number is the id. */
  static fromFile(path: string, o: TokenizerOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(readVocabFile(path), o);
  }


  id(token: string): number {
    const i = this.vocab.get(token);
    if (i === undefined) throw new Error(`token '${token}' is not in the vocabulary`);
    return i;
  }

  /** WordPiece of one basic token. */
  wordPiece(word: string): string[] {
    const chars = [...word];
    if (chars.length > (this.o.maxInputCharsPerWord ?? 100)) return [this.idToToken[this.unkId]];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length, found: string | null = null;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) { found = sub; break; }
        end--;
      }
      if (found === null) return [this.idToToken[this.unkId]];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  tokenize(text: string): string[] {
    return basicTokenize(text, this.o).flatMap((w) => this.wordPiece(w));
  }

  encode(text: string): number[] {
    return this.tokenize(text).map((t) => this.vocab.get(t)!);
  }

  /**
   * Pre-split words -> the standard BERT sequence [CLS] pieces [SEP] and, per word, its sub-word span
   * [start, end) in it. A word with no pieces (only control characters, say) becomes [UNK]. With
   * maxLength, words whose pieces would not fit are dropped and reported in `truncated`. (DiffusionNER
   * builds its own layout, with context and without the closing [SEP]: src/ner/encoders/bert-input.ts.)
   */
  encodeWords(words: readonly string[], maxLength = Infinity): { ids: number[]; spans: [number, number][]; truncated: number } {
    const ids = [this.id('[CLS]')];
    const spans: [number, number][] = [];
    let truncated = 0;
    for (const w of words) {
      let pieces = this.encode(w);
      if (pieces.length === 0) pieces = [this.unkId];
      if (ids.length + pieces.length + 1 > maxLength) { truncated++; continue; }
      spans.push([ids.length, ids.length + pieces.length]);
      ids.push(...pieces);
    }
    ids.push(this.id('[SEP]'));
    return { ids, spans, truncated };
  }
}
