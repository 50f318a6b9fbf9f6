/**
 * A training run's set-up: the data (read, checked, described in the log), the model (resumed from a
 * checkpoint, started from a trained folder with --init, or new from the config), the optimiser with its
 * parameter groups, the schedule's length, and the trainer state.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, decayGroups } from '../../nn/optim.js';
import type { Device } from '../../tensor/device.js';
import { RNG } from '../../tensor/random.js';
import type { CliticStyle } from '../../text/tokenize.js';
import { decodeUtf8 } from '../../text/utf8.js';
import type { TrainConfig } from '../config.js';
import type { ModelFactory, NerModel } from '../contract.js';
import { checkTypes, countDataset, describeCounts, inferTypes, readSentences, readTypeFile, type Sentence, splitLongSentences } from '../data.js';
import { MAX_WORDS, TRAIN_DEFAULTS } from '../defaults.js';
import { loadPretrainedBert, newEncoderConfig } from '../encoders/build.js';
import { cliticStyle } from '../../text/tokenize.js';
import { candidateThresholds, formatSelection, SELECTION_FILE, type Selection } from '../selection.js';
import { hasCheckpoint, readCheckpoint, restoreOptimizer, type TrainerState } from './checkpoint.js';
import { checkResumable, checkResume, type RunInputs, type Schedule, trainDataFingerprint } from './resume.js';
import type { TrainOptions } from './loop.js';

export interface Run {
  cfg: TrainConfig; device: Device; model: NerModel; opt: AdamW; st: TrainerState; rng: RNG; seed: number;
  trainSet: Sentence[]; devSet?: Sentence[]; testSet?: Sentence[];
  inputs: RunInputs;
  /** config.json and the other files of every model folder and checkpoint this run writes. */
  folderConfig: Record<string, unknown>; folderFiles: Record<string, string>;
  filesWith(selection: Selection): Record<string, string>;
  /** Optimiser steps in all; warm-up steps; BERT's frozen epochs and their steps. */
  total: number; warmup: number; split: number; u1: number;
  checkpointEvery: number;
  /** The thresholds scored on dev, the configured one first. */
  phis: number[];
  say(line: string): void;
}

/** The clitic style a model folder's config.json records, if it records one (older folders do not). */
function recordedClitics(dir: string): CliticStyle | undefined {
  const path = join(dir, 'config.json');
  return (JSON.parse(decodeUtf8(readFileSync(path), path)) as { clitics?: CliticStyle }).clitics;
}

interface Data {
  trainSet: Sentence[]; devSet?: Sentence[]; testSet?: Sentence[]; types: string[];
  /** The descriptions the types file gives (a new model that reads them gets them). */
  descriptions: Record<string, string>;
}

function readData(cfg: TrainConfig, say: (line: string) => void): Data {
  const maxWords = cfg.train.maxWords ?? MAX_WORDS;
  const trainFiles = [cfg.data.train].flat();
  const long = splitLongSentences(trainFiles.flatMap((f) => readSentences(f)), maxWords);
  const trainSet = long.sentences;
  checkHasEntities(trainFiles, trainSet);
  let devSet = cfg.data.dev ? readSentences(cfg.data.dev) : undefined;
  const testSet = cfg.data.test ? readSentences(cfg.data.test) : undefined;
  const typeFile = cfg.data.types ? readTypeFile(cfg.data.types) : undefined;
  const types = typeFile?.types ?? inferTypes(trainSet);
  for (const set of [trainSet, devSet, testSet]) if (set) checkTypes(set, types);
  const trainCounts = countDataset(trainSet);
  say(describeCounts('train', trainCounts));
  // Flat filtering drops every span inside a better one, so on nested data it caps recall silently.
  if (trainCounts.nested && cfg.eval.mode !== 'nested') say(`warning: ${trainCounts.nested} training entities contain another, but eval.mode is flat, which never predicts both of a nested pair; nested data wants "eval": {"mode": "nested"}`);
  if (long.split) say(`train: ${long.split} sentences longer than ${maxWords} words were cut into ${long.pieces} pieces; ${long.droppedEntities} entities crossing a cut were dropped`);
  if (devSet) say(describeCounts('dev', countDataset(devSet)));
  if (devSet && !devSet.some((x) => x.entities.length)) {
    // F1 would be 0 at every epoch and the first would be kept: without gold entities dev cannot rank epochs.
    say(`dev: ${cfg.data.dev} has no entities, so it cannot choose an epoch or φ; it is not used (the last epoch's model is kept, at the configured φ)`);
    devSet = undefined;
  }
  if (testSet) say(describeCounts('test', countDataset(testSet)));
  return { trainSet, devSet, testSet, types, descriptions: typeFile?.descriptions ?? {} };
}

