import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { averageModelFolders, canonicalJson } from '../../nn/average.js';
import { cpu } from '../../tensor/device.js';
import { openModel } from '../../models/index.js';
import type { Command } from '../command.js';
import { UsageError } from '../parse.js';

/** Settings that say how a model was started or how text is split, not what it computes. */
const NOT_ARCHITECTURE = ['vocab', 'init', 'clitics'];

export const averageCommand: Command = {
  name: 'average',
  usage: 'average --out DIR MODEL_DIR MODEL_DIR ... [--no-verify]',
  summary: 'Checkpoint averaging: writes the mean of the weights of several model folders of one architecture (e.g. the last epochs of one run, kept with --keep-epoch-models).',
  flags: ['out', 'no-verify'],
  positionals: true,
  async run({ values, positionals }) {
    const out = values.out as string | undefined;
    if (!out || positionals.length < 2) throw new UsageError('average needs --out DIR and at least two model folders: diffusionner average --out DIR MODEL_DIR MODEL_DIR ...');
    for (const d of positionals) if (!existsSync(d)) throw new Error(`${d}: no such model folder`);
    if (positionals.some((d) => resolve(d) === resolve(out))) throw new UsageError(`--out ${out} is one of the folders being averaged`);
    // Compared as loaded (defaults filled in): train writes the given settings, export all of them.
    const architectures = new Map<string, string>();
    for (const d of positionals) {
      const m = await openModel(d, cpu, undefined, { verify: !values['no-verify'] });
      const settings = Object.fromEntries(Object.entries(m.folder().config).filter(([k]) => !NOT_ARCHITECTURE.includes(k)));
      architectures.set(d, canonicalJson(settings));
      m.dispose();
    }
    const r = averageModelFolders(positionals, out, ['vocab.txt'], (d) => architectures.get(d)!);
    const check = await openModel(out, cpu);
    const phi = check.defaultThreshold;
    check.dispose();
    console.log(`wrote ${out}: the mean of ${positionals.length} models (${r.parameters.toLocaleString('en')} parameters in ${r.tensors} tensors); the threshold is the default ${phi} unless --threshold is given`);
  },
};
