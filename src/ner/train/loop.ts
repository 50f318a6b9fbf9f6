/**
 * Training any model of the toolkit: seeded shuffling per epoch (optionally length-bucketed, buckets.ts),
 * AdamW (Hugging Face style: no bias correction, decay after the step, no decay for biases and LayerNorm
 * weights), linear warm-up/decay, global-norm clipping, dev evaluation every epoch with the threshold
 * chosen on dev, the best dev model kept as a model folder, test evaluation at the end, progress with ETA
 * and sentences/s, a log file and metrics JSON, crash-safe checkpoints every N steps and at every epoch
 * end (resumable: model, optimizer, schedule position, data order and RNG), and skipped steps on a
 * non-finite loss or gradient.
 * The run's set-up (data, model, optimiser) is in setup.ts; this file is the epoch loop.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { clipGradNorm, linearWarmupDecay, twoStageSchedule } from '../../nn/optim.js';
import { saveModelFolder, writeFileAtomic } from '../../nn/folder.js';
import type { Device } from '../../tensor/device.js';
import { memoryStats } from '../../tensor/stats.js';
import type { TrainConfig } from '../config.js';
import { TRAIN_DEFAULTS } from '../defaults.js';
import type { ModelFactory, NerModel } from '../contract.js';
import type { Sentence } from '../data.js';
import { chooseThreshold, readSelection, type Selection } from '../selection.js';
import { epochOrder } from './buckets.js';
import { matmulProbe } from './host-probe.js';
import { saveCheckpoint, type TrainerState } from './checkpoint.js';
import { evaluate, evaluateThresholds, type EvalResult } from './evaluate.js';
import { type ProgressMode, progressBar, progressLine } from './progress.js';
import { type Run, setUpRun } from './setup.js';

export interface TrainOptions {
  log?: (line: string) => void;
  /** Continue from out/checkpoint.json when it exists. */
  resume?: boolean;
  /**
   * Start from the weights of a trained model folder (a warm restart or fine-tuning): its vocabulary,
   * characters and model settings replace the config's model section; optimiser and schedule start afresh.
   * A checkpoint to resume from takes precedence.
   */
  init?: string;
  /**
   * Progress on stderr: `true` redraws a bar (default when stderr is a terminal); `'lines'` writes a plain
   * line at every checkpoint, before each evaluation and at each tenth of it, for logs of background runs;
   * `false` is silent.
   */
  progress?: ProgressMode;
  /** Called before each optimiser step's forward pass with the step number (for tests and debugging). */
  beforeStep?: (step: number, model: NerModel) => void;
  /** Called after each optimiser step and at each epoch's end (the public API's progress events). */
  onEvent?: (e: TrainEvent) => void;
  /** With `resume`: accept a changed epochs or maxSteps, which re-sizes the learning-rate schedule. */
  reschedule?: boolean;
  /**
   * Aborting it stops the run cleanly (the CLI does on SIGINT and SIGTERM): the optimiser step under way
   * finishes (an evaluation under way is abandoned), a checkpoint is written, metrics.json says `stopped`
   * with `stoppedBy: 'signal'`, and train() returns with `stopped`; `resume` then continues exactly.
   */
  stopSignal?: AbortSignal;
}

export type TrainEvent =
  | { type: 'step'; epoch: number; step: number; totalSteps: number; loss: number; terms: Record<string, number>; lr: number }
  | { type: 'epoch'; epoch: number; seconds: number; dev?: { f1: number; threshold: number } };

/** Why a run ended before its last epoch: a stop request (stopSignal), or train.maxSteps. */
export type StopReason = 'signal' | 'maxSteps';

export interface TrainResult {
  dev?: EvalResult; test?: EvalResult; steps: number;
  /** Where a run that did not train every epoch stopped (a resume continues from there). */
  stopped?: { by: StopReason; epoch: number; step: number };
}

/** A run in progress: its set-up, and what the loop keeps between steps. */
interface Loop {
  run: Run; o: TrainOptions; progressMode: ProgressMode; stepsFile: string;
  /** The host's matmul speed when this process started the run (host-probe.ts). */
  hostProbe: { n: number; gflops: number };
  /** Consecutive non-finite steps. */
  badInARow: number;
  bestDev?: EvalResult;
  testResult?: Record<string, unknown>;
}

