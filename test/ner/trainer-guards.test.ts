/**
 * Training guards: a non-finite loss skips the step (no update), is counted and reported; a run of
 * them aborts with a clear message and leaves the last good checkpoint, whose weights are finite.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { assertThrows } from '../helpers.js';
import type { DiffusionNER } from '../../src/models/diffusionner/model.js';

const s = suite('training guards');
const dir = mkdtempSync(join(tmpdir(), 'dner-guards-'));
const sents = Array.from({ length: 12 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris'], entities: [{ start: 2, end: 3, type: 'LOC' }] }));
writeFileSync(join(dir, 'd.jsonl'), sents.join('\n') + '\n');
const cfg = (out: string, maxBadSteps = 20): TrainConfig => ({
  data: { train: join(dir, 'd.jsonl') },
  model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
  train: { epochs: 2, batch: 3, lr: 1e-3, checkpointEvery: 1, maxBadSteps }, eval: { mode: 'flat', proposals: 3 }, out: join(dir, out),
});

s('one non-finite step is skipped, counted and reported, and training goes on', async () => {
  const lines: string[] = [];
  let saved: Float32Array | null = null;
  const live = new Map<number, number>();
  await train(cfg('transient'), T.cpu, {
    log: (l) => lines.push(l), progress: false,
    beforeStep: (step, model) => {
      live.set(step, T.memoryStats(T.cpu).liveTensors);
      const bias = (model as DiffusionNER).decoder.classifier.l2.bias!;
      if (step === 3) { saved = Float32Array.from(bias.array); bias.copyFrom([NaN, 0]); }
      if (step === 4) bias.copyFrom(saved!);
    },
  });
  if (!lines.some((l) => l === 'step 3: non-finite loss, step skipped (1 so far)')) throw new Error(lines.join('\n'));
  // The skipped step's forward pass (kept for a backward that never ran) is freed with it.
  if (live.get(4) !== live.get(3) || live.get(5) !== live.get(3)) throw new Error(`live tensors before steps 3, 4, 5: ${[3, 4, 5].map((k) => live.get(k))}`);
  const metrics = JSON.parse(readFileSync(join(dir, 'transient', 'metrics.json'), 'utf8'));
  if (metrics.epochs.at(-1).skippedSteps !== 1 || metrics.epochs.at(-1).steps !== 8) throw new Error(JSON.stringify(metrics.epochs.at(-1)));
});

s('a run of non-finite steps aborts with a clear message and keeps the last good checkpoint', async () => {
  await assertThrows(() => train(cfg('persistent', 3), T.cpu, {
    log: () => {}, progress: false,
    beforeStep: (step, model) => { if (step >= 3) (model as DiffusionNER).decoder.classifier.l2.bias!.copyFrom([NaN, 0]); },
  }), /^3 non-finite steps in a row at step 5: stopping; the last good checkpoint is in .*persistent \(lower the learning rate\)$/);
  const { dir: ckpt, state } = readCheckpoint(join(dir, 'persistent'));
  if (state.step !== 2) throw new Error(`last checkpoint at step ${state.step}, want 2`);
  for (const [name, t] of readSafetensors(join(ckpt, 'model.safetensors'))) {
    if (Array.from(t.data).some((v) => !Number.isFinite(v))) throw new Error(`${name} is not finite in the kept checkpoint`);
  }
  if (!existsSync(join(dir, 'persistent', 'train.log'))) throw new Error('no log');
});

s('a batch with no gold entity is skipped: no step and no update (as the official code)', async () => {
  const mixed = [0, 1, 2, 3, 4, 5].map((i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris'], entities: i % 3 === 0 ? [] : [{ start: 2, end: 3, type: 'LOC' }] }));
  writeFileSync(join(dir, 'mixed.jsonl'), mixed.join('\n') + '\n');
  const lines: string[] = [];
  const steps: number[] = [];
  await train({ ...cfg('skips'), data: { train: join(dir, 'mixed.jsonl') }, train: { epochs: 1, batch: 1, lr: 1e-3, checkpointEvery: 100 } }, T.cpu, {
    log: (l) => lines.push(l), progress: false, beforeStep: (step) => { steps.push(step); },
  });
  const metrics = JSON.parse(readFileSync(join(dir, 'skips', 'metrics.json'), 'utf8'));
  // Batch 1: the two entity-less sentences are batches of their own and never reach a step.
  if (metrics.epochs[0].steps !== 4 || steps.join() !== '1,2,3,4' || metrics.epochs[0].skippedSteps !== 0) throw new Error(`${JSON.stringify(metrics.epochs[0])} ${steps}`);
});

s('training data without a single entity is an error naming its files, before anything is trained', async () => {
  const none = [0, 1, 2].map((i) => JSON.stringify({ tokens: ['x', `w${i}`], entities: [] }));
  writeFileSync(join(dir, 'none-a.jsonl'), none.join('\n') + '\n');
  writeFileSync(join(dir, 'none-b.jsonl'), none.join('\n') + '\n');
  const files = [join(dir, 'none-a.jsonl'), join(dir, 'none-b.jsonl')];
  await assertThrows(() => train({ ...cfg('no-entities'), data: { train: files } }, T.cpu, { log: () => {}, progress: false }),
    /^\S*none-a\.jsonl, \S*none-b\.jsonl: no entities in the training data \(6 sentences\), so there is nothing to train on \(data\.train\)$/);
  if (existsSync(join(dir, 'no-entities', 'model'))) throw new Error('a model was saved');
});

s('train.correctBias switches Adam\'s bias correction on (the paper\'s Adam); off it is the official AdamW', async () => {
  const weights = async (out: string, correctBias?: boolean) => {
    const c = cfg(out);
    await train({ ...c, train: { ...c.train, epochs: 1, maxSteps: 3, ...(correctBias === undefined ? {} : { correctBias }) } }, T.cpu, { log: () => {}, progress: false });
    return readSafetensors(join(readCheckpoint(join(dir, out)).dir, 'model.safetensors')).get('decoder.classifier.2.weight')!.data;
  };
  const plain = await weights('adamw'), explicitOff = await weights('adamw-off', false), corrected = await weights('adam', true);
  if (Array.from(plain).some((v, i) => v !== explicitOff[i])) throw new Error('correctBias false is the default');
  if (!Array.from(plain).some((v, i) => v !== corrected[i])) throw new Error('bias correction changed nothing');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
