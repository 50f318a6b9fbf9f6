import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { type Entity, readLines, tagSentences, tagStream, windowStarts } from '../../src/ner/predict.js';
import fc from 'fast-check';
import { assertThrows } from '../helpers.js';

const s = suite('predict streams its input');
const tiny = (types: string[], proposals: number, seed: number) =>
  new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a'], types, hidden: 4, lstmLayers: 1, proposals, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(seed) });

s('documents are tagged and emitted while the input is still being read (bounded memory), in order', async () => {
  const model = tiny(['X'], 2, 1);
  let pulled = 0;
  const pulledAtEmit: number[] = [], order: number[] = [];
  function* lines() { for (let i = 1; i <= 200; i++) { pulled++; yield { text: i % 7 === 0 ? '' : `a b c ${i}`, line: i }; } }
  const r = { documents: 0, sentences: 0, windowed: 0, entities: 0, seconds: 0 };
  for await (const { doc } of tagStream(model, T.cpu, lines(), (d) => d.text, { batch: 4, inference: { steps: 1 }, maxWords: 3 }, r)) { pulledAtEmit.push(pulled); order.push(doc.line); }
  if (pulledAtEmit[0] > 8) throw new Error(`the first document came out after ${pulledAtEmit[0]} were read`);
  if (order.join() !== Array.from({ length: 200 }, (_, i) => i + 1).join()) throw new Error('documents out of order');
  // 172 non-blank lines of 4 words, each tagged in two windows of 3.
  if (r.documents !== 200 || r.windowed !== 172 || r.sentences !== 172) throw new Error(JSON.stringify(r));
  model.dispose();
});

s('a long document streams: its sentences come out, in order, while later ones are still untagged', async () => {
  const model = tiny(['X'], 2, 1);
  let batches = 0;
  const infer = model.infer.bind(model);
  model.infer = (...a: Parameters<typeof infer>) => { batches++; return infer(...a); };
  // 300 sentences on one line, then a second document.
  const text = 'A b. '.repeat(300).trim();
  const events: { kind: string; batches: number; index?: number }[] = [];
  const r = { documents: 0, sentences: 0, windowed: 0, entities: 0, seconds: 0 };
  for await (const e of tagSentences(model, T.cpu, [text, 'a'], (t) => t, { batch: 8, inference: { steps: 1 } }, r)) {
    events.push({ kind: e.kind, batches, ...(e.kind === 'sentence' ? { index: e.index } : {}) });
  }
  const sentences = events.filter((e) => e.kind === 'sentence');
  if (sentences.length !== 301 || events.filter((e) => e.kind === 'end').length !== 2 || r.sentences !== 301) throw new Error(`${sentences.length} sentences, ${JSON.stringify(r)}`);
  if (sentences[0].batches > 1) throw new Error(`the first sentence came out after ${sentences[0].batches} batches`);
  if (sentences.slice(0, 300).some((e, i) => e.index !== i) || events[300].kind !== 'end' || sentences[300].index !== 0) throw new Error('sentences out of order');
  if (batches !== Math.ceil(301 / 8)) throw new Error(`${batches} batches for 301 sentences in batches of 8`);
  model.dispose();
});

/** All entities of one document, tagged at φ 0 by an untrained model (proposals pile onto few spans). */
async function entitiesOf(model: DiffusionNER, text: string, o: Parameters<typeof tagStream>[4] = {}): Promise<Entity[]> {
  const out: Entity[] = [];
  for await (const { tagged } of tagStream(model, T.cpu, [text], (t) => t, { inference: { steps: 2 }, threshold: 0, seed: 0, ...o })) out.push(...tagged.entities);
  return out;
}

