/** Corpus sentences as running text, for benchmarks that feed documents rather than token lists. */

const NO_SPACE_BEFORE = /^([.,;:!?%)\]}]|'s|'re|n't|'ve|'ll|'d|'m|'S|N'T)$/;
const NO_SPACE_AFTER = /^[([{$]$/;

/** Tokens in natural spacing: punctuation and clitics against the word before, quotes against their words. */
export function naturalSpacing(tokens: readonly string[]): string {
  let out = '', quoteOpen = false, glueNext = true;
  for (const t of tokens) {
    let glue = glueNext || NO_SPACE_BEFORE.test(t);
    glueNext = NO_SPACE_AFTER.test(t);
    if (t === '"') {
      if (quoteOpen) glue = true; else glueNext = true;
      quoteOpen = !quoteOpen;
    }
    out += (glue ? '' : ' ') + t;
  }
  return out;
}

/** A headline-style sentence: all capitals, or not ending in . ! ? or a closing quote. */
export const headline = (tokens: readonly string[]): boolean => !/^[.!?"']$/.test(tokens.at(-1) ?? '') || !/\p{Ll}/u.test(tokens.join(''));
