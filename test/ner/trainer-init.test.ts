/**
 * Warm starts (`train --init MODEL_DIR`): the run begins from the folder's weights, vocabulary and model
 * settings (the config's model section gives way), data with other types is refused, and a checkpoint
 * to resume from takes precedence over the folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { assertThrows, loadDiffusionNER } from '../helpers.js';
import type { DiffusionNER } from '../../src/models/diffusionner/model.js';

const s = suite('training from a trained model (--init)');
const dir = mkdtempSync(join(tmpdir(), 'dner-init-'));
const write = (name: string, type: string, extra: string) => {
  const sents = Array.from({ length: 9 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris', extra], entities: [{ start: 2, end: 3, type }] }));
  writeFileSync(join(dir, name), sents.join('\n') + '\n');
};
write('a.jsonl', 'LOC', 'y');
write('b.jsonl', 'LOC', 'unseen');
write('other.jsonl', 'ORG', 'y');
const cfg = (data: string, out: string, hidden: number): TrainConfig => ({
  data: { train: join(dir, data) },
  model: { hidden, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
  train: { epochs: 1, batch: 3, lr: 1e-3, checkpointEvery: 1 }, eval: { mode: 'flat', proposals: 3 }, out: join(dir, out),
});
const quiet = { log: () => {}, progress: false as const };

s('the first step starts from the folder\'s weights, vocabulary and settings, not the config\'s', async () => {
  await train(cfg('a.jsonl', 'first', 8), T.cpu, quiet);
  const source = await loadDiffusionNER(join(dir, 'first', 'model'), T.cpu);
  const want = new Map([...source.namedParameters()].map(([n, p]) => [n, Array.from(p.array)]));
  let checked = 0;
  const lines: string[] = [];
  // Other data and another hidden size in the config: the folder's vocabulary and size win.
  await train(cfg('b.jsonl', 'second', 16), T.cpu, {
    log: (l) => lines.push(l), progress: false, init: join(dir, 'first', 'model'),
    beforeStep: (step, model) => {
      if (step !== 1) return;
      const c = (model as DiffusionNER).c;
      if (c.hidden !== 8 || c.vocab.join(' ') !== source.c.vocab.join(' ')) throw new Error(`settings: hidden ${c.hidden}, vocabulary ${c.vocab.join(' ')}`);
      for (const [n, p] of model.namedParameters()) {
        const w = want.get(n);
        if (!w || Array.from(p.array).some((v, i) => v !== w[i])) throw new Error(`${n} does not start from the folder's weights`);
        checked++;
      }
    },
  });
  if (checked !== want.size || checked === 0) throw new Error(`compared ${checked} of ${want.size} tensors`);
  if (!lines.some((l) => l.startsWith(`initialised from ${join(dir, 'first', 'model')}`))) throw new Error(lines.join('\n'));
  // The trained folder moved on from its starting point.
  const after = await loadDiffusionNER(join(dir, 'second', 'model'), T.cpu);
  if (![...after.namedParameters()].some(([n, p]) => Array.from(p.array).some((v, i) => v !== want.get(n)![i]))) throw new Error('training did not change the weights');
  source.dispose(); after.dispose();
});

s('data whose types differ from the model\'s is refused with both lists', async () => {
  await assertThrows(() => train(cfg('other.jsonl', 'other', 8), T.cpu, { ...quiet, init: join(dir, 'first', 'model') }), /first[/\\]model: the model's types \(LOC\) differ from the data's \(ORG\)$/);
});

s('a checkpoint to resume from takes precedence over --init', async () => {
  const lines: string[] = [];
  // The config the 'second' run began with (its model section gave way to the folder's then, too), one
  // epoch longer: the schedule is re-sized.
  await train({ ...cfg('b.jsonl', 'second', 16), train: { ...cfg('b.jsonl', 'second', 16).train, epochs: 2 } }, T.cpu, { log: (l) => lines.push(l), progress: false, resume: true, reschedule: true, init: join(dir, 'first', 'model') });
  if (!lines.some((l) => l.startsWith('resuming from')) || lines.some((l) => l.startsWith('initialised from'))) throw new Error(lines.join('\n'));
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
