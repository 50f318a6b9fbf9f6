import { formatProgress, readRunRecords, summariseEpochs } from '../../ner/train/run-progress.js';
import type { Command } from '../command.js';
import { UsageError } from '../parse.js';

export const progressCommand: Command = {
  name: 'progress',
  usage: 'progress RUN_DIR [--json]',
  summary: 'A training run\'s epochs so far, while it trains or after: steps, seconds, sentences/s, mean losses, dev F1 at the chosen threshold, and the test score once there is one.',
  flags: ['json'],
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError('progress needs one run folder: diffusionner progress RUN_DIR');
    const r = readRunRecords(positionals[0]);
    if (values.json) console.log(JSON.stringify({ state: r.state, ...(r.stoppedBy ? { stoppedBy: r.stoppedBy } : {}), epochs: summariseEpochs(r.epochs, r.steps), ...(r.test ? { test: r.test } : {}) }, null, 1));
    else console.log(formatProgress(r));
  },
};
