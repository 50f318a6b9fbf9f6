import * as fc from 'fast-check';
import { suite } from 'uvu';
import { cliticStyle, tokenizeText } from '../../src/text/tokenize.js';
import { assertProperty } from '../helpers.js';

const s = suite('plain-text tokenizer');

s('splits like the NER corpora', () => {
  const cases: [string, string[]][] = [
    ['Germany beat Brazil 2-1 in the U.S. , didn\'t they?', ['Germany', 'beat', 'Brazil', '2-1', 'in', 'the', 'U.S.', ',', 'did', 'n\'t', 'they', '?']],
    // Penn Treebank clitics, as CoNLL-2003 writes them; an apostrophe inside a name stays.
    ['Germany\'s O\'Neill says they\'re sure -- we\'ll see ...', ['Germany', '\'s', 'O\'Neill', 'says', 'they', '\'re', 'sure', '--', 'we', '\'ll', 'see', '...']],
    ['IL-2 gene (NF-kappa B) costs $3,000.50.', ['IL-2', 'gene', '(', 'NF-kappa', 'B', ')', 'costs', '$', '3,000.50', '.']],
    ['Müller’s café', ['Müller', '’s', 'café']],
    // As the corpora write them: a number keeps the letters and hyphenated parts that follow it.
    ['In the 1990s , the 3rd 22-year-old won 100m ; 49ers beat 3Com 2-1 .', ['In', 'the', '1990s', ',', 'the', '3rd', '22-year-old', 'won', '100m', ';', '49ers', 'beat', '3Com', '2-1', '.']],
    ['  ', []],
  ];
  for (const [text, want] of cases) {
    const got = tokenizeText(text).map((t) => t.text);
    if (got.join('|') !== want.join('|')) throw new Error(`${text}: got ${got.join('|')}`);
  }
});

s('URLs, e-mail addresses, @handles, #hashtags and emoji are single tokens, in both styles', () => {
  const text = '@elonmusk bought #Twitter 🚀🚀 see https://x.com/a?b=1. Mail a.b@c.co.uk! 👍🏽 👨‍👩‍👧 🇩🇪 www.example.org/x)';
  const want = ['@elonmusk', 'bought', '#Twitter', '🚀', '🚀', 'see', 'https://x.com/a?b=1', '.', 'Mail', 'a.b@c.co.uk', '!', '👍🏽', '👨‍👩‍👧', '🇩🇪', 'www.example.org/x', ')'];
  for (const style of ['split', 'attached'] as const) {
    const got = tokenizeText(text, style).map((t) => t.text);
    if (got.join('|') !== want.join('|')) throw new Error(`${style}: ${got.join('|')}`);
  }
});

s('the attached style keeps clitics in their words, as GENIA writes them, and splits the rest alike', () => {
  const got = tokenizeText('Burkitt\'s lymphoma ( IL-2 ) didn\'t bind the U.S. 3rd ... 1990s', 'attached').map((t) => t.text);
  const want = ['Burkitt\'s', 'lymphoma', '(', 'IL-2', ')', 'didn\'t', 'bind', 'the', 'U.S.', '3rd', '...', '1990s'];
  if (got.join('|') !== want.join('|')) throw new Error(got.join('|'));
});

s('a corpus\'s clitic convention is read from its tokens, by majority', () => {
  const conll = [['Germany', '\'s', 'side'], ['do', 'n\'t'], ['O\'Neill']];
  const genia = [['Burkitt\'s', 'lymphoma'], ['Hashimoto\'s', 'disease', 'and', 'the', 'donor', '\'s'], ['Kennedy’s']];
  if (cliticStyle(conll) !== 'split' || cliticStyle(genia) !== 'attached' || cliticStyle([['no', 'clitics']]) !== 'split') throw new Error('style');
});

for (const style of ['split', 'attached'] as const) s(`tokens are the text at their offsets, in order, and cover every non-space character (${style})`, async () => {
  await assertProperty([fc.string({ unit: fc.constantFrom('a', 'B', 'é', '1', '-', '.', ',', "'", ' ', '\t', '(', '中', '😀'), maxLength: 40 })], async (text) => {
    const toks = tokenizeText(text, style);
    let pos = 0, covered = '';
    for (const t of toks) {
      if (text.slice(t.start, t.end) !== t.text || t.start < pos || /\s/u.test(t.text) || t.text === '') throw new Error(`bad token ${JSON.stringify(t)} in ${JSON.stringify(text)}`);
      covered += t.text; pos = t.end;
    }
    if (covered !== text.replace(/\s/gu, '')) throw new Error(`not covered: ${JSON.stringify(text)}`);
  }, 300);
});

s.run();
