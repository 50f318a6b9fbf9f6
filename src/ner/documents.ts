/**
 * Raw text -> sentences -> words, with character offsets into the document, and back. A document's lines
 * are blocks that never share a sentence (a headline, a dateline, a list item stays whole); within a
 * line, a sentence ends at `.`, `!`, `?` or an ellipsis (with any closing quotes and brackets after it)
 * when the next word opens a sentence: a capital, a digit or an opening quote or bracket, or the line's end.
 * A period does not end a sentence after a known abbreviation (Dr., Inc., Jan., e.g.), after a single
 * capital (initials: "J. R. R. Tolkien", "E. coli"), or inside a number (3.5, which the tokenizer keeps
 * whole). Rules on the tokenizer's words, so every sentence and word keeps its offsets.
 */
import { type CliticStyle, type TextToken, tokenizeText } from '../text/tokenize.js';

export interface DocumentSentence {
  /** The sentence's words, with offsets into the document (UTF-16 code units). */
  tokens: TextToken[];
  start: number; end: number;
}

/** Abbreviations that take a period and rarely end a sentence (lower-cased, without the period). */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'gen', 'col', 'lt', 'sgt', 'capt', 'cmdr', 'adm', 'gov', 'sen', 'rep', 'rev', 'hon', 'pres',
  'inc', 'corp', 'co', 'ltd', 'bros', 'dept', 'univ', 'assn', 'no', 'nos', 'vol', 'vols', 'fig', 'figs', 'eq', 'ref', 'refs', 'ch', 'pp', 'p',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
  'vs', 'etc', 'approx', 'ca', 'cf', 'al', 'viz', 'resp', 'e.g', 'i.e', 'a.m', 'p.m', 'u.s', 'u.k', 'u.n',
]);
const ENDERS = new Set(['.', '!', '?', '...', '…']);
const CLOSERS = /^["'”’»)\]}]$/;
const OPENERS = /^["'“‘«(\[{]$/;

/**
 * Whether the words from `i` on open a sentence: a capital or a digit, possibly after opening quotes or
 * brackets. At the line's end they do; before it (`final` false), undefined: the next words decide.
 */
function opensSentence(tokens: readonly TextToken[], i: number, final: boolean): boolean | undefined {
  while (i < tokens.length && OPENERS.test(tokens[i].text)) i++;
  if (i >= tokens.length) return final ? true : undefined;
  return /^[\p{Lu}\p{Lt}\p{N}]/u.test(tokens[i].text);
}

/** Whether the period at `i` belongs to the word before it (an abbreviation or an initial). */
function periodOfAbbreviation(tokens: readonly TextToken[], i: number): boolean {
  if (tokens[i].text !== '.' || i === 0) return false;
  const prev = tokens[i - 1];
  if (prev.end !== tokens[i].start) return false; // "word ." with a space is a sentence's period
  return ABBREVIATIONS.has(prev.text.toLowerCase()) || /^\p{Lu}$/u.test(prev.text);
}

/**
 * One line's sentences, from its words given a piece at a time. Pieces end at whitespace, so no word and
 * no run of closing quotes crosses a piece's end; a sentence end is judged only once the words after it
 * are read, so the sentences are those of the whole line, and only the unfinished sentence is held.
 */
class LineSplitter {
  private words: TextToken[] = [];
  /** Where the scan for sentence ends resumes: words before it are judged to continue a sentence. */
  private scan = 0;

  /** Adds a piece's words (`final` for the line's last piece) and gives the sentences they complete. */
  *add(piece: readonly TextToken[], final: boolean): Generator<TextToken[]> {
    for (const t of piece) this.words.push(t);
    const words = this.words;
    let from = 0, i = this.scan;
    for (; i < words.length; i++) {
      if (!ENDERS.has(words[i].text) || periodOfAbbreviation(words, i)) continue;
      // Closing quotes and brackets written against the period belong to the sentence it ends; one after a space opens the next.
      let end = i + 1;
      while (end < words.length && words[end].start === words[end - 1].end && (ENDERS.has(words[end].text) || CLOSERS.test(words[end].text))) end++;
      const opens = opensSentence(words, end, final);
      if (opens === undefined) break;
      if (!opens) continue;
      yield words.slice(from, end);
      from = end;
      i = end - 1;
    }
    if (final) {
      if (from < words.length) yield words.slice(from);
      this.words = [];
      this.scan = 0;
    } else {
      this.words = from ? words.slice(from) : words;
      this.scan = i - from;
    }
  }
}

/** Characters of a line tokenised at once: a longer line is cut at whitespace into pieces of about this many. */
export const PIECE_CHARS = 1 << 16;

/** The end of the piece of `text` that starts at `from`: the first whitespace at or after `from + size`, or `to`. */
function pieceEnd(text: string, from: number, to: number, size: number): number {
  if (to - from <= size) return to;
  const space = /\s/g;
  space.lastIndex = from + size;
  const m = space.exec(text);
  return m && m.index < to ? m.index : to;
}

/**
 * A document's sentences, each with its words and offsets, made as they are asked for: memory grows with
 * the longest sentence, not with the document. Blank lines give none.
 */
export function* documentSentences(text: string, clitics: CliticStyle = 'split', pieceChars = PIECE_CHARS): Generator<DocumentSentence> {
  for (let lineStart = 0; lineStart <= text.length;) {
    const nl = text.indexOf('\n', lineStart), lineEnd = nl < 0 ? text.length : nl;
    const splitter = new LineSplitter();
    for (let a = lineStart; ;) {
      const b = pieceEnd(text, a, lineEnd, pieceChars);
      for (const s of splitter.add(tokenizeText(text.slice(a, b), clitics, a), b === lineEnd)) yield { tokens: s, start: s[0].start, end: s.at(-1)!.end };
      if (b === lineEnd) break;
      a = b;
    }
    lineStart = lineEnd + 1;
  }
}

/** A document's sentences, all at once. */
export function splitDocument(text: string, clitics: CliticStyle = 'split'): DocumentSentence[] {
  return [...documentSentences(text, clitics)];
}