export async function train(factory: ModelFactory, cfg: TrainConfig, device: Device, o: TrainOptions = {}): Promise<TrainResult> {
  const run = await setUpRun(factory, cfg, device, o);
  const { st } = run;
  const loop: Loop = {
    run, o, hostProbe: await matmulProbe(device), progressMode: o.progress ?? process.stderr.isTTY ?? false, badInARow: 0,
    // One line per optimiser step; a resumed run appends again from its checkpoint's step.
    stepsFile: join(cfg.out, 'steps.jsonl'),
    bestDev: (st.metrics as { dev?: EvalResult }[]).reduce<EvalResult | undefined>((b, m) => (m.dev && (!b || m.dev.micro.f1 > b.micro.f1) ? m.dev : b), undefined),
  };
  // A resumed run is training again, whatever the stop before it wrote.
  writeMetrics(loop, 'training');
  while (st.epoch <= cfg.train.epochs && st.step < run.total) {
    if (await stopRequested(loop)) return stopNow(loop);
    const { finished, seconds } = await trainEpoch(loop);
    if (await stopRequested(loop)) return stopNow(loop);
    const entry: Record<string, unknown> = {
      epoch: st.epoch, steps: st.step, complete: finished, skippedSteps: st.skippedSteps, trainSeconds: seconds, trainSentencesPerSecond: st.seen / seconds,
      // Peaks so far in this process (a resumed run's restart resets them), and the host's speed at its start.
      peakRssMiB: process.resourceUsage().maxRSS / 1024, peakGpuLiveMiB: memoryStats(device).peakLiveBytes / 2 ** 20, matmulProbe: loop.hostProbe,
    };
    const r = await endOfEpoch(loop, seconds);
    if (!r) return stopNow(loop);
    const folder = join(cfg.out, 'model');
    if (r.dev) entry.dev = r.dev;
    if (!r.dev || r.dev.micro.f1 > st.best) {
      if (r.dev) { st.best = r.dev.micro.f1; loop.bestDev = r.dev; }
      await saveModelFolder(folder, run.model, run.folderConfig, run.filesWith(r.selection));
    }
    o.onEvent?.({ type: 'epoch', epoch: st.epoch, seconds, ...(r.dev ? { dev: { f1: r.dev.micro.f1, threshold: r.dev.threshold } } : {}) });
    if (cfg.train.keepEpochModels && finished) await saveModelFolder(join(cfg.out, 'epochs', `epoch-${st.epoch}`), run.model, run.folderConfig, run.filesWith(r.selection));
    st.metrics.push(entry);
    writeMetrics(loop, 'training');
    // The epoch's end (after its dev evaluation) is a checkpoint too: a resumed run starts the next epoch.
    if (!finished) { await checkpoint(loop); break; }
    st.next = 0; st.order = []; st.epoch++;
    await checkpoint(loop);
  }
  const test = await testAndFinish(loop, factory);
  if (test === null) return stopNow(loop);
  const done = st.epoch > cfg.train.epochs;
  return { dev: loop.bestDev, test, steps: st.step, ...(done ? {} : { stopped: { by: 'maxSteps', epoch: st.epoch, step: st.step } }) };
}

/** Saves a checkpoint, unless the last steps were non-finite: then the last good checkpoint stays the latest (false). */
async function checkpoint(loop: Loop): Promise<boolean> {
  if (loop.badInARow > 0) return false;
  const { run } = loop, st = run.st;
  st.rng = run.rng.state; st.optimizerSteps = run.opt.stepCount; st.inputs ??= run.inputs;
  await saveCheckpoint(run.cfg.out, run.model, run.folderConfig, run.folderFiles, run.opt, st);
  return true;
}

/**
 * Whether a stop was requested. It first lets pending events run: on the cpu device a step never waits
 * on I/O, so without this a signal handler would not run until training ended.
 */
async function stopRequested(loop: Loop): Promise<boolean> {
  const stop = loop.o.stopSignal;
  if (!stop) return false;
  await new Promise<void>((resolve) => setImmediate(resolve));
  return stop.aborted;
}

/** Ends a run on a stop request: a checkpoint of where it is, metrics.json `stopped` by a signal, and the model's release. */
async function stopNow(loop: Loop): Promise<TrainResult> {
  const { run } = loop, st = run.st;
  const saved = await checkpoint(loop);
  writeMetrics(loop, 'stopped', 'signal');
  run.say(saved ? `stopped at epoch ${st.epoch}, step ${st.step} on request; checkpoint saved, and --resume continues from here`
    : `stopped at step ${st.step} on request; the steps since the last checkpoint were non-finite, so --resume continues from that checkpoint`);
  run.opt.dispose();
  run.model.dispose();
  return { dev: loop.bestDev, steps: st.step, stopped: { by: 'signal', epoch: st.epoch, step: st.step } };
}

/**
 * metrics.json: `training` until the run ends, then `done` (every epoch, and test when there is one) or
 * `stopped` with why (`stoppedBy`: train.maxSteps, or a signal), so a script waiting on the run can tell
 * an epoch's end from the run's.
 */
