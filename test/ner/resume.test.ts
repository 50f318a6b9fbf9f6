/**
 * `train --resume` continues the run it claims to, or refuses: other training data, other types or
 * another model section than the run began with are named, and a fresh run never starts in a folder
 * holding another run's checkpoint (a later --resume would continue the wrong run).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readCheckpoint, restoreOptimizer } from '../../src/ner/train/checkpoint.js';
import { checkResume, trainDataFingerprint } from '../../src/ner/train/resume.js';
import { AdamW } from '../../src/nn/optim.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { assertThrows, loadDiffusionNER } from '../helpers.js';

const s = suite('resuming a training run');
const dir = mkdtempSync(join(tmpdir(), 'dner-resume-'));
const write = (name: string, n: number, type = 'LOC', word = 'Paris') => {
  const sents = Array.from({ length: n }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, word], entities: [{ start: 2, end: 3, type }] }));
  writeFileSync(join(dir, name), sents.join('\n') + '\n');
};
write('train.jsonl', 9);
const cfg = (hidden = 8): TrainConfig => ({
  data: { train: join(dir, 'train.jsonl') },
  model: { hidden, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
  train: { epochs: 2, batch: 3, lr: 1e-3, checkpointEvery: 1, maxSteps: 2 }, eval: { mode: 'flat', proposals: 3 }, out: join(dir, 'run'),
});
const quiet = { log: () => {}, progress: false as const };
const resume = { ...quiet, resume: true };
const cannot = /step-[0-9-]+: cannot resume: /;

s('a run stopped after two steps leaves a checkpoint; a fresh run into its folder is refused', async () => {
  await train(cfg(), T.cpu, quiet);
  const { state } = JSON.parse(readFileSync(join(dir, 'run', 'metrics.json'), 'utf8'));
  if (state !== 'stopped') throw new Error(`metrics.json state after maxSteps: ${state}`);
  await assertThrows(() => train(cfg(), T.cpu, quiet), /run holds a checkpoint of an earlier run: add --resume to continue it, or choose another --out$/);
});

s('another model section, other training data or other types are refused, naming what changed', async () => {
  await assertThrows(() => train(cfg(16), T.cpu, resume), new RegExp(`${cannot.source}the config's model section changed since the run began: hidden 8 -> 16 `));
  const lastLine = readFileSync(join(dir, 'run', 'train.log'), 'utf8').trim().split('\n').at(-1)!;
  if (!lastLine.startsWith('resume refused: ') || !lastLine.includes('hidden 8 -> 16')) throw new Error(`train.log ends with: ${lastLine}`);
  write('train.jsonl', 9, 'LOC', 'Rome');
  await assertThrows(() => train(cfg(), T.cpu, resume), new RegExp(`${cannot.source}the training set changed: 9 sentences now, 9 when the run began \\(same count, other content\\)`));
  write('train.jsonl', 12);
  await assertThrows(() => train(cfg(), T.cpu, resume), /the training set changed: 12 sentences now, 9 when the run began /);
  write('train.jsonl', 9, 'ORG');
  await assertThrows(() => train(cfg(), T.cpu, resume), new RegExp(`${cannot.source}the model's types \\(LOC\\) differ from the data's \\(ORG\\)`));
});

s('a changed maxSteps or epochs (they size the learning-rate schedule) is refused, naming the change, unless reschedule accepts it', async () => {
  write('train.jsonl', 9);
  const hint = ' \\(resume with the run\'s own --epochs and --max-steps, or add --reschedule to re-size the schedule\\)$';
  await assertThrows(() => train({ ...cfg(), train: { ...cfg().train, maxSteps: 4 } }, T.cpu, resume), new RegExp(`${cannot.source}the learning-rate schedule would change: maxSteps 2 -> 4${hint}`));
  await assertThrows(() => train({ ...cfg(), train: { ...cfg().train, epochs: 3, maxSteps: undefined } }, T.cpu, resume), new RegExp(`${cannot.source}the learning-rate schedule would change: epochs 2 -> 3, maxSteps 2 -> \\(unset\\)${hint}`));
});

s('the same config and data resume and go on; with reschedule, a longer schedule too', async () => {
  write('train.jsonl', 9);
  const lines: string[] = [];
  const steps: number[] = [];
  await train({ ...cfg(), train: { ...cfg().train, maxSteps: 4 } }, T.cpu, { log: (l) => lines.push(l), progress: false, resume: true, reschedule: true, beforeStep: (step) => steps.push(step) });
  if (!lines.some((l) => l.startsWith('resuming from')) || steps.join() !== '3,4') throw new Error(`steps ${steps.join()}:\n${lines.join('\n')}`);
  if (!lines.includes('the learning-rate schedule is re-sized (--reschedule): maxSteps 2 -> 4')) throw new Error(lines.join('\n'));
  // The checkpoint now records the new size: the same settings resume without reschedule.
  await train({ ...cfg(), train: { ...cfg().train, maxSteps: 4 } }, T.cpu, resume);
});

s('resume with nothing to resume is an error naming the folder, not a fresh start', async () => {
  const missing = join(dir, 'no-such-run');
  await assertThrows(() => train({ ...cfg(), out: missing }, T.cpu, resume), /no-such-run: nothing to resume \(no such folder\); drop --resume to start a new run there$/);
  if (existsSync(missing)) throw new Error('the refused resume created its folder');
  // A run killed before its first checkpoint leaves its log and nothing to resume.
  mkdirSync(join(dir, 'early'));
  writeFileSync(join(dir, 'early', 'train.log'), '');
  await assertThrows(() => train({ ...cfg(), out: join(dir, 'early') }, T.cpu, resume), /early: nothing to resume \(its run wrote no checkpoint\); drop --resume to start a new run there$/);
});

s('the checkpoint keeps each parameter\'s AdamW update count, and a resume restores it', async () => {
  const { dir: ck, state } = readCheckpoint(join(dir, 'run'));
  const saved = readSafetensors(join(ck, 'optimizer.safetensors'));
  const counts = [...saved].filter(([k]) => k.endsWith('.step')).map(([, t]) => t.data[0]);
  if (counts.length === 0 || counts.some((n) => n !== state.optimizerSteps)) throw new Error(`update counts ${counts} for ${state.optimizerSteps} steps`);
  const model = await loadDiffusionNER(ck, T.cpu);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  restoreOptimizer(ck, model, opt, 999);
  const restored = model.parameters().map((p) => opt.updatesOf(p));
  opt.dispose(); model.dispose();
  if (restored.some((n) => n !== state.optimizerSteps)) throw new Error(`restored ${restored}`);
});

s('a checkpoint from before models recorded their clitic style gets the training data\'s', async () => {
  const sents = Array.from({ length: 6 }, (_, i) => JSON.stringify({ tokens: [`Burkitt's`, `w${i % 3}`], entities: [{ start: 0, end: 1, type: 'LOC' }] }));
  writeFileSync(join(dir, 'attached.jsonl'), sents.join('\n') + '\n');
  const attached = { ...cfg(), data: { train: join(dir, 'attached.jsonl') }, out: join(dir, 'attached') };
  await train(attached, T.cpu, quiet);
  const { dir: ck } = readCheckpoint(attached.out);
  const { clitics, ...older } = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
  if (clitics !== 'attached') throw new Error(`a new run records ${clitics}`);
  // What an older trainer wrote: the same checkpoint without the field, its checksums made to match.
  writeFileSync(join(ck, 'config.json'), JSON.stringify(older));
  const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const state = JSON.parse(readFileSync(join(ck, 'state.json'), 'utf8'));
  writeFileSync(join(ck, 'state.json'), JSON.stringify({ ...state, checksums: { ...state.checksums, 'config.json': hash(join(ck, 'config.json')) } }) + '\n');
  const pointer = JSON.parse(readFileSync(join(attached.out, 'checkpoint.json'), 'utf8'));
  writeFileSync(join(attached.out, 'checkpoint.json'), JSON.stringify({ ...pointer, sha256: hash(join(ck, 'state.json')) }));
  await train({ ...attached, train: { ...attached.train, maxSteps: 3 } }, T.cpu, { ...resume, reschedule: true });
  const latest = JSON.parse(readFileSync(join(readCheckpoint(attached.out).dir, 'config.json'), 'utf8'));
  if (latest.clitics !== 'attached') throw new Error(`the resumed run records ${latest.clitics}`);
});

s('a checkpoint from before inputs were recorded is checked by its epoch order\'s length', () => {
  const now = { trainData: trainDataFingerprint([{ origin: 't', tokens: ['a'], entities: [] }]), model: {} };
  checkResume({ checkpoint: 'ck', modelTypes: ['X'], types: ['X'], now, orderLength: 1 });
  checkResume({ checkpoint: 'ck', modelTypes: ['X'], types: ['X'], now, orderLength: 0 });
  assertThrows(() => checkResume({ checkpoint: 'ck', modelTypes: ['X'], types: ['X'], now, orderLength: 3 }), /ck: cannot resume: the training set changed: 1 sentences now, 3 in the checkpoint's epoch order/);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
