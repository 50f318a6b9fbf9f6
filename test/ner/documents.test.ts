import * as fc from 'fast-check';
import { suite } from 'uvu';
import { documentSentences, splitDocument } from '../../src/ner/documents.js';
import { DocumentWriter, OUTPUT_FORMATS, toConll, toSpacy } from '../../src/ner/formats.js';
import type { TaggedDocument } from '../../src/ner/predict.js';

const s = suite('documents: sentences, words and offsets; output formats');
const sentences = (text: string, style: 'split' | 'attached' = 'split') => splitDocument(text, style).map((x) => text.slice(x.start, x.end));

s('sentences end at . ! ? and ellipses, not after abbreviations, initials or inside numbers; quotes and brackets stay with theirs', () => {
  const cases: [string, string[]][] = [
    ['The U.S. Army said. Mr. Brown left. He paid $3.5 million. It rose 2.5%. Visit www.example.com. OK.',
      ['The U.S. Army said.', 'Mr. Brown left.', 'He paid $3.5 million.', 'It rose 2.5%.', 'Visit www.example.com.', 'OK.']],
    ['Shares of Acme Inc. rose 5 percent in Jan. last year. Then at 3 p.m. Monday it fell.', ['Shares of Acme Inc. rose 5 percent in Jan. last year.', 'Then at 3 p.m. Monday it fell.']],
    ['J. R. R. Tolkien wrote it (see p. 5). Really? Yes! The end.', ['J. R. R. Tolkien wrote it (see p. 5).', 'Really?', 'Yes!', 'The end.']],
    ['E. coli cells express IL-2. Dr. Smith agreed.', ['E. coli cells express IL-2.', 'Dr. Smith agreed.']],
    ['He said: "Go home." She left. (He stayed.) Then... nothing', ['He said: "Go home."', 'She left.', '(He stayed.)', 'Then... nothing']],
    ['He left. "Hi," she said.', ['He left.', '"Hi," she said.']],
    ['Results: 1. first; 2. second. Done.', ['Results: 1. first; 2. second.', 'Done.']],
    // Lines never share a sentence: a headline and a dateline stand alone.
    ['PEACE TALKS TO RESUME\nGENEVA 1996-08-22\nTalks resumed on Thursday. Both sides agreed.\n\n', ['PEACE TALKS TO RESUME', 'GENEVA 1996-08-22', 'Talks resumed on Thursday.', 'Both sides agreed.']],
    // Tokenised text (CoNLL style) splits the same way.
    ['Germany \'s representative to the EU said . It was fine .', ['Germany \'s representative to the EU said .', 'It was fine .']],
  ];
  for (const [text, want] of cases) {
    const got = sentences(text);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${JSON.stringify(text)}:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
  }
});

