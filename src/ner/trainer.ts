/**
 * Training DiffusionNER with the from-scratch encoder: seeded shuffling per epoch, AdamW (Hugging Face
 * style: no bias correction, decay after the step, no decay for biases and LayerNorm weights), linear
 * warm-up/decay, global-norm clipping, dev evaluation every epoch, the best dev model kept as a model
 * folder, test evaluation at the end, a progress line with ETA and sentences/s, a log file and metrics
 * JSON. (Resuming from a checkpoint is not implemented yet.)
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, clipGradNorm, decayGroups, linearWarmupDecay } from '../nn/optim.js';
import { loadModelFolder, saveModelFolder } from '../nn/folder.js';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import { countDataset, describeCounts, inferTypes, readSentences, readTypes, checkTypes, type Sentence } from './data.js';
import { score, type Scores } from './decode.js';
import { DiffusionNER, type ModelConfig } from './model.js';
import { buildVocab } from './vocab.js';

export interface TrainConfig {
  data: { train: string; dev?: string; test?: string; types?: string };
  model: Omit<ModelConfig, 'vocab' | 'types'> & { minFreq?: number };
  train: { epochs: number; batch: number; lr: number; warmup?: number; weightDecay?: number; maxGradNorm?: number; seed?: number; maxSteps?: number };
  eval: { steps?: number; proposals?: number; eta?: number; threshold?: number; mode: 'flat' | 'nested'; batch?: number };
  out: string;
}

export interface EvalResult { micro: Scores; perType: Record<string, Scores>; sentencesPerSecond: number }

/** Loads a model folder written by `train` (config.json, vocab.txt, model.safetensors). */
export async function loadTrained(dir: string, device: Device): Promise<DiffusionNER> {
  let vocab: string[];
  try { vocab = readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n').filter((w, i, a) => i < a.length - 1 || w !== ''); } catch {
    throw new Error(`${dir}: not a DiffusionNER model folder (no vocab.txt)`);
  }
  return loadModelFolder(dir, (c) => new DiffusionNER({ ...(c as unknown as ModelConfig), vocab }, { device }));
}

export async function evaluate(model: DiffusionNER, sentences: Sentence[], device: Device, o: TrainConfig['eval'], seed = 0, showProgress = process.stderr.isTTY ?? false): Promise<EvalResult> {
  const wasTraining = model.training;
  model.eval();
  const rng = new RNG(seed);
  const gold = sentences.map((s) => s.entities.map((e) => ({ left: e.start, right: e.end - 1, type: model.c.types.indexOf(e.type) + 1 })));
  const pred = [];
  const t0 = performance.now();
  const bs = o.batch ?? 16;
  for (let i = 0; i < sentences.length; i += bs) {
    const b = model.batch(sentences.slice(i, i + bs), device);
    pred.push(...await model.predict(b, { steps: o.steps ?? 5, proposals: o.proposals, eta: o.eta ?? 1, threshold: o.threshold ?? 2.5, mode: o.mode, rng }));
    b.ids.dispose(); b.mask.dispose();
    if (showProgress) progress('evaluating', Math.min(i + bs, sentences.length), sentences.length, t0, '');
  }
  if (showProgress) process.stderr.write('\n');
  const secs = (performance.now() - t0) / 1000;
  model.train(wasTraining);
  return { ...score(gold, pred, model.c.types), sentencesPerSecond: sentences.length / secs };
}

function progress(label: string, done: number, total: number, t0: number, extra: string): void {
  const secs = (performance.now() - t0) / 1000;
  const eta = done ? (secs / done) * (total - done) : 0;
  const width = 24, fill = Math.round((width * done) / total);
  const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
  process.stderr.write(`\r${label} [${bar}] ${done}/${total}  ${(done / Math.max(secs, 1e-9)).toFixed(1)} sent/s  ETA ${Math.round(eta)}s  ${extra}   `);
}

