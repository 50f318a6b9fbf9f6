import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_MODELS, bundledModelNames, readFolderConfig } from '../../models/index.js';
import type { Command } from '../command.js';

interface Provenance { dataset?: string; terms?: string; test?: { precision: number; recall: number; f1: number } }

export const modelsCommand: Command = {
  name: 'models',
  usage: 'models [--json]',
  summary: 'The bundled models: their kind, entity types, test scores and terms of use. Any command\'s --model takes their names.',
  flags: ['json'],
  positionals: false,
  async run({ values }) {
    const rows = bundledModelNames().map((name) => {
      const dir = join(BUNDLED_MODELS, name);
      const { config, kind } = readFolderConfig(dir);
      const provPath = join(dir, 'provenance.json');
      const prov = existsSync(provPath) ? JSON.parse(readFileSync(provPath, 'utf8')) as Provenance : {};
      return { name, kind, types: config.types as string[], dataset: prov.dataset, test: prov.test, terms: prov.terms, path: dir };
    });
    if (values.json) { console.log(JSON.stringify(rows, null, 1)); return; }
    if (!rows.length) { console.log(`no bundled models (${BUNDLED_MODELS} holds none)`); return; }
    for (const r of rows) {
      const test = r.test ? `test P ${r.test.precision.toFixed(2)} R ${r.test.recall.toFixed(2)} F1 ${r.test.f1.toFixed(2)}` : 'no test score recorded';
      console.log(`${r.name}  (${r.kind}) ${r.dataset ?? ''}\n  types: ${r.types.join(', ')}\n  ${test}\n  terms: ${r.terms ?? 'see the folder'}`);
    }
  },
};
