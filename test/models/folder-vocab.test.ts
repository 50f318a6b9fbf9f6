/**
 * A model folder whose vocab.txt does not match its weights (one entry per row of the word embedding)
 * is refused with one line naming the vocab.txt and both sizes, not a shape error deep in loading.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { factory, openModel } from '../../src/models/index.js';
import { saveModelFolder } from '../../src/nn/folder.js';
import { RNG } from '../../src/tensor/random.js';
import { assertThrows } from '../helpers.js';

const s = suite('a model folder\'s vocabulary and weights');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'dner-folder-vocab-'));
const folder = join(dir, 'model');
const vocabFile = join(folder, 'vocab.txt');

s('a folder as saved loads; one entry fewer or more in vocab.txt is one line naming it and both sizes', async () => {
  const model = factory.create({ kind: 'diffusionner', vocab: ['[PAD]', '[UNK]', 'Paris', 'met'], types: ['LOC'], hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 }, T.cpu, new RNG(1));
  const { config, files } = model.folder();
  await saveModelFolder(folder, model, config, files);
  model.dispose();
  (await openModel(folder, T.cpu)).dispose();
  const saved = readFileSync(vocabFile, 'utf8');
  const mismatch = (n: number) => new RegExp(`^${vocabFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ${n} entries, but the word embedding in \\S+model\\.safetensors has 4 rows \\(the vocabulary belongs to another model\\)$`);
  writeFileSync(vocabFile, saved.split('\n').slice(0, 3).join('\n') + '\n');
  await assertThrows(() => openModel(folder, T.cpu), mismatch(3));
  writeFileSync(vocabFile, `${saved}Berlin\n`);
  await assertThrows(() => openModel(folder, T.cpu), mismatch(5));
  // The command line says the same, on one line.
  const r = spawnSync(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), 'predict', '--model', folder, 'Paris'], { encoding: 'utf8', env: { ...process.env, DNER_DEVICE: 'cpu' }, timeout: 120_000 });
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning: '));
  if (r.status === 0 || lines.length !== 1 || !lines[0].startsWith(`diffusionner: ${vocabFile}: 5 entries, but the word embedding in `)) throw new Error(`status ${r.status}: ${r.stderr}`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
