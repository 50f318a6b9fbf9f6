import { statSync } from 'node:fs';
import { join } from 'node:path';
import { saveModelFolder } from '../../nn/folder.js';
import { cpu } from '../../tensor/device.js';
import { formatSelection, SELECTION_FILE } from '../../ner/selection.js';
import type { Command } from '../command.js';
import { loadModelOf, modelDirOf } from '../common.js';
import { UsageError } from '../parse.js';

export const exportCommand: Command = {
  name: 'export',
  usage: 'export --model DIR|NAME --out DIR [--f16] [--no-verify]',
  summary: 'Copies a model folder (config.json with its kind, vocabulary, weights, selection.json), optionally with f16 weights (half the size).',
  flags: ['model', 'out', 'f16', 'no-verify'],
  positionals: false,
  async run({ values }) {
    if (!values.model || !values.out) throw new UsageError('export needs --model DIR and --out DIR');
    const { dir, selection } = modelDirOf('export', values);
    const out = values.out as string;
    const model = await loadModelOf(dir, cpu, values);
    const { config, files } = model.folder();
    await saveModelFolder(out, model, config, { ...files, ...(selection ? { [SELECTION_FILE]: formatSelection(selection) } : {}) }, { f16: !!values.f16 });
    model.dispose();
    const size = statSync(join(out, 'model.safetensors')).size;
    console.log(`wrote ${out} (${(size / 2 ** 20).toFixed(1)} MiB of weights${values.f16 ? ', f16' : ''})`);
  },
};
