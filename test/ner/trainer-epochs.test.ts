/**
 * `train.keepEpochModels` (`train --keep-epoch-models`): every finished epoch's model is kept as
 * OUT/epochs/epoch-N, a model folder that eval and average read, holding that epoch's weights and φ.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { loadDiffusionNER } from '../helpers.js';
import { readSelection } from '../../src/ner/selection.js';

const s = suite('keeping every epoch\'s model');
const dir = mkdtempSync(join(tmpdir(), 'dner-epochs-'));
const sents = Array.from({ length: 9 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris'], entities: [{ start: 2, end: 3, type: 'LOC' }] }));
writeFileSync(join(dir, 'd.jsonl'), sents.join('\n') + '\n');
const cfg = (out: string, extra: Partial<TrainConfig['train']>, dev?: string): TrainConfig => ({
  data: { train: join(dir, 'd.jsonl'), ...(dev ? { dev } : {}) },
  model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
  train: { epochs: 3, batch: 3, lr: 1e-3, checkpointEvery: 100, ...extra }, eval: { mode: 'flat', proposals: 3, threshold: 2.5, thresholds: [1] }, out: join(dir, out),
});
const quiet = { log: () => {}, progress: false as const };
const weights = async (folder: string) => {
  const m = await loadDiffusionNER(folder, T.cpu);
  const w = [...m.namedParameters()].map(([n, p]) => [n, Array.from(p.array)] as const);
  m.dispose();
  return w;
};
const same = (a: Awaited<ReturnType<typeof weights>>, b: Awaited<ReturnType<typeof weights>>) =>
  a.length === b.length && a.every(([n, v], i) => b[i][0] === n && v.every((x, j) => x === b[i][1][j]));

s('without a dev set: one folder per epoch, the last equal to the final model, the others different', async () => {
  await train(cfg('nodev', { keepEpochModels: true }), T.cpu, quiet);
  const out = join(dir, 'nodev');
  const epochs = await Promise.all([1, 2, 3].map((e) => weights(join(out, 'epochs', `epoch-${e}`))));
  if (!same(epochs[2], await weights(join(out, 'model')))) throw new Error('epoch-3 differs from the final model');
  if (same(epochs[0], epochs[1]) || same(epochs[1], epochs[2])) throw new Error('consecutive epochs hold the same weights');
  if (existsSync(join(out, 'epochs', 'epoch-4'))) throw new Error('a folder beyond the last epoch');
  if (readSelection(join(out, 'epochs', 'epoch-1'))?.threshold !== 2.5) throw new Error('the epoch folder lacks the configured φ');
});

s('with a dev set: every epoch is kept (not only the best), each with the φ chosen on dev for it; metrics.json has each epoch\'s peak memory and host probe', async () => {
  await train(cfg('dev', { keepEpochModels: true }, join(dir, 'd.jsonl')), T.cpu, quiet);
  const out = join(dir, 'dev');
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: { dev: { threshold: number }; peakRssMiB: number; peakGpuLiveMiB: number; matmulProbe: { n: number; gflops: number } }[] };
  // Each epoch records the process's peak memory and the host's speed (for reading runs against each other).
  for (const m of metrics.epochs) if (!(m.peakRssMiB > 10 && m.peakGpuLiveMiB === 0 && m.matmulProbe.n === 128 && m.matmulProbe.gflops > 0)) throw new Error(JSON.stringify(m));
  for (const e of [1, 2, 3]) {
    const sel = readSelection(join(out, 'epochs', `epoch-${e}`));
    if (sel?.threshold !== metrics.epochs[e - 1].dev.threshold || sel.split !== 'dev') throw new Error(`epoch ${e}: ${JSON.stringify(sel)}`);
  }
});

s('off by default', async () => {
  await train(cfg('off', { epochs: 1 }), T.cpu, quiet);
  if (existsSync(join(dir, 'off', 'epochs'))) throw new Error('epoch folders written without keepEpochModels');
});

s('a dev set without entities is not used to choose: the last epoch\'s model is kept, and the log says why', async () => {
  const dev = join(dir, 'dev-empty.jsonl');
  writeFileSync(dev, JSON.stringify({ tokens: ['x', 'w1'], entities: [] }) + '\n');
  const lines: string[] = [];
  await train(cfg('emptydev', { keepEpochModels: true }, dev), T.cpu, { log: (l) => lines.push(l), progress: false });
  const out = join(dir, 'emptydev');
  if (!lines.some((l) => l.startsWith(`dev: ${dev} has no entities, so it cannot choose an epoch or φ`))) throw new Error(lines.join('\n'));
  if (!same(await weights(join(out, 'epochs', 'epoch-3')), await weights(join(out, 'model')))) throw new Error('the kept model is not the last epoch\'s');
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
