/**
 * The models shipped in models/ (issue: "at most 20 MB, f16 storage is fine"): present, small, f16, with
 * their provenance (the training command and a test score), and each loads and tags a sentence on the cpu device.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { loadDiffusionNER } from '../helpers.js';
import { safetensorsHeader } from '../../src/nn/safetensors.js';

const s = suite('the bundled models');
const models = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'models');

const bundled = [
  { name: 'conll2003', tokens: ['Peter', 'Blackburn', 'of', 'Reuters', 'reported', 'from', 'Brussels', '.'] },
  { name: 'genia', tokens: ['IL-2', 'gene', 'expression', 'requires', 'NF-kappa', 'B', 'in', 'T', 'cells', '.'] },
];

for (const { name, tokens } of bundled) {
  s(`models/${name} is at most 20 MB of f16 weights with its provenance, and tags text`, async () => {
    const dir = join(models, name);
    for (const f of ['config.json', 'vocab.txt', 'model.safetensors', 'selection.json', 'provenance.json']) if (!existsSync(join(dir, f))) throw new Error(`models/${name}/${f} is missing`);
    const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    if (bytes > 20e6) throw new Error(`${bytes} bytes is over 20 MB`);
    const dtypes = new Set(Object.values(safetensorsHeader(join(dir, 'model.safetensors'))).map((t) => t.dtype));
    if ([...dtypes].join() !== 'F16') throw new Error(`weights are ${[...dtypes]}`);
    const prov = JSON.parse(readFileSync(join(dir, 'provenance.json'), 'utf8'));
    if (!new RegExp(`diffusionner train --config configs/${name}[\\w-]*\\.json`).test(prov.command) || !(prov.test?.f1 >= 0)) throw new Error(JSON.stringify(prov));
    const model = await loadDiffusionNER(dir, T.cpu);
    model.eval();
    const b = model.batch([{ tokens, entities: [] }], T.cpu);
    const out = await model.predict(b, { steps: 2 });
    DiffusionNER.disposeBatch(b);
    if (!Array.isArray(out[0])) throw new Error('no prediction');
    model.dispose();
  });
}

s('each bundled model ships model.safetensors.sha256 (sha256sum format) matching its weights', () => {
  for (const { name } of bundled) {
    const dir = join(models, name);
    const sum = join(dir, 'model.safetensors.sha256');
    if (!existsSync(sum)) throw new Error(`models/${name}/model.safetensors.sha256 is missing`);
    const want = `${createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex')}  model.safetensors\n`;
    if (readFileSync(sum, 'utf8') !== want) throw new Error(`models/${name}/model.safetensors.sha256 does not match the weights`);
  }
});

s.run();