/** Training data without a single entity trains nothing (every batch is skipped): an error, not empty epochs and a model with no types. */
export function checkHasEntities(files: readonly string[], sentences: readonly Sentence[]): void {
  if (!sentences.some((x) => x.entities.length)) throw new Error(`${files.join(', ')}: no entities in the training data (${sentences.length} sentences), so there is nothing to train on (data.train)`);
}

/** What this invocation sizes the learning-rate schedule with; a checkpoint records it, and a resume must match it. */
const scheduleOf = (cfg: TrainConfig): Schedule => ({ epochs: cfg.train.epochs, maxSteps: cfg.train.maxSteps ?? null });

/** The model of the run: a checkpoint's, --init's, or a new one; its clitic style; and how its vocabulary is described. */
async function runModel(factory: ModelFactory, cfg: TrainConfig, data: Data, device: Device, rng: RNG, o: TrainOptions, inputs: RunInputs, logFile: string, say: (line: string) => void) {
  const ckpt = o.resume && hasCheckpoint(cfg.out) ? readCheckpoint(cfg.out) : null;
  // A checkpoint or --init folder from before models recorded the clitic style gets it from this run's training data.
  const dataClitics = () => (cfg.model.clitics as CliticStyle | undefined) ?? cliticStyle(data.trainSet.map((x) => x.tokens));
  if (ckpt) {
    const model = await factory.load(ckpt.dir, device, rng);
    let resized: string[];
    try {
      const schedule = { now: scheduleOf(cfg), recorded: ckpt.state.schedule, reschedule: o.reschedule };
      resized = checkResume({ checkpoint: ckpt.dir, modelTypes: [...model.types], types: data.types, now: inputs, recorded: ckpt.state.inputs, orderLength: ckpt.state.order.length, schedule });
    } catch (e) {
      // The log already counts this invocation's data: it also says why nothing was trained with it.
      appendFileSync(logFile, `resume refused: ${(e as Error).message}\n`);
      model.dispose();
      throw e;
    }
    rng.state = ckpt.state.rng;
    say(`resuming from ${ckpt.dir} (epoch ${ckpt.state.epoch}, step ${ckpt.state.step})`);
    if (resized.length) say(`the learning-rate schedule is re-sized (--reschedule): ${resized.join(', ')}`);
    return { model, ckpt, clitics: recordedClitics(ckpt.dir) ?? dataClitics(), vocabText: `vocabulary ${vocabSize(model)}` };
  }
  if (o.init) {
    const model = await factory.load(o.init, device, rng);
    if (model.types.join(' ') !== data.types.join(' ')) {
      model.dispose();
      throw new Error(`${o.init}: the model's types (${model.types.join(' ')}) differ from the data's (${data.types.join(' ')})`);
    }
    say(`initialised from ${o.init} (its vocabulary and model settings; fresh optimiser and schedule)`);
    return { model, ckpt, clitics: recordedClitics(o.init) ?? dataClitics(), vocabText: `vocabulary ${vocabSize(model)}` };
  }
  const enc = newEncoderConfig(cfg.model, data.trainSet);
  const model = factory.create({ ...enc.config, types: data.types }, device, rng, { descriptions: data.descriptions });
  if (enc.bertDir) {
    await loadPretrainedBert(model.encoder, enc.bertDir, device);
    // A model with more than one BERT (BINDER's type encoder) copies the loaded weights into the others.
    await model.afterPretrained?.();
  }
  // A model may add words of its own (BINDER: its type descriptions' words).
  const added = vocabSize(model) - enc.config.vocab.length;
  return { model, ckpt, clitics: enc.config.clitics!, vocabText: added > 0 ? `${enc.describe}; the ${model.kind} model added ${added} words of its own` : enc.describe };
}

const vocabSize = (m: NerModel) => m.encoder.c.vocab.length;