s('nested output names each (span, type) once, though the decoder keeps identical candidates', async () => {
  const model = tiny(['X', 'Y'], 24, 3);
  model.eval();
  const b = model.batch([{ tokens: ['a', 'b', 'c'], entities: [] }], T.cpu);
  const raw = await model.predict(b, { steps: 2, threshold: 0, mode: 'nested', rng: new T.RNG(0) });
  DiffusionNER.disposeBatch(b);
  const key = (l: number, r: number, t: string) => `${l},${r},${t}`;
  const rawKeys = raw[0].map((c) => key(c.left, c.right, model.c.types[c.type - 1]));
  if (new Set(rawKeys).size === rawKeys.length) throw new Error(`no identical candidates to collapse: ${rawKeys}`);
  const outKeys = (await entitiesOf(model, 'a b c', { mode: 'nested' })).map((e) => key(e.tokenStart, e.tokenEnd - 1, e.type));
  if (new Set(outKeys).size !== outKeys.length || new Set(outKeys).size !== new Set(rawKeys).size) throw new Error(`raw ${rawKeys} → emitted ${outKeys}`);
  model.dispose();
});

s('entities carry UTF-16 and code-point offsets into the document, their sentence and word span, and a score in [0, 1]', async () => {
  const model = tiny(['X', 'Y'], 24, 3);
  // An astral character (two UTF-16 units, one code point) before the words, and a second line (sentence 1).
  const text = '𝔸 a b\nc  a';
  const ents = await entitiesOf(model, text, { mode: 'nested' });
  if (!ents.length || !ents.some((e) => e.sentence === 1)) throw new Error(`entities: ${JSON.stringify(ents)}`);
  const cps = [...text];
  for (const e of ents) {
    if (text.slice(e.start, e.end) !== e.text) throw new Error(`slice(${e.start}, ${e.end}) is not '${e.text}'`);
    if (cps.slice(e.startCp, e.endCp).join('') !== e.text) throw new Error(`code points ${e.startCp}..${e.endCp} are not '${e.text}'`);
    if (!(e.score >= 0 && e.score <= 1)) throw new Error(`score ${e.score}`);
    const words = text.split('\n')[e.sentence].split(/\s+/).filter(Boolean);
    if (words.slice(e.tokenStart, e.tokenEnd).join(' ') !== e.text.split(/\s+/).join(' ')) throw new Error(`words ${e.tokenStart}..${e.tokenEnd} of sentence ${e.sentence} are not '${e.text}'`);
  }
  if (ents.find((e) => e.sentence === 0 && e.start > 0)?.startCp === ents.find((e) => e.sentence === 0 && e.start > 0)?.start) throw new Error('the astral character must shift code points by one against UTF-16 units');
  model.dispose();
});

s('a minimum score drops entities below it, for every type or per type', async () => {
  const model = tiny(['X', 'Y'], 24, 3);
  const all = await entitiesOf(model, 'a b c a', { mode: 'nested' });
  const scores = all.map((e) => e.score).sort((x, y) => x - y);
  const mid = scores[Math.floor(scores.length / 2)];
  const kept = await entitiesOf(model, 'a b c a', { mode: 'nested', minScore: mid });
  if (kept.length !== all.filter((e) => e.score >= mid).length || kept.some((e) => e.score < mid)) throw new Error(`minScore ${mid}: ${kept.length} of ${all.length}`);
  const perType = await entitiesOf(model, 'a b c a', { mode: 'nested', minScore: { X: 2 } });
  if (perType.some((e) => e.type === 'X') || perType.length !== all.filter((e) => e.type !== 'X').length) throw new Error('per-type minimum');
  model.dispose();
});

s('windows cover the sentence, overlap by half a window, and the last ends at the sentence\'s end', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 64 }), (n, size) => {
    const starts = windowStarts(n, size);
    if (n <= size) { if (starts.join() !== '0') throw new Error(`${n} words, window ${size}: ${starts}`); return; }
    if (starts[0] !== 0 || starts.at(-1)! + size !== n) throw new Error(`${n}, ${size}: ${starts}`);
    for (let i = 1; i < starts.length; i++) {
      const overlap = starts[i - 1] + size - starts[i];
      if (starts[i] <= starts[i - 1] || overlap < Math.floor(size / 2)) throw new Error(`${n}, ${size}: ${starts}`);
    }
  }));
});

