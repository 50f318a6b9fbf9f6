/**
 * Plain text -> word tokens in the style of the NER corpora (CoNLL-2003, GENIA; Penn Treebank clitics):
 * words keep inner hyphens, apostrophes and periods of abbreviations ("U.S.", "O'Neill", "IL-2"), while
 * the clitics 's 're 've 'll 'd 'm and n't are tokens of their own ("Germany 's", "do n't"); numbers keep
 * their separators ("3,000.5", "2-1") and the letters and hyphenated parts that follow them ("1990s",
 * "3rd", "49ers", "22-year-old"); runs of hyphens or periods ("--", "...") are one token; every other
 * non-space character is a token of its own. Each token carries its character offsets so entities can be
 * shown in the original text.
 *
 * Social-media and web text keep their units whole: URLs, e-mail addresses, @handles, #hashtags and
 * emoji (with skin tones, variation selectors and ZWJ sequences; flags as pairs of regional indicators).
 *
 * Corpora differ on clitics: CoNLL-2003 and WNUT-17 split them, GENIA keeps "Burkitt's" whole. The
 * 'attached' style keeps them in their words; `cliticStyle` reads a corpus's convention from its tokens.
 */
export interface TextToken { text: string; start: number; end: number }

const WORD = String.raw`[\p{L}\p{N}\p{M}]`;
/** An apostrophe that starts a clitic, not the inside of a word like O'Neill. */
const CLITIC = String.raw`['’](?:[sSdDmM]|re|RE|ve|VE|ll|LL)(?!${WORD})`;
/** Units that are one token in either style: URLs (not their closing punctuation), e-mail addresses, @handles, #hashtags, emoji. */
const WEB = [
  String.raw`(?:https?:\/\/|www\.)[^\s<>"]*[^\s<>".,;:!?)\]}'’]`,
  String.raw`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+`,
  String.raw`[@#][\p{L}\p{N}_]+`,
  String.raw`\p{Regional_Indicator}{2}`,
  String.raw`\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F|\u200D\p{Extended_Pictographic})*`,
];

const TOKEN = new RegExp([
  ...WEB,
  String.raw`(?:\p{Lu}\.){2,}`,
  String.raw`[\p{L}\p{M}]+(?=n['’]t(?!${WORD}))`, // "do" of "don't"
  String.raw`n['’]t(?!${WORD})`,
  CLITIC,
  String.raw`\p{N}+(?:[.,:/-]\p{N}+)*[\p{L}\p{M}]*(?:[-'’]${WORD}+)*`,
  String.raw`${WORD}+(?:(?:[-.]|(?!${CLITIC})['’])${WORD}+)*`,
  String.raw`-{2,}|\.{2,}`,
  String.raw`\S`,
].join('|'), 'gu');

/** The same without clitic splitting: apostrophes inside a word stay in it ("Burkitt's", "don't"). */
const TOKEN_ATTACHED = new RegExp([
  ...WEB,
  String.raw`(?:\p{Lu}\.){2,}`,
  String.raw`\p{N}+(?:[.,:/-]\p{N}+)*[\p{L}\p{M}]*(?:[-'’]${WORD}+)*`,
  String.raw`${WORD}+(?:[-.'’]${WORD}+)*`,
  String.raw`-{2,}|\.{2,}`,
  String.raw`\S`,
].join('|'), 'gu');

export const CLITIC_STYLES = ['split', 'attached'] as const;
export type CliticStyle = (typeof CLITIC_STYLES)[number];

/** The words of `text`; `offset` is added to their offsets (for a piece of a longer text). */
export function tokenizeText(text: string, clitics: CliticStyle = 'split', offset = 0): TextToken[] {
  return [...text.matchAll(clitics === 'split' ? TOKEN : TOKEN_ATTACHED)].map((m) => ({ text: m[0], start: offset + m.index!, end: offset + m.index! + m[0].length }));
}

const SEPARATE_CLITIC = new RegExp(String.raw`^(?:${CLITIC}|n['’]t)$`, 'u');
const ATTACHED_CLITIC = new RegExp(String.raw`${WORD}(?:${CLITIC}|n['’]t)$`, 'u');

/** A corpus's convention, by majority of its clitics; 'split' (CoNLL-2003's) when it has none. */
export function cliticStyle(sentences: Iterable<readonly string[]>): CliticStyle {
  let split = 0, attached = 0;
  for (const tokens of sentences) for (const w of tokens) {
    if (SEPARATE_CLITIC.test(w)) split++;
    else if (ATTACHED_CLITIC.test(w)) attached++;
  }
  return attached > split ? 'attached' : 'split';
}