function writeMetrics(loop: Loop, state: 'training' | 'done' | 'stopped', stoppedBy?: StopReason): void {
  const { testResult } = loop;
  const record = { state, ...(stoppedBy ? { stoppedBy } : {}), epochs: loop.run.st.metrics, ...(testResult ? { test: testResult } : {}) };
  writeFileAtomic(join(loop.run.cfg.out, 'metrics.json'), JSON.stringify(record, null, 1));
}

/** The rest of the current epoch (from a resumed position too), up to train.maxSteps; its seconds so far include earlier segments. */
async function trainEpoch(loop: Loop): Promise<{ finished: boolean; seconds: number }> {
  const { run, progressMode } = loop, { cfg, st } = run;
  if (st.next === 0) {
    st.order = epochOrder(run.trainSet.map((x) => x.tokens.length), cfg.train.batch, cfg.train.lengthBuckets ?? TRAIN_DEFAULTS.lengthBuckets, run.rng);
    st.lossSum = 0; st.seen = 0; st.epochSeconds = 0;
  }
  const bert = run.model.encoder.bert;
  if (bert) {
    // Warm-up freezing: BERT is frozen until epoch splitEpoch + 1 (the official `epoch >= split_epoch`, 0-based).
    bert.freeze(st.epoch <= run.split);
    if (st.epoch === run.split + 1 && st.next === 0 && run.split > 0) run.say(`epoch ${st.epoch}: BERT unfrozen`);
  }
  let t0 = performance.now();
  const elapsed = () => st.epochSeconds + (performance.now() - t0) / 1000;
  const meanLoss = () => `loss ${(st.lossSum / Math.max(1, st.seen / cfg.train.batch)).toFixed(3)}`;
  while (st.next < st.order.length && st.step < run.total) {
    // Not before the epoch's first batch: a checkpoint at next 0 would shuffle the order again on resume.
    if (st.next > 0 && await stopRequested(loop)) break;
    const batch = st.order.slice(st.next, st.next + cfg.train.batch).map((j) => run.trainSet[j]);
    st.next += cfg.train.batch;
    // The official code skips a batch with no gold entity (no backward, no optimiser step).
    if (batch.every((x) => x.entities.length === 0)) continue;
    if (!(await trainStep(loop, batch))) continue;
    if (progressMode === true && (st.step % 10 === 0 || st.next >= st.order.length)) {
      progressBar(`epoch ${st.epoch}`, Math.min(st.next, st.order.length), st.order.length, performance.now() - 1000 * elapsed(), meanLoss());
    }
    if (st.step % run.checkpointEvery === 0) {
      if (progressMode === 'lines') process.stderr.write(progressLine(`epoch ${st.epoch}`, st.next, st.order.length, elapsed(), meanLoss()) + '\n');
      st.epochSeconds = elapsed(); t0 = performance.now();
      await checkpoint(loop);
    }
  }
  if (progressMode === true) process.stderr.write('\n');
  const finished = st.next >= st.order.length;
  // A stop's checkpoint (before the epoch's end) carries the epoch's seconds so far.
  st.epochSeconds = elapsed();
  if (!finished && st.step >= run.total) run.say(`stopping after ${st.step} steps (maxSteps)`);
  return { finished, seconds: st.epochSeconds };
}

/** One optimiser step on a batch; false when it was skipped for a non-finite loss or gradient (too many in a row end the run). */
async function trainStep(loop: Loop, batch: Sentence[]): Promise<boolean> {
  const { run, o } = loop, { cfg, st, model, opt } = run;
  o.beforeStep?.(st.step + 1, model);
  const b = model.batch(batch, run.device);
  const l = await model.lossAndBackward(b, cfg.train);
  model.disposeBatch(b);
  const { norm, scale } = await clipGradNorm(model.parameters(), cfg.train.maxGradNorm ?? TRAIN_DEFAULTS.maxGradNorm);
  st.step++;
  st.seen += batch.length;
  if (!Number.isFinite(l.total) || !Number.isFinite(norm)) {
    opt.zeroGrad();
    st.skippedSteps++;
    run.say(`step ${st.step}: non-finite ${Number.isFinite(norm) ? 'loss' : 'gradient'}, step skipped (${st.skippedSteps} so far)`);
    if (++loop.badInARow >= (cfg.train.maxBadSteps ?? TRAIN_DEFAULTS.maxBadSteps)) {
      opt.dispose();
      throw new Error(`${loop.badInARow} non-finite steps in a row at step ${st.step}: stopping; the last good checkpoint is in ${cfg.out} (lower the learning rate)`);
    }
    return false;
  }
  loop.badInARow = 0;
  opt.lr = cfg.train.lr * (run.split > 0 ? twoStageSchedule(st.step - 1, run.u1, run.total - run.u1, cfg.train.warmup ?? TRAIN_DEFAULTS.warmup) : linearWarmupDecay(st.step - 1, run.warmup, run.total));
  opt.step(scale);
  opt.zeroGrad();
  st.lossSum += l.total;
  appendFileSync(loop.stepsFile, JSON.stringify({ step: st.step, loss: l.total, ...l.terms, lr: opt.lr, gradNorm: norm }) + '\n');
  o.onEvent?.({ type: 'step', epoch: st.epoch, step: st.step, totalSteps: run.total, loss: l.total, terms: l.terms, lr: opt.lr });
  return true;
}