s('a sentence longer than the window is tagged in windows, marked windowed, with entities on its own words and the filters holding', async () => {
  const model = tiny(['X', 'Y'], 24, 3);
  const words = Array.from({ length: 23 }, (_, i) => ['a', 'b', 'c'][i % 3]);
  const text = words.join(' ');
  for (const mode of ['flat', 'nested'] as const) {
    const sents: { windowed?: true }[] = [], ents: Entity[] = [];
    for await (const { tagged } of tagStream(model, T.cpu, [text], (t) => t, { inference: { steps: 2 }, threshold: 0, maxWords: 6, batch: 3, mode })) {
      sents.push(...tagged.sentences); ents.push(...tagged.entities);
    }
    if (sents.length !== 1 || sents[0].windowed !== true || !ents.length) throw new Error(`${mode}: ${JSON.stringify(sents)} ${JSON.stringify(ents)}`);
    for (const e of ents) if (text.slice(e.start, e.end) !== e.text || words.slice(e.tokenStart, e.tokenEnd).join(' ') !== e.text) throw new Error(JSON.stringify(e));
    for (const a of ents) for (const b of ents) {
      const overlap = a !== b && a.tokenStart < b.tokenEnd && b.tokenStart < a.tokenEnd;
      const cross = overlap && !(a.tokenStart <= b.tokenStart && b.tokenEnd <= a.tokenEnd) && !(b.tokenStart <= a.tokenStart && a.tokenEnd <= b.tokenEnd);
      if (mode === 'flat' ? overlap : cross) throw new Error(`${mode}: ${JSON.stringify([a, b])}`);
    }
    // Entities come from the later windows too, not only the first.
    if (mode === 'nested' && !ents.some((e) => e.tokenStart >= 9)) throw new Error(`nested: only early entities ${JSON.stringify(ents)}`);
  }
  model.dispose();
});

s('pre-tokenised input is one sentence of those words, joined by spaces', async () => {
  const model = tiny(['X'], 4, 3);
  for await (const { tagged } of tagStream(model, T.cpu, [{ tokens: ['New', 'York', '.'] }], (d) => d, { inference: { steps: 1 } })) {
    if (tagged.text !== 'New York .' || tagged.sentences.length !== 1 || tagged.sentences[0].tokens.join('|') !== 'New|York|.') throw new Error(JSON.stringify(tagged));
  }
  model.dispose();
});

s('readLines decodes strictly and numbers lines across chunk boundaries', async () => {
  async function* chunks() { yield Buffer.from('ab\r\ncd'); yield Buffer.from('e\n\nf'); }
  const got = [];
  for await (const l of readLines(chunks(), 'in')) got.push(l);
  if (JSON.stringify(got) !== JSON.stringify([{ text: 'ab', line: 1 }, { text: 'cde', line: 2 }, { text: '', line: 3 }, { text: 'f', line: 4 }])) throw new Error(JSON.stringify(got));
  async function* bad() { yield Buffer.from('ok\n'); yield Buffer.from([0xe2, 0x28, 0xa1, 10]); }
  await assertThrows(async () => { for await (const _ of readLines(bad(), 'in')) { /* drain */ } }, /^in:2: invalid UTF-8$/);
});

s('readLines gives the same lines however the bytes are cut into chunks', async () => {
  await fc.assert(fc.asyncProperty(
    fc.string({ unit: fc.constantFrom('a', 'é', '中', '😀', '\n', '\r\n', ' '), maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }),
    async (text, cuts) => {
      const bytes = Buffer.from(text), at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      async function* chunks() { let from = 0; for (const c of [...at, bytes.length]) { if (c > from) yield bytes.subarray(from, c); from = Math.max(from, c); } }
      const got: string[] = [];
      for await (const l of readLines(chunks(), 'in')) got.push(l.text);
      const want = text.split('\n').map((l) => l.replace(/\r$/, ''));
      if (want.at(-1) === '') want.pop();
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${JSON.stringify(text)} cut at ${at}: ${JSON.stringify(got)}`);
    }));
});

s.run();
