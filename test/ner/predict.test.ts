import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/ner/model.js';
import { predictStream, readLines } from '../../src/ner/predict.js';
import { assertThrows } from '../helpers.js';

const s = suite('predict streams its input');

s('sentences are tagged and emitted while the input is still being read (bounded memory)', async () => {
  const model = new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a'], types: ['X'], hidden: 4, lstmLayers: 1, proposals: 2, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(1) });
  let pulled = 0;
  const pulledAtEmit: number[] = [];
  async function* lines() { for (let i = 1; i <= 200; i++) { pulled++; yield { text: i % 7 === 0 ? '' : `a b c ${i}`, line: i }; } }
  const r = await predictStream(model, T.cpu, lines(), { batch: 4, steps: 1, maxWords: 3 }, () => pulledAtEmit.push(pulled));
  if (pulledAtEmit[0] > 8) throw new Error(`the first sentence came out after ${pulledAtEmit[0]} lines were read`);
  if (r.lines !== 200 || r.split !== 172 || r.sentences !== 2 * 172) throw new Error(JSON.stringify(r));
  model.dispose();
});

s('nested output names each (span, type) once, though the decoder keeps identical candidates', async () => {
  // Untrained, with φ 0 and many proposals, the proposals pile onto few spans.
  const model = new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a'], types: ['X', 'Y'], hidden: 4, lstmLayers: 1, proposals: 24, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(3) });
  model.eval();
  const b = model.batch([{ tokens: ['a', 'b', 'c'], entities: [] }], T.cpu);
  const raw = await model.predict(b, { steps: 2, threshold: 0, mode: 'nested', rng: new T.RNG(0) });
  DiffusionNER.disposeBatch(b);
  const key = (l: number, r: number, t: string) => `${l},${r},${t}`;
  const rawKeys = raw[0].map((c) => key(c.left, c.right, model.c.types[c.type - 1]));
  if (new Set(rawKeys).size === rawKeys.length) throw new Error(`no identical candidates to collapse: ${rawKeys}`);
  const out: { start: number; end: number; type: string }[] = [];
  async function* one() { yield { text: 'a b c', line: 1 }; }
  await predictStream(model, T.cpu, one(), { steps: 2, threshold: 0, mode: 'nested', seed: 0 }, (s) => out.push(...s.entities));
  const outKeys = out.map((e) => key(e.start, e.end - 1, e.type));
  if (new Set(outKeys).size !== outKeys.length || new Set(outKeys).size !== new Set(rawKeys).size) throw new Error(`raw ${rawKeys} → emitted ${outKeys}`);
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

s.run();