/**
 * Test evaluation of the best dev model (or the last one) at its chosen φ, the final metrics, and the
 * model's release; null when a stop request abandoned the test evaluation (the model is not released).
 */
async function testAndFinish(loop: Loop, factory: ModelFactory): Promise<EvalResult | undefined | null> {
  const { run } = loop, { cfg, st, model } = run;
  let test: EvalResult | undefined;
  const folder = join(cfg.out, 'model');
  if (run.testSet) {
    const bestModel = existsSync(join(folder, 'config.json')) ? await factory.load(folder, run.device) : model;
    const threshold = (bestModel !== model ? readSelection(folder)?.threshold : undefined) ?? run.phis[0];
    const result = await unlessStopped(loop, evaluate(bestModel, run.testSet, run.device, { ...cfg.eval, threshold, stop: loop.o.stopSignal }, run.seed, loop.progressMode));
    if (!result) {
      if (bestModel !== model) bestModel.dispose();
      return null;
    }
    test = result;
    run.say(`test (${run.devSet ? 'best dev model' : 'last model'}, φ ${threshold}): P ${test.micro.precision.toFixed(2)} R ${test.micro.recall.toFixed(2)} F1 ${test.micro.f1.toFixed(2)} (${test.sentencesPerSecond.toFixed(1)} sent/s)`);
    if (bestModel !== model) bestModel.dispose();
    loop.testResult = { threshold, ...test };
  }
  writeMetrics(loop, st.epoch > cfg.train.epochs ? 'done' : 'stopped', st.epoch > cfg.train.epochs ? undefined : 'maxSteps');
  run.opt.dispose();
  model.dispose();
  if (existsSync(join(folder, 'config.json'))) run.say(`saved: ${folder} (${run.devSet ? 'the best epoch on dev, with its φ' : 'the last epoch'} in selection.json); try it with npx diffusionner predict --model ${folder} "some text"`);
  return test;
}

/** An evaluation, or null when a stop request abandoned it. */
async function unlessStopped<T>(loop: Loop, work: Promise<T>): Promise<T | null> {
  try { return await work; } catch (e) {
    if (loop.o.stopSignal?.aborted) return null;
    throw e;
  }
}

/**
 * An epoch's dev evaluation at every candidate φ and the choice among them, or the configured φ without
 * dev; null when a stop request abandoned the evaluation.
 */
async function endOfEpoch(loop: Loop, epochSecs: number): Promise<{ dev?: EvalResult & { threshold: number }; selection: Selection } | null> {
  const { run, progressMode } = loop, { cfg, st, devSet, say } = run;
  const rate = `${epochSecs.toFixed(0)} s, ${(st.seen / epochSecs).toFixed(1)} train sent/s`;
  if (!devSet) {
    say(`epoch ${st.epoch}: ${rate}`);
    return { selection: { threshold: run.phis[0], split: 'none (the configured φ; no dev set)', f1ByThreshold: {}, mode: cfg.eval.mode } };
  }
  if (progressMode === 'lines') process.stderr.write(`epoch ${st.epoch}: evaluating dev (${devSet.length} sentences)\n`);
  const sweep = await unlessStopped(loop, evaluateThresholds(run.model, devSet, run.device, { ...cfg.eval, stop: loop.o.stopSignal }, run.phis, run.seed, progressMode));
  if (!sweep) return null;
  const r = chooseThreshold(sweep, run.model.defaultThreshold);
  const f1ByThreshold = Object.fromEntries(sweep.map((x) => [String(x.threshold), Number(x.micro.f1.toFixed(2))]));
  const at = sweep.length > 1 ? ` at φ ${r.threshold} (F1 by φ: ${sweep.map((x) => `${x.threshold} → ${x.micro.f1.toFixed(2)}`).join(', ')})` : '';
  say(`epoch ${st.epoch}: ${rate}; dev P ${r.micro.precision.toFixed(2)} R ${r.micro.recall.toFixed(2)} F1 ${r.micro.f1.toFixed(2)}${at} (${r.sentencesPerSecond.toFixed(1)} sent/s)`);
  return { dev: r, selection: { threshold: r.threshold, split: 'dev', f1ByThreshold, mode: cfg.eval.mode } };
}
