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

s('readLines decodes strictly and numbers lines across chunk boundaries', async () => {
  async function* chunks() { yield Buffer.from('ab\r\ncd'); yield Buffer.from('e\n\nf'); }
  const got = [];
  for await (const l of readLines(chunks(), 'in')) got.push(l);
  if (JSON.stringify(got) !== JSON.stringify([{ text: 'ab', line: 1 }, { text: 'cde', line: 2 }, { text: '', line: 3 }, { text: 'f', line: 4 }])) throw new Error(JSON.stringify(got));
  async function* bad() { yield Buffer.from('ok\n'); yield Buffer.from([0xe2, 0x28, 0xa1, 10]); }
  await assertThrows(async () => { for await (const _ of readLines(bad(), 'in')) { /* drain */ } }, /^in:2: invalid UTF-8$/);
});

s.run();
