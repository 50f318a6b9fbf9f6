/**
 * TrainOptions.stopSignal (what the CLI aborts on SIGINT and SIGTERM, and what library users may abort):
 * the step under way finishes, or the evaluation under way is abandoned; a checkpoint is written;
 * metrics.json says stopped by a signal; and resuming reproduces the uninterrupted run exactly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import type { NerModel } from '../../src/ner/contract.js';

const s = suite('stopping a training run on request');
const dir = mkdtempSync(join(tmpdir(), 'dner-stop-'));
writeFileSync(join(dir, 'd.jsonl'), Array.from({ length: 9 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris'], entities: [{ start: 2, end: 3, type: 'LOC' }] })).join('\n') + '\n');
const cfg = (out: string): TrainConfig => ({
  data: { train: join(dir, 'd.jsonl'), dev: join(dir, 'd.jsonl') },
  model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0.1, wordDropout: 0.1 },
  train: { epochs: 2, batch: 3, lr: 1e-3, checkpointEvery: 100 }, eval: { mode: 'flat', proposals: 3, batch: 2 }, out: join(dir, out),
});
const quiet = { log: () => {}, progress: false as const };
const metrics = (out: string) => JSON.parse(readFileSync(join(dir, out, 'metrics.json'), 'utf8'));
const steps = (out: string) => {
  const m = new Map<number, string>();
  for (const line of readFileSync(join(dir, out, 'steps.jsonl'), 'utf8').trim().split('\n')) m.set(JSON.parse(line).step, line);
  return [...m.values()];
};

s('stopped mid-epoch and again mid-evaluation, then resumed: the same steps, weights and dev scores as an uninterrupted run', async () => {
  await train(cfg('ref'), T.cpu, quiet);
  const ac = new AbortController();
  const first = await train(cfg('run'), T.cpu, { ...quiet, stopSignal: ac.signal, beforeStep: (step) => { if (step === 2) ac.abort(); } });
  if (JSON.stringify(first.stopped) !== JSON.stringify({ by: 'signal', epoch: 1, step: 2 })) throw new Error(`stopped: ${JSON.stringify(first.stopped)}`);
  if (metrics('run').state !== 'stopped' || metrics('run').stoppedBy !== 'signal' || readCheckpoint(join(dir, 'run')).state.step !== 2) throw new Error(JSON.stringify(metrics('run')));

  // The epoch's last step, then its dev evaluation: a stop there abandons the evaluation.
  const ac2 = new AbortController();
  const abortOnInfer = (_: number, model: NerModel) => {
    const infer = model.infer.bind(model);
    model.infer = (...a) => { ac2.abort(); return infer(...a); };
  };
  const second = await train(cfg('run'), T.cpu, { ...quiet, resume: true, stopSignal: ac2.signal, beforeStep: abortOnInfer });
  if (JSON.stringify(second.stopped) !== JSON.stringify({ by: 'signal', epoch: 1, step: 3 }) || metrics('run').epochs.length !== 0) throw new Error(`stopped: ${JSON.stringify(second.stopped)} ${JSON.stringify(metrics('run'))}`);

  const last = await train(cfg('run'), T.cpu, { ...quiet, resume: true });
  if (last.stopped || metrics('run').state !== 'done' || metrics('run').stoppedBy !== undefined) throw new Error(JSON.stringify(metrics('run')));
  const want = steps('ref'), got = steps('run');
  if (got.join('\n') !== want.join('\n')) throw new Error(`steps:\n${got.join('\n')}\nwant:\n${want.join('\n')}`);
  const f1s = (out: string) => metrics(out).epochs.map((e: { dev: { micro: { f1: number } } }) => e.dev.micro.f1).join();
  if (f1s('run') !== f1s('ref')) throw new Error(`dev F1 ${f1s('run')}, uninterrupted ${f1s('ref')}`);
  const weights = (out: string) => readFileSync(join(readCheckpoint(join(dir, out)).dir, 'model.safetensors'));
  if (!weights('run').equals(weights('ref'))) throw new Error('the final weights differ');
});

s('a stop requested before the first step leaves a step-0 checkpoint that resumes', async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await train(cfg('early'), T.cpu, { ...quiet, stopSignal: ac.signal });
  if (r.stopped?.by !== 'signal' || r.stopped.step !== 0) throw new Error(JSON.stringify(r));
  await train(cfg('early'), T.cpu, { ...quiet, resume: true });
  if (metrics('early').state !== 'done' || steps('early').join('\n') !== steps('ref').join('\n')) throw new Error(`${metrics('early').state}: ${steps('early').join('\n')}`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
