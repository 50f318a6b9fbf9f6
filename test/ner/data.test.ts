import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as D from '../../src/ner/data.js';
import * as fc from 'fast-check';
import { RNG } from '../../src/tensor/random.js';
import { assertProperty, assertThrows } from '../helpers.js';

const s = suite('NER data readers');
const dir = mkdtempSync(join(tmpdir(), 'dner-data-'));
const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

s('shared JSONL and the official JSON (with context) read the same sentences', () => {
  const rec = { tokens: ['EU', 'rejects', 'German', 'call'], entities: [{ start: 0, end: 1, type: 'ORG' }, { start: 2, end: 3, type: 'MISC' }] };
  const a = D.readSentences(write('a.jsonl', JSON.stringify(rec) + '\n\n' + JSON.stringify({ ...rec, entities: [] }) + '\n'));
  const b = D.readSentences(write('b.json', JSON.stringify([{ ...rec, ltokens: ['Before', '.'], rtokens: [] }])));
  if (a.length !== 2 || b.length !== 1) throw new Error('counts');
  if (JSON.stringify(a[0].entities) !== JSON.stringify(b[0].entities) || b[0].ltokens?.join(' ') !== 'Before .') throw new Error('content');
  const c = D.countDataset(a);
  if (D.describeCounts('train', c) !== 'train: 2 sentences, 2 entities (ORG 1, MISC 1)') throw new Error(D.describeCounts('train', c));
});

s('every malformed record is one line naming file, line and field', async () => {
  const bad: [string, RegExp][] = [
    ['{"tokens": ["a"], "entities": [', /bad\.jsonl:1: malformed JSON/],
    ['{"tokens": [], "entities": []}', /bad\.jsonl:1: field 'tokens' is empty/],
    ['{"tokens": ["a", "b"], "entities": [{"start": 1, "end": 1, "type": "X"}]}', /bad\.jsonl:1: field 'entities\[0\]': end 1 <= start 1/],
    ['{"tokens": ["a"], "entities": [{"start": 0, "end": 2, "type": "X"}]}', /span \[0, 2\) is outside the 1 tokens/],
    ['{"tokens": ["a"], "entities": [{"start": 0, "end": 1}]}', /field 'entities\[0\]\.type' must be a non-empty string/],
    ['{"tokens": ["a", 3], "entities": []}', /field 'tokens\[1\]' must be a string, got 3/],
  ];
  for (const [line, re] of bad) await assertThrows(() => D.readSentences(write('bad.jsonl', `\n${line}`.slice(1))), re);
  await assertThrows(() => D.readSentences(write('bad2.jsonl', '{"tokens": ["a"], "entities": []}\n\n{"tokens": 1}')), /bad2\.jsonl:3: field 'tokens' must be a list/);
  await assertThrows(() => D.readSentences(write('bad.json', '[\n{"tokens": ["a"], "entities": []},\n{"tokens": ["a"], "entities": [{"start": 0, "end": 5, "type": "X"}]}]')), /bad\.json: document 1: field 'entities\[0\]'/);
  await assertThrows(() => D.readSentences(write('bad3.json', '[\n{"tokens": ["a"],\n oops}]')), /bad3\.json:3: malformed JSON/);
  await assertThrows(() => D.readSentences(join(dir, 'missing.jsonl')), /missing\.jsonl: cannot read \(ENOENT\)/);
  const sents = D.readSentences(write('t.jsonl', '{"tokens": ["a"], "entities": [{"start": 0, "end": 1, "type": "GENE"}]}'));
  await assertThrows(() => D.checkTypes(sents, ['PER', 'LOC']), /t\.jsonl:1: field 'entities\[0\]\.type': 'GENE' is not one of the types \(PER, LOC\)/);
});

s('CoNLL: IOB1, IOB2 and BIOES decode with the conlleval rule; -DOCSTART- and blank lines split', () => {
  const conll = [
    '-DOCSTART- -X- O O', '',
    'EU NNP B-NP I-ORG', 'rejects VBZ B-VP O', 'German JJ B-NP I-MISC', 'call NN I-NP O', '',
    'Peter NNP I-PER', 'Blackburn NNP I-PER', 'B-PER x B-PER', '',
  ].join('\n');
  const iob1 = D.readSentences(write('a.conll', conll));
  const spans = iob1.map((x) => x.entities.map((e) => `${e.type}:${e.start}-${e.end}`).join(' '));
  if (spans.join(' | ') !== 'ORG:0-1 MISC:2-3 | PER:0-2 PER:2-3') throw new Error(spans.join(' | '));
  const bioes = D.decodeTags(['S-PER', 'B-ORG', 'M-ORG', 'E-ORG', 'O', 'E-LOC', 'I-LOC', 'B-X', 'I-Y']);
  const got = bioes.map((e) => `${e.type}:${e.start}-${e.end}`).join(' ');
  if (got !== 'PER:0-1 ORG:1-4 LOC:5-6 LOC:6-7 X:7-8 Y:8-9') throw new Error(got);
});

