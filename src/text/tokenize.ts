/**
 * Plain text -> word tokens in the style of the NER corpora (CoNLL-2003, GENIA): words keep inner
 * hyphens, apostrophes and periods of abbreviations ("U.S.", "don't", "IL-2"), numbers keep their
 * separators ("3,000.5", "2-1"), and every other non-space character is a token of its own. Each token
 * carries its character offsets so entities can be shown in the original text.
 */
export interface TextToken { text: string; start: number; end: number }

const TOKEN = /(?:\p{Lu}\.){2,}|\p{N}+(?:[.,:/-]\p{N}+)*|[\p{L}\p{N}\p{M}]+(?:[-'’.][\p{L}\p{N}\p{M}]+)*|\S/gu;

export function tokenizeText(text: string): TextToken[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ text: m[0], start: m.index!, end: m.index! + m[0].length }));
}