export async function train(cfg: TrainConfig, device: Device, log: (line: string) => void = console.log): Promise<{ dev?: EvalResult; test?: EvalResult }> {
  mkdirSync(cfg.out, { recursive: true });
  const logFile = join(cfg.out, 'train.log');
  const say = (line: string) => { log(line); appendFileSync(logFile, line + '\n'); };
  const trainSet = readSentences(cfg.data.train);
  const devSet = cfg.data.dev ? readSentences(cfg.data.dev) : undefined;
  const testSet = cfg.data.test ? readSentences(cfg.data.test) : undefined;
  const types = cfg.data.types ? readTypes(cfg.data.types) : inferTypes(trainSet);
  for (const set of [trainSet, devSet, testSet]) if (set) checkTypes(set, types);
  say(describeCounts('train', countDataset(trainSet)));
  if (devSet) say(describeCounts('dev', countDataset(devSet)));
  if (testSet) say(describeCounts('test', countDataset(testSet)));
  const seed = cfg.train.seed ?? 48;
  const rng = new RNG(seed);
  const vocab = buildVocab(trainSet, cfg.model.minFreq ?? 1, cfg.model.lowercase ?? false);
  const { minFreq: _unused, ...modelCfg } = cfg.model;
  const config: ModelConfig = { ...modelCfg, vocab, types };
  const model = new DiffusionNER(config, { device, rng });
  say(`model: ${model.parameterCount().toLocaleString('en')} parameters, vocabulary ${vocab.length}, types ${types.join(' ')}`);
  const opt = new AdamW(decayGroups(model.namedParameters(), cfg.train.weightDecay ?? 0.01), { lr: cfg.train.lr, eps: 1e-6, correctBias: false, decayAfter: true });
  const stepsPerEpoch = Math.ceil(trainSet.length / cfg.train.batch);
  const total = Math.min(cfg.train.maxSteps ?? Infinity, stepsPerEpoch * cfg.train.epochs);
  const warmup = Math.round((cfg.train.warmup ?? 0.1) * total);
  let step = 0, best = -1, bestDev: EvalResult | undefined;
  const metrics: unknown[] = [];
  const saveConfig = { ...config, vocab: undefined };
  let stop = false;
  for (let epoch = 1; epoch <= cfg.train.epochs && !stop; epoch++) {
    const order = rng.shuffle(trainSet.map((_, i) => i));
    const t0 = performance.now();
    let lossSum = 0, seen = 0;
    for (let i = 0; i < order.length; i += cfg.train.batch) {
      const batch = order.slice(i, i + cfg.train.batch).map((j) => trainSet[j]);
      // The official code skips a batch with no gold entity (no backward, no optimiser step).
      if (batch.every((s) => s.entities.length === 0)) continue;
      const b = model.batch(batch, device);
      const l = await model.lossAndBackward(b);
      b.ids.dispose(); b.mask.dispose();
      const { scale } = await clipGradNorm(model.parameters(), cfg.train.maxGradNorm ?? 1);
      opt.lr = cfg.train.lr * linearWarmupDecay(step, warmup, total);
      opt.step(scale);
      opt.zeroGrad();
      step++;
      lossSum += l.classification + l.boundary;
      seen += batch.length;
      if (step % 10 === 0 || i + cfg.train.batch >= order.length) progress(`epoch ${epoch}`, seen, trainSet.length, t0, `loss ${(lossSum / step).toFixed(3)}`);
      if (step >= total) { stop = true; break; }
    }
    process.stderr.write('\n');
    if (stop && step < stepsPerEpoch * cfg.train.epochs) say(`stopping after ${step} steps (maxSteps)`);
    const epochSecs = (performance.now() - t0) / 1000;
    const entry: Record<string, unknown> = { epoch, steps: step, trainSeconds: epochSecs, trainSentencesPerSecond: seen / epochSecs };
    if (devSet) {
      const r = await evaluate(model, devSet, device, cfg.eval, seed, true);
      entry.dev = r;
      say(`epoch ${epoch}: ${epochSecs.toFixed(0)} s, ${(seen / epochSecs).toFixed(1)} train sent/s; dev P ${r.micro.precision.toFixed(2)} R ${r.micro.recall.toFixed(2)} F1 ${r.micro.f1.toFixed(2)}`);
      if (r.micro.f1 > best) {
        best = r.micro.f1; bestDev = r;
        await saveModelFolder(join(cfg.out, 'model'), model, saveConfig, { 'vocab.txt': vocab.join('\n') + '\n' });
      }
    } else {
      await saveModelFolder(join(cfg.out, 'model'), model, saveConfig, { 'vocab.txt': vocab.join('\n') + '\n' });
    }
    metrics.push(entry);
    writeFileSync(join(cfg.out, 'metrics.json'), JSON.stringify(metrics, null, 1));
  }
  let test: EvalResult | undefined;
  if (testSet) {
    const bestModel = devSet ? await loadTrained(join(cfg.out, 'model'), device) : model;
    test = await evaluate(bestModel, testSet, device, cfg.eval, seed, true);
    say(`test (${devSet ? 'best dev model' : 'last model'}): P ${test.micro.precision.toFixed(2)} R ${test.micro.recall.toFixed(2)} F1 ${test.micro.f1.toFixed(2)}`);
    if (bestModel !== model) bestModel.dispose();
    writeFileSync(join(cfg.out, 'metrics.json'), JSON.stringify({ epochs: metrics, test }, null, 1));
  }
  opt.dispose();
  return { dev: bestDev, test };
}