s('every word of a document is in exactly one sentence, at its offsets, in order', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'B', 'Dr', '1', '.', '?', ' ', '\n', '"', '(', ')', '...', 'e.g.', '😀'), maxLength: 60 }), (text) => {
    let pos = 0;
    for (const sent of splitDocument(text)) {
      if (sent.tokens.length === 0 || sent.start !== sent.tokens[0].start || sent.end !== sent.tokens.at(-1)!.end || text.slice(sent.start, sent.end).includes('\n')) throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(sent)}`);
      for (const t of sent.tokens) {
        if (text.slice(t.start, t.end) !== t.text || t.start < pos) throw new Error(`${JSON.stringify(text)}: ${JSON.stringify(t)}`);
        pos = t.end;
      }
    }
    const words = splitDocument(text).flatMap((x) => x.tokens.map((t) => t.text)).join('');
    if (words !== text.replace(/\s/gu, '')) throw new Error(`not covered: ${JSON.stringify(text)}`);
  }), { numRuns: 300 });
});

s('a long line read a piece at a time gives the sentences of the whole line', () => {
  const unit = fc.constantFrom('a', 'B', 'Dr', 'Inc', '1', '3.5', '.', '?', '!', ' ', '  ', '\n', '"', '\'', '(', ')', '...', 'e.g.', 'U.S.', 'J', '😀', '@x', 'www.a.com');
  fc.assert(fc.property(fc.string({ unit, maxLength: 80 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom('split' as const, 'attached' as const), (text, piece, style) => {
    const whole = JSON.stringify(splitDocument(text, style));
    const pieces = JSON.stringify([...documentSentences(text, style, piece)]);
    if (pieces !== whole) throw new Error(`${JSON.stringify(text)} in pieces of ${piece}:\n got ${pieces}\nwant ${whole}`);
  }), { numRuns: 500 });
});

const doc: TaggedDocument = {
  text: 'Bank of New York rose .\nIt fell .',
  sentences: [{ tokens: ['Bank', 'of', 'New', 'York', 'rose', '.'], start: 0, end: 23 }, { tokens: ['It', 'fell', '.'], start: 24, end: 33 }],
  entities: [
    { type: 'ORG', text: 'Bank of New York', score: 0.9, start: 0, end: 16, startCp: 0, endCp: 16, sentence: 0, tokenStart: 0, tokenEnd: 4 },
    { type: 'LOC', text: 'New York', score: 0.8, start: 8, end: 16, startCp: 8, endCp: 16, sentence: 0, tokenStart: 2, tokenEnd: 4 },
  ],
};

s('CoNLL output: BIO per word, the outermost of nested entities, a blank line after each sentence', () => {
  const want = '-DOCSTART-\tO\n\nBank\tB-ORG\nof\tI-ORG\nNew\tI-ORG\nYork\tI-ORG\nrose\tO\n.\tO\n\nIt\tO\nfell\tO\n.\tO\n';
  if (toConll(doc) !== want) throw new Error(JSON.stringify(toConll(doc)));
});

s('spaCy output: the text and ents with character offsets and labels', () => {
  const got = JSON.stringify(toSpacy(doc));
  if (got !== JSON.stringify({ text: doc.text, ents: [{ start: 0, end: 16, label: 'ORG' }, { start: 8, end: 16, label: 'LOC' }] })) throw new Error(got);
});

s('written a sentence at a time, every format is what the whole document gives, with or without an id', () => {
  const empty: TaggedDocument = { text: '', sentences: [], entities: [] };
  for (const d of [doc, empty]) for (const id of [undefined, 'a1']) {
    const ids = id !== undefined ? { id } : {};
    const want: Record<string, string> = {
      text: (d.sentences.length ? d.sentences.map((x) => x.tokens.join(' ') + '\n').join('') : '\n')
        + (d.entities.length ? d.entities.map((e) => `  ${e.type.padEnd(8)} ${e.text}  [${e.start}, ${e.end})  ${e.score.toFixed(2)}\n`).join('') : '  (no entities)\n'),
      jsonl: JSON.stringify({ line: 4, ...ids, sentences: d.sentences, entities: d.entities }) + '\n',
      conll: toConll(d) + '\n',
      spacy: JSON.stringify({ ...ids, ...toSpacy(d) }) + '\n',
    };
    for (const format of OUTPUT_FORMATS) {
      let got = '';
      const w = new DocumentWriter(format, (x) => { got += x; });
      // Twice: the writer starts afresh after each document.
      for (let rep = 0; rep < 2; rep++) {
        d.sentences.forEach((x, k) => w.sentence({ line: 4, id }, x, d.entities.filter((e) => e.sentence === k)));
        w.end({ line: 4, id }, d.text);
      }
      if (got !== want[format].repeat(2)) throw new Error(`${format}, id ${id}, ${d.sentences.length} sentences:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want[format].repeat(2))}`);
    }
  }
});

s('a document stopped part-way still ends its line, with the entities found so far and the error', () => {
  const sentence = { tokens: ['Acme', 'rose', '.'], start: 0, end: 10 };
  const acme = { type: 'ORG', text: 'Acme', score: 0.9, start: 0, end: 4, startCp: 0, endCp: 4, sentence: 0, tokenStart: 0, tokenEnd: 1 };
  const written = (format: (typeof OUTPUT_FORMATS)[number], sentences: number) => {
    let got = '';
    const w = new DocumentWriter(format, (x) => { got += x; });
    for (let k = 0; k < sentences; k++) w.sentence({ line: 7, id: 'a' }, sentence, k ? [] : [acme]);
    w.abort('out of memory');
    return got;
  };
  const line = JSON.parse(written('jsonl', 2));
  if (line.line !== 7 || line.id !== 'a' || line.sentences.length !== 2 || line.entities[0]?.text !== 'Acme' || line.error !== 'out of memory') {
    throw new Error(`jsonl: ${JSON.stringify(line)}`);
  }
  const text = written('text', 1);
  if (!text.endsWith('  ORG      Acme  [0, 4)  0.90\n  (stopped: out of memory)\n')) throw new Error(`text: ${JSON.stringify(text)}`);
  // Nothing written of the document: nothing to close.
  for (const format of OUTPUT_FORMATS) if (written(format, 0) !== '') throw new Error(`${format} wrote for a document never started`);
  if (written('spacy', 2) !== '') throw new Error('spaCy output is written only whole');
});

s.run();