s('CoNLL errors name the line; types come from a file or the training data', async () => {
  await assertThrows(() => D.readSentences(write('b.conll', 'EU B-ORG\nrejects X-FOO\n')), /b\.conll:2: tag 'X-FOO' is not O or B-\/I-\/M-\/E-\/S-TYPE/);
  await assertThrows(() => D.readSentences(write('c.conll', 'EU B-ORG\nlonely\n')), /c\.conll:2: expected 'token \.\.\. tag' columns/);
  if (D.readTypes(write('types.json', '{"entities": {"PER": {}, "ORG": {}}, "relations": {}}')).join() !== 'PER,ORG') throw new Error('official types');
  if (D.readTypes(write('types.txt', 'DNA\nRNA\n')).join() !== 'DNA,RNA') throw new Error('text types');
  await assertThrows(() => D.readTypes(write('t2.json', '["A", "A"]')), /t2\.json: a type is listed twice/);
  const sents = D.parseJsonl('{"tokens": ["a", "b"], "entities": [{"start": 1, "end": 2, "type": "B"}, {"start": 0, "end": 1, "type": "A"}]}', 'x');
  if (D.inferTypes(sents).join() !== 'B,A') throw new Error('inferred');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s('over-long training sentences are cut into pieces; entities inside a piece move with it, crossing ones are counted', async () => {
  await assertProperty([fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 1e6 })], async (n, maxWords, seed) => {
    const rng = new RNG(seed);
    const tokens = Array.from({ length: n }, (_, i) => `w${i}`);
    const entities = Array.from({ length: 4 }, () => { const a = rng.int(n), b = a + 1 + rng.int(Math.min(3, n - a)); return { start: a, end: b, type: 'T' }; });
    const r = D.splitLongSentences([{ tokens, entities, origin: 'f:1' }], maxWords);
    if (r.sentences.some((p) => p.tokens.length > maxWords || p.tokens.length === 0)) throw new Error('piece size');
    if (r.sentences.flatMap((p) => p.tokens).join() !== tokens.join()) throw new Error('words lost or reordered');
    const kept = r.sentences.flatMap((p) => p.entities.map((e) => p.tokens.slice(e.start, e.end).join(' ')));
    const inside = entities.filter((e) => Math.floor(e.start / maxWords) === Math.floor((e.end - 1) / maxWords));
    if (kept.sort().join('|') !== inside.map((e) => tokens.slice(e.start, e.end).join(' ')).sort().join('|')) throw new Error('entities');
    if (r.droppedEntities !== entities.length - inside.length || (n > maxWords) !== (r.split === 1)) throw new Error('counts');
  }, 200);
});

s('invalid UTF-8 and empty data files are one-line errors naming the line', async () => {
  const d2 = mkdtempSync(join(tmpdir(), 'dner-data-'));
  writeFileSync(join(d2, 'bad.jsonl'), Buffer.concat([Buffer.from('{"tokens": ["a"], "entities": []}\n{"tokens": ["'), Buffer.from([0xc3, 0x28]), Buffer.from('"], "entities": []}\n')]));
  await assertThrows(() => D.readSentences(join(d2, 'bad.jsonl')), /bad\.jsonl:2: invalid UTF-8$/);
  writeFileSync(join(d2, 'empty.jsonl'), '\n\n');
  await assertThrows(() => D.readSentences(join(d2, 'empty.jsonl')), /empty\.jsonl: no sentences/);
  rmSync(d2, { recursive: true, force: true });
});

s('a data line longer than the limit is refused, naming the file and line; long sentences read without a stack overflow', async () => {
  const d3 = mkdtempSync(join(tmpdir(), 'dner-data-'));
  const huge = JSON.stringify({ tokens: Array.from({ length: 200_000 }, () => 'word'), entities: [] });
  writeFileSync(join(d3, 'huge.jsonl'), `{"tokens": ["a"], "entities": []}\n${huge}\n`);
  await assertThrows(() => D.readSentences(join(d3, 'huge.jsonl')), /huge\.jsonl:2: a line of 1,400,026 characters is longer than the limit of 1,000,000 \(one sentence per line/);
  writeFileSync(join(d3, 'huge.conll'), `a O\n${'x'.repeat(1_000_001)} O\n`);
  await assertThrows(() => D.readSentences(join(d3, 'huge.conll')), /huge\.conll:2: a line of 1,000,003 characters is longer than the limit/);
  // Under the limit, a sentence of 150,000 words reads, and the character CNN's indices take it without spreading it into an argument list.
  const long = Array.from({ length: 150_000 }, (_, i) => `w${i % 10}`);
  writeFileSync(join(d3, 'long.jsonl'), JSON.stringify({ tokens: long, entities: [] }) + '\n');
  const [sent] = D.readSentences(join(d3, 'long.jsonl'));
  const { CharCNN } = await import('../../src/nn/char-cnn.js');
  if (CharCNN.indices(sent.tokens, new Map(), 20).L !== 2) throw new Error('char indices');
  rmSync(d3, { recursive: true, force: true });
});

s.run();