export async function setUpRun(factory: ModelFactory, cfg: TrainConfig, device: Device, o: TrainOptions): Promise<Run> {
  const log = o.log ?? console.log;
  if (o.resume) checkResumable(cfg.out);
  mkdirSync(cfg.out, { recursive: true });
  const logFile = join(cfg.out, 'train.log');
  const say = (line: string) => { log(line); appendFileSync(logFile, line + '\n'); };
  const data = readData(cfg, say);
  const seed = cfg.train.seed ?? TRAIN_DEFAULTS.seed;
  const rng = new RNG(seed);
  // A fresh run would leave an earlier run's checkpoint pointer in place until its own first one, and a
  // later --resume would continue the other run.
  if (!o.resume && hasCheckpoint(cfg.out)) throw new Error(`${cfg.out} holds a checkpoint of an earlier run: add --resume to continue it, or choose another --out`);
  const inputs: RunInputs = { trainData: trainDataFingerprint(data.trainSet), model: { ...cfg.model } };
  const { model, ckpt, clitics, vocabText } = await runModel(factory, cfg, data, device, rng, o, inputs, logFile, say);
  // BERT's positions bound a sentence's sub-words: a sentence too long is an error now, not mid-epoch.
  try { for (const set of [data.trainSet, data.devSet, data.testSet]) if (set) model.checkLengths(set); } catch (e) { model.dispose(); throw e; }
  model.train();
  const chars = model.encoder.charCnn ? `, ${model.encoder.c.chars.length} characters` : '';
  say(`model: ${model.parameterCount().toLocaleString('en')} parameters, ${vocabText}${chars}, types ${data.types.join(' ')}`);
  // The from-scratch encoder may learn faster than the decoder, whose post-LN span layers collapse
  // at high rates (../shared/DESIGN.md): encoderLrScale multiplies the encoder's rate.
  const groups = model.parameterGroups().flatMap((g) => decayGroups(g.parameters, cfg.train.weightDecay ?? TRAIN_DEFAULTS.weightDecay)
    .map((d) => (g.name === 'encoder' ? { ...d, lrScale: cfg.train.encoderLrScale ?? TRAIN_DEFAULTS.encoderLrScale } : d))).filter((g) => g.params.length);
  const opt = new AdamW(groups, { lr: cfg.train.lr, eps: 1e-6, correctBias: cfg.train.correctBias ?? false, decayAfter: true });
  const buckets = cfg.train.lengthBuckets ?? TRAIN_DEFAULTS.lengthBuckets;
  if (buckets > 0) say(`train batches: length-bucketed (train.lengthBuckets ${buckets}: pools of ${buckets * cfg.train.batch} shuffled sentences sorted by length, batches shuffled); evaluation batches unchanged`);
  // Bucketed or not, an epoch has ceil(n / batch) batches, only the last one partial (buckets.ts).
  const stepsPerEpoch = Math.ceil(data.trainSet.length / cfg.train.batch);
  const total = Math.min(cfg.train.maxSteps ?? Infinity, stepsPerEpoch * cfg.train.epochs);
  const folder = model.folder();
  const folderConfig = { ...folder.config, clitics };
  const st: TrainerState = ckpt?.state ?? {
    epoch: 1, order: [], next: 0, step: 0, optimizerSteps: 0, rng: rng.state, best: -1, metrics: [], lossSum: 0, seen: 0, epochSeconds: 0, skippedSteps: 0,
  };
  if (ckpt) { restoreOptimizer(ckpt.dir, model, opt, st.optimizerSteps); opt.stepCount = st.optimizerSteps; }
  st.schedule = scheduleOf(cfg);
  const split = model.encoder.bert ? cfg.train.splitEpoch ?? TRAIN_DEFAULTS.splitEpoch : 0;
  return {
    cfg, device, model, opt, st, rng, seed, ...data, inputs, folderConfig, folderFiles: folder.files,
    filesWith: (selection) => ({ ...folder.files, [SELECTION_FILE]: formatSelection(selection) }),
    total, warmup: Math.round((cfg.train.warmup ?? TRAIN_DEFAULTS.warmup) * total), split, u1: Math.min(total, split * stepsPerEpoch),
    checkpointEvery: cfg.train.checkpointEvery ?? TRAIN_DEFAULTS.checkpointEvery, phis: candidateThresholds(cfg.eval.threshold, cfg.eval.thresholds, model.defaultThreshold), say,
  };
}
