/**
 * `model.embeddingDropout` (scratch encoder): dropout on the BiLSTM's input while training only. At 0
 * (the default) training-mode encoding is deterministic and draws nothing from the model's generator, so
 * runs without it are unchanged; the BERT path refuses it, as the official code has no dropout there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER, type ModelConfig } from '../../src/models/diffusionner/model.js';
import { parseBertConfig } from '../../src/nn/bert.js';
import { parseTrainConfig } from '../../src/models/index.js';
import { checkModelConfig } from '../../src/models/diffusionner/config.js';
import { assertThrows } from '../helpers.js';

const s = suite('embedding dropout (scratch encoder)');
const sentences = [{ tokens: ['Angela', 'Merkel', 'visited', 'Paris', '.'] }, { tokens: ['Paris', 'is', 'big'] }];
const config = (embeddingDropout: number): ModelConfig => ({
  vocab: ['<pad>', '<unk>', 'Angela', 'Merkel', 'visited', 'Paris', '.', 'is'], types: ['PER', 'LOC'],
  hidden: 8, embedding: 6, lstmLayers: 2, proposals: 3, heads: 2, ffn: 8, dropout: 0,
  chars: ['<pad>', '<unk>', 'a', 'e', 'r', 'i', 's'], charEmbedding: 4, charFilters: 4, embeddingDropout,
});
const encode = async (model: DiffusionNER) => {
  const b = model.batch(sentences, T.cpu);
  const h = model.encode(b);
  const out = Array.from(await h.data());
  h.dispose();
  DiffusionNER.disposeBatch(b);
  return out;
};
const equal = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

s('at 0: training-mode encoding equals evaluation-mode encoding and draws no random numbers', async () => {
  const model = new DiffusionNER(config(0), { device: T.cpu, rng: new T.RNG(5) });
  model.eval();
  const evaluated = await encode(model);
  model.train();
  const before = model.rng.state;
  const trained = await encode(model);
  if (!equal(evaluated, trained)) throw new Error('training mode changed the encoding without any dropout');
  if (JSON.stringify(model.rng.state) !== JSON.stringify(before)) throw new Error('the generator moved');
  model.dispose();
});

s('above 0: training draws a fresh mask each call; evaluation equals the same weights without it', async () => {
  const model = new DiffusionNER(config(0.5), { device: T.cpu, rng: new T.RNG(5) });
  const plain = new DiffusionNER(config(0), { device: T.cpu, rng: new T.RNG(6) });
  await plain.loadStateDict(model.stateDict());
  model.eval(); plain.eval();
  const [evaluated, reference] = [await encode(model), await encode(plain)];
  if (!equal(evaluated, reference)) throw new Error('evaluation mode is not dropout-free');
  model.train();
  const [first, second] = [await encode(model), await encode(model)];
  if (equal(first, evaluated) || equal(first, second)) throw new Error('training mode did not drop anything, or drew the same mask twice');
  model.dispose(); plain.dispose();
});

s('the BERT encoder takes it too (BOPN\'s official BERT path has 0.5); training configs and model folders take it as a fraction', async () => {
  const fixture = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'tiny-bert', 'config.json');
  const bert = parseBertConfig(readFileSync(fixture, 'utf8'), fixture);
  const bertVocab = readFileSync(join(fixture, '..', 'vocab.txt'), 'utf8').split('\n').filter((w) => w !== '');
  const withBert = new DiffusionNER({ ...config(0.3), encoder: 'bert', bert, vocab: bertVocab }, { device: T.cpu });
  if (!withBert.encoder.inputDropout || withBert.encoder.inputDropout.p !== 0.3) throw new Error('the BERT encoder has no input dropout');
  withBert.dispose();
  const cfg = (p: number) => JSON.stringify({ data: { train: 'a.jsonl' }, model: { hidden: 8, embeddingDropout: p }, train: { epochs: 1, batch: 1, lr: 1e-3 }, eval: { mode: 'flat' } });
  if (parseTrainConfig(cfg(0.5), 'c.json').model.embeddingDropout !== 0.5) throw new Error('0.5 not read');
  checkModelConfig({ hidden: 8, types: ['A'], embeddingDropout: 0.5 }, 'model/config.json');
  await assertThrows(() => checkModelConfig({ hidden: 8, types: ['A'], embeddingDropout: -0.1 }, 'model/config.json'), /model\/config\.json: field 'embeddingDropout' must be a number in \[0, 1\), got -0\.1/);
  await assertThrows(() => parseTrainConfig(cfg(1), 'c.json'), /c\.json: field 'model\.embeddingDropout' must be a number in \[0, 1\), got 1/);
});

s.run();
