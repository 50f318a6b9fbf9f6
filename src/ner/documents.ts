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

/** Whether the words from `i` on open a sentence: a capital or a digit, possibly after opening quotes or brackets. */
function opensSentence(tokens: readonly TextToken[], i: number): boolean {
  while (i < tokens.length && OPENERS.test(tokens[i].text)) i++;
  return i >= tokens.length || /^[\p{Lu}\p{Lt}\p{N}]/u.test(tokens[i].text);
}

/** Whether the period at `i` belongs to the word before it (an abbreviation or an initial). */
function periodOfAbbreviation(tokens: readonly TextToken[], i: number): boolean {
  if (tokens[i].text !== '.' || i === 0) return false;
  const prev = tokens[i - 1];
  if (prev.end !== tokens[i].start) return false; // "word ." with a space is a sentence's period
  return ABBREVIATIONS.has(prev.text.toLowerCase()) || /^\p{Lu}$/u.test(prev.text);
}

/** The sentences of one line (no newline inside), from its words. */
function splitLine(tokens: TextToken[]): TextToken[][] {
  const out: TextToken[][] = [];
  let from = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (!ENDERS.has(tokens[i].text) || periodOfAbbreviation(tokens, i)) continue;
    // Closing quotes and brackets written against the period belong to the sentence it ends; one after a space opens the next.
    let end = i + 1;
    while (end < tokens.length && tokens[end].start === tokens[end - 1].end && (ENDERS.has(tokens[end].text) || CLOSERS.test(tokens[end].text))) end++;
    if (end < tokens.length && !opensSentence(tokens, end)) continue;
    out.push(tokens.slice(from, end));
    from = end;
    i = end - 1;
  }
  if (from < tokens.length) out.push(tokens.slice(from));
  return out;
}

/** A document's sentences, each with its words and offsets; blank lines give none. */
export function splitDocument(text: string, clitics: CliticStyle = 'split'): DocumentSentence[] {
  const out: DocumentSentence[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const tokens = tokenizeText(line, clitics).map((t) => ({ ...t, start: t.start + offset, end: t.end + offset }));
    for (const s of splitLine(tokens)) out.push({ tokens: s, start: s[0].start, end: s.at(-1)!.end });
    offset += line.length + 1;
  }
  return out;
}
