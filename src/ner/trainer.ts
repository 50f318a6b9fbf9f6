/**
 * Training DiffusionNER with the from-scratch encoder: seeded shuffling per epoch, AdamW (Hugging Face
 * style: no bias correction, decay after the step, no decay for biases and LayerNorm weights), linear
 * warm-up/decay, global-norm clipping, dev evaluation every epoch, the best dev model kept as a model
 * folder, test evaluation at the end, a progress line with ETA and sentences/s, a log file and metrics
 * JSON, crash-safe checkpoints every N steps and at every epoch end (resumable: model, optimizer,
 * schedule position, data order and RNG), and skipped steps on a non-finite loss or gradient.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, clipGradNorm, decayGroups, linearWarmupDecay, twoStageSchedule } from '../nn/optim.js';
import { BertModel, parseBertConfig } from '../nn/bert.js';
import { loadModelFolder, saveModelFolder, writeFileAtomic } from '../nn/folder.js';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import { countDataset, describeCounts, inferTypes, readSentences, readTypes, checkTypes, splitLongSentences, type Sentence } from './data.js';
import { decodeSentence, score, type Scores } from './decode.js';
import { DiffusionNER, type FinalProposals, type LossWeights, type ModelConfig } from './model.js';
import { hasCheckpoint, readCheckpoint, restoreOptimizer, saveCheckpoint, type TrainerState } from './checkpoint.js';
import { checkResume, type RunInputs, trainDataFingerprint } from './resume.js';
import { buildVocab, describeVocab } from './vocab.js';
import { type CliticStyle, cliticStyle } from '../text/tokenize.js';
import { decodeUtf8 } from '../text/utf8.js';
import { readVocabFile } from '../text/vocab-file.js';
import { checkModelConfig } from './config.js';
import { candidateThresholds, chooseThreshold, formatSelection, readSelection, SELECTION_FILE, type Selection } from './selection.js';

export interface TrainConfig {
  /** `train` may be several files, read as one training set. */
  data: { train: string | string[]; dev?: string; test?: string; types?: string };
  model: Omit<ModelConfig, 'vocab' | 'types' | 'bert'> & { minFreq?: number; bertPath?: string };
  /** LossWeights: the official loss and match weights (default 1; 5 in the official CoNLL-2003 config). */
  train: LossWeights & {
    epochs: number; batch: number; lr: number; warmup?: number; weightDecay?: number; maxGradNorm?: number; seed?: number; maxSteps?: number;
    /** Steps between crash-safe checkpoints (default 200); every epoch end is one too. */
    checkpointEvery?: number;
    /**
     * Warm-up freezing (spec §1.3, encoder bert): BERT stays frozen for this many epochs, under the
     * two-stage schedule (§1.8); 0 trains everything from the start with one linear schedule.
     */
    splitEpoch?: number;
    /** Training sentences longer than this are cut into pieces (default 256; dev and test are not cut). */
    maxWords?: number;
    /** Multiplies the learning rate of the encoder (embeddings, char CNN, BiLSTM); default 1. */
    encoderLrScale?: number;
    /** Consecutive non-finite steps that abort the run (default 20). */
    maxBadSteps?: number;
    /** Adam's bias correction (the paper's Adam); off by default, as the official code's AdamW. */
    correctBias?: boolean;
    /**
     * Also keep every epoch's model as OUT/epochs/epoch-N (a model folder, with the φ chosen on dev for
     * that epoch), e.g. to average the models along one run (`diffusionner average`). Default false.
     */
    keepEpochModels?: boolean;
  };
  eval: {
    steps?: number; proposals?: number; eta?: number; threshold?: number; mode: 'flat' | 'nested'; batch?: number;
    /** The paper's de-duplication of identical boundaries (decode.ts); off, as the official code. */
    dedupe?: boolean;
    /**
     * Further φ values scored on dev after each epoch (one DDIM run for all); the best, with `threshold`
     * among the candidates, selects the epoch and is kept in the model folder (selection.json) for test,
     * eval, predict and trace. Absent: `threshold` alone, as the official code does.
     */
    thresholds?: number[];
  };
  out: string;
}

export interface EvalResult { micro: Scores; perType: Record<string, Scores>; sentencesPerSecond: number }

/** Loads a model folder written by `train` (config.json, vocab.txt, model.safetensors). */
export async function loadTrained(dir: string, device: Device, rng?: RNG): Promise<DiffusionNER> {
  if (!existsSync(dir)) throw new Error(`${dir}: no such model folder`);
  if (!existsSync(join(dir, 'vocab.txt'))) throw new Error(`${dir}: not a DiffusionNER model folder (no vocab.txt)`);
  const vocab = readVocabFile(join(dir, 'vocab.txt'));
  // A folder without `init` was trained before the official initialisation existed, with PyTorch's; one
  // without `positionFeatures` before BERT models defaulted to none, when every model had them.
  return loadModelFolder(dir, (c) => new DiffusionNER({ init: 'pytorch', positionFeatures: true, ...(checkModelConfig(c, join(dir, 'config.json')) as unknown as ModelConfig), vocab }, { device, rng }));
}

/** The clitic style a model folder's config.json records, if it records one (folders before session 13 do not). */
function recordedClitics(dir: string): CliticStyle | undefined {
  const path = join(dir, 'config.json');
  return (JSON.parse(decodeUtf8(readFileSync(path), path)) as { clitics?: CliticStyle }).clitics;
}

/** Progress on stderr: `true` redraws a bar, `'lines'` writes a plain line at each tenth (for pipes and logs), `false` is silent. */
export type ProgressMode = boolean | 'lines';

export async function evaluate(model: DiffusionNER, sentences: Sentence[], device: Device, o: TrainConfig['eval'], seed = 0, showProgress: ProgressMode = process.stderr.isTTY ?? false): Promise<EvalResult> {
  return (await evaluateThresholds(model, sentences, device, o, [o.threshold ?? 2.5], seed, showProgress))[0];
}

/**
 * One DDIM run over the sentences, scored at each threshold φ (only the final filter depends on φ, so a
 * sweep costs one evaluation). Results are in the order of `thresholds`.
 */
export async function evaluateThresholds(model: DiffusionNER, sentences: Sentence[], device: Device, o: TrainConfig['eval'], thresholds: number[], seed = 0, showProgress: ProgressMode = process.stderr.isTTY ?? false): Promise<(EvalResult & { threshold: number })[]> {
  const wasTraining = model.training;
  model.eval();
  const rng = new RNG(seed);
  const gold = sentences.map((s) => s.entities.map((e) => ({ left: e.start, right: e.end - 1, type: model.c.types.indexOf(e.type) + 1 })));
  const finals: FinalProposals[] = [];
  const t0 = performance.now();
  const bs = o.batch ?? 16;
  let tenthsShown = 0;
  for (let i = 0; i < sentences.length; i += bs) {
    const b = model.batch(sentences.slice(i, i + bs), device);
    await model.predict(b, { steps: o.steps ?? 5, proposals: o.proposals, eta: o.eta ?? 1, threshold: o.threshold ?? 2.5, mode: o.mode, rng, onFinal: (f) => finals.push(...f) });
    DiffusionNER.disposeBatch(b);
    const done = Math.min(i + bs, sentences.length);
    if (showProgress === true) progress('evaluating', done, sentences.length, t0, '');
    const tenths = Math.floor((10 * done) / sentences.length);
    if (showProgress === 'lines' && tenths > tenthsShown) {
      tenthsShown = tenths;
      process.stderr.write(progressLine('evaluating', done, sentences.length, (performance.now() - t0) / 1000, '') + '\n');
    }
  }
  if (showProgress === true) process.stderr.write('\n');
  const secs = (performance.now() - t0) / 1000;
  model.train(wasTraining);
  return thresholds.map((threshold) => {
    const pred = finals.map((f) => decodeSentence(f.left, f.right, f.probs, f.K, f.M, f.C1, { mode: o.mode, threshold, dedupe: o.dedupe }));
    return { threshold, ...score(gold, pred, model.c.types), sentencesPerSecond: sentences.length / secs };
  });
}

/** Sentences per second and seconds left, after `done` of `total` in `secs`. */
function rateAndEta(done: number, total: number, secs: number): { rate: string; eta: number } {
  return { rate: (done / Math.max(secs, 1e-9)).toFixed(1), eta: done ? (secs / done) * (total - done) : 0 };
}

function progress(label: string, done: number, total: number, t0: number, extra: string): void {
  const { rate, eta } = rateAndEta(done, total, (performance.now() - t0) / 1000);
  const width = 24, fill = Math.round((width * done) / total);
  const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
  process.stderr.write(`\r${label} [${bar}] ${done}/${total}  ${rate} sent/s  ETA ${clock(eta)}  ${extra}   `);
}

/** Seconds as `12 min 0 s` (rounded to the second first, so never `11 min 60 s`) or `42 s`. */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** The bar's content as one plain line, for logs that are not a terminal. */
export function progressLine(label: string, done: number, total: number, secs: number, extra: string): string {
  const { rate, eta } = rateAndEta(done, total, secs);
  return `${label}: ${done}/${total} sentences (${Math.floor((100 * done) / Math.max(total, 1))} %), ${rate} sent/s, ETA ${clock(eta)}${extra ? `, ${extra}` : ''}`;
}

/** Characters of the training words, most frequent first, after padding and unknown. */
export function buildCharVocab(sentences: readonly Sentence[]): string[] {
  const freq = new Map<string, number>();
  for (const s of sentences) for (const w of s.tokens) for (const c of w) freq.set(c, (freq.get(c) ?? 0) + 1);
  return ['<pad>', '<unk>', ...[...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c)];
}

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
  beforeStep?: (step: number, model: DiffusionNER) => void;
}

export async function train(cfg: TrainConfig, device: Device, o: TrainOptions = {}): Promise<{ dev?: EvalResult; test?: EvalResult; steps: number }> {
  const log = o.log ?? console.log;
  const progressMode: ProgressMode = o.progress ?? process.stderr.isTTY ?? false;
  const showProgress = progressMode === true;
  const progressLines = progressMode === 'lines';
  mkdirSync(cfg.out, { recursive: true });
  const logFile = join(cfg.out, 'train.log');
  // One line per optimiser step; a resumed run appends again from its checkpoint's step.
  const stepsFile = join(cfg.out, 'steps.jsonl');
  const say = (line: string) => { log(line); appendFileSync(logFile, line + '\n'); };
  const long = splitLongSentences([cfg.data.train].flat().flatMap((f) => readSentences(f)), cfg.train.maxWords ?? 256);
  const trainSet = long.sentences;
  let devSet = cfg.data.dev ? readSentences(cfg.data.dev) : undefined;
  const testSet = cfg.data.test ? readSentences(cfg.data.test) : undefined;
  const types = cfg.data.types ? readTypes(cfg.data.types) : inferTypes(trainSet);
  for (const set of [trainSet, devSet, testSet]) if (set) checkTypes(set, types);
  const trainCounts = countDataset(trainSet);
  say(describeCounts('train', trainCounts));
  // Flat filtering drops every span inside a better one, so on nested data it caps recall silently.
  if (trainCounts.nested && cfg.eval.mode !== 'nested') say(`warning: ${trainCounts.nested} training entities contain another, but eval.mode is flat, which never predicts both of a nested pair; nested data wants "eval": {"mode": "nested"}`);
  if (long.split) say(`train: ${long.split} sentences longer than ${cfg.train.maxWords ?? 256} words were cut into ${long.pieces} pieces; ${long.droppedEntities} entities crossing a cut were dropped`);
  if (devSet) say(describeCounts('dev', countDataset(devSet)));
  if (devSet && !devSet.some((x) => x.entities.length)) {
    // F1 would be 0 at every epoch and the first would be kept: without gold entities dev cannot rank epochs.
    say(`dev: ${cfg.data.dev} has no entities, so it cannot choose an epoch or φ; it is not used (the last epoch's model is kept, at the configured φ)`);
    devSet = undefined;
  }
  if (testSet) say(describeCounts('test', countDataset(testSet)));
  const seed = cfg.train.seed ?? 48;
  const rng = new RNG(seed);
  const resuming = !!o.resume && hasCheckpoint(cfg.out);
  // A fresh run would leave an earlier run's checkpoint pointer in place until its own first one, and a
  // later --resume would continue the other run.
  if (!o.resume && hasCheckpoint(cfg.out)) throw new Error(`${cfg.out} holds a checkpoint of an earlier run: add --resume to continue it, or choose another --out`);
  const ckpt = resuming ? readCheckpoint(cfg.out) : null;
  const inputs: RunInputs = { trainData: trainDataFingerprint(trainSet), model: { ...cfg.model } };
  let model: DiffusionNER, vocab: string[], config: ModelConfig;
  let scratchVocab = false; // built here from the training set (not BERT's, a checkpoint's or --init's)
  // How predict will split plain text: the config's choice, else the training data's convention. A
  // checkpoint or --init folder from before models recorded it gets it from this run's training data.
  const dataClitics = () => cfg.model.clitics ?? cliticStyle(trainSet.map((x) => x.tokens));
  if (ckpt) {
    model = await loadTrained(ckpt.dir, device, rng);
    try {
      checkResume({ checkpoint: ckpt.dir, modelTypes: model.c.types, types, now: inputs, recorded: ckpt.state.inputs, orderLength: ckpt.state.order.length });
    } catch (e) {
      // The log already counts this invocation's data: it also says why nothing was trained with it.
      appendFileSync(logFile, `resume refused: ${(e as Error).message}\n`);
      model.dispose();
      throw e;
    }
    vocab = model.c.vocab;
    config = { ...model.c, clitics: recordedClitics(ckpt.dir) ?? dataClitics() };
    rng.state = ckpt.state.rng;
    say(`resuming from ${ckpt.dir} (epoch ${ckpt.state.epoch}, step ${ckpt.state.step})`);
  } else if (o.init) {
    model = await loadTrained(o.init, device, rng);
    vocab = model.c.vocab;
    config = { ...model.c, clitics: recordedClitics(o.init) ?? dataClitics() };
    if (model.c.types.join(' ') !== types.join(' ')) {
      model.dispose();
      throw new Error(`${o.init}: the model's types (${model.c.types.join(' ')}) differ from the data's (${types.join(' ')})`);
    }
    say(`initialised from ${o.init} (its vocabulary and model settings; fresh optimiser and schedule)`);
  } else if (cfg.model.encoder === 'bert') {
    const dir = cfg.model.bertPath!;
    const { minFreq: _m, bertPath: _b, ...modelCfg } = cfg.model;
    const bertCfgPath = join(dir, 'config.json');
    if (!existsSync(bertCfgPath)) throw new Error(`${dir}: not a BERT folder (no config.json)`);
    vocab = readVocabFile(join(dir, 'vocab.txt'));
    config = { ...modelCfg, clitics: dataClitics(), vocab, types, bert: parseBertConfig(readFileSync(bertCfgPath, 'utf8'), bertCfgPath) };
    model = new DiffusionNER(config, { device, rng });
    const pre = await BertModel.fromPretrained(dir, { device });
    await model.bert!.loadStateDict(pre.stateDict());
    pre.dispose();
  } else {
    vocab = buildVocab(trainSet, cfg.model.minFreq ?? 1, cfg.model.lowercase ?? false);
    scratchVocab = true;
    const { minFreq: _unused, bertPath: _b, ...modelCfg } = cfg.model;
    config = { ...modelCfg, clitics: dataClitics(), vocab, types, chars: (cfg.model.charEmbedding ?? 0) > 0 ? buildCharVocab(trainSet) : [] };
    model = new DiffusionNER(config, { device, rng });
  }
  // BERT's positions bound a sentence's sub-words: a sentence too long is an error now, not mid-epoch.
  try { for (const set of [trainSet, devSet, testSet]) if (set) model.checkLengths(set); } catch (e) { model.dispose(); throw e; }
  model.train();
  const vocabText = scratchVocab ? describeVocab(trainSet, vocab, cfg.model.minFreq ?? 1, cfg.model.lowercase ?? false) : `vocabulary ${vocab.length}`;
  say(`model: ${model.parameterCount().toLocaleString('en')} parameters, ${vocabText}${model.charCnn ? `, ${model.c.chars.length} characters` : ''}, types ${types.join(' ')}`);
  // The from-scratch encoder may learn faster than the decoder, whose post-LN span layers collapse
  // at high rates (../shared/DESIGN.md): encoderLrScale multiplies the encoder's rate.
  const named = [...model.namedParameters()];
  const isEncoder = (n: string) => /^(word_embed|char_cnn|lstm)\./.test(n);
  const groups = [
    ...decayGroups(named.filter(([n]) => isEncoder(n)), cfg.train.weightDecay ?? 0.01).map((g) => ({ ...g, lrScale: cfg.train.encoderLrScale ?? 1 })),
    ...decayGroups(named.filter(([n]) => !isEncoder(n)), cfg.train.weightDecay ?? 0.01),
  ].filter((g) => g.params.length);
  const opt = new AdamW(groups, { lr: cfg.train.lr, eps: 1e-6, correctBias: cfg.train.correctBias ?? false, decayAfter: true });
  const stepsPerEpoch = Math.ceil(trainSet.length / cfg.train.batch);
  const total = Math.min(cfg.train.maxSteps ?? Infinity, stepsPerEpoch * cfg.train.epochs);
  const warmup = Math.round((cfg.train.warmup ?? 0.1) * total);
  const every = cfg.train.checkpointEvery ?? 200;
  const phis = candidateThresholds(cfg.eval.threshold, cfg.eval.thresholds);
  const modelFiles = (sel: Selection) => ({ 'vocab.txt': vocab.join('\n') + '\n', [SELECTION_FILE]: formatSelection(sel) });
  const maxBad = cfg.train.maxBadSteps ?? 20;
  // The folder records the initialisation it started from: a folder without one predates the option (pytorch).
  const saveConfig = { ...config, init: model.c.init, positionFeatures: model.c.positionFeatures, vocab: undefined };
  const st: TrainerState = ckpt?.state ?? {
    epoch: 1, order: [], next: 0, step: 0, optimizerSteps: 0, rng: rng.state, best: -1, metrics: [], lossSum: 0, seen: 0, epochSeconds: 0, skippedSteps: 0,
  };
  if (ckpt) { restoreOptimizer(ckpt.dir, model, opt, st.optimizerSteps); opt.stepCount = st.optimizerSteps; }
  let badInARow = 0;
  const checkpoint = async () => {
    // After non-finite steps the weights are suspect: the last good checkpoint stays the latest.
    if (badInARow > 0) return;
    st.rng = rng.state; st.optimizerSteps = opt.stepCount; st.inputs ??= inputs;
    await saveCheckpoint(cfg.out, model, saveConfig, vocab, opt, st);
  };
  // state: 'training' until the run ends, then 'done' (every epoch, and test when there is one) or 'stopped'
  // (train.maxSteps), so a script waiting on the run can tell an epoch's end from the run's.
  let testResult: Record<string, unknown> | undefined;
  const writeMetrics = (state: 'training' | 'done' | 'stopped') =>
    writeFileAtomic(join(cfg.out, 'metrics.json'), JSON.stringify({ state, epochs: st.metrics, ...(testResult ? { test: testResult } : {}) }, null, 1));
  let bestDev = (st.metrics as { dev?: EvalResult }[]).reduce<EvalResult | undefined>((b, m) => (m.dev && (!b || m.dev.micro.f1 > b.micro.f1) ? m.dev : b), undefined);
  // Warm-up freezing: BERT is frozen until epoch splitEpoch + 1 (the official `epoch >= split_epoch`, 0-based).
  const split = model.bert ? cfg.train.splitEpoch ?? 0 : 0;
  const u1 = Math.min(total, split * stepsPerEpoch);
  while (st.epoch <= cfg.train.epochs && st.step < total) {
    if (st.next === 0) { st.order = rng.shuffle(trainSet.map((_, i) => i)); st.lossSum = 0; st.seen = 0; st.epochSeconds = 0; }
    if (model.bert) {
      const frozen = st.epoch <= split;
      model.bert.freeze(frozen);
      if (st.epoch === split + 1 && st.next === 0 && split > 0) say(`epoch ${st.epoch}: BERT unfrozen`);
    }
    let t0 = performance.now();
    const elapsed = () => st.epochSeconds + (performance.now() - t0) / 1000;
    while (st.next < st.order.length && st.step < total) {
      const batch = st.order.slice(st.next, st.next + cfg.train.batch).map((j) => trainSet[j]);
      st.next += cfg.train.batch;
      // The official code skips a batch with no gold entity (no backward, no optimiser step).
      if (batch.every((s) => s.entities.length === 0)) continue;
      o.beforeStep?.(st.step + 1, model);
      const b = model.batch(batch, device);
      const l = await model.lossAndBackward(b, cfg.train);
      DiffusionNER.disposeBatch(b);
      const { norm, scale } = await clipGradNorm(model.parameters(), cfg.train.maxGradNorm ?? 1);
      st.step++;
      st.seen += batch.length;
      if (!Number.isFinite(l.classification + l.boundary) || !Number.isFinite(norm)) {
        // A non-finite loss or gradient: no update; too many in a row ends the run.
        opt.zeroGrad();
        st.skippedSteps++;
        say(`step ${st.step}: non-finite ${Number.isFinite(norm) ? 'loss' : 'gradient'}, step skipped (${st.skippedSteps} so far)`);
        if (++badInARow >= maxBad) {
          opt.dispose();
          throw new Error(`${badInARow} non-finite steps in a row at step ${st.step}: stopping; the last good checkpoint is in ${cfg.out} (lower the learning rate)`);
        }
        continue;
      }
      badInARow = 0;
      opt.lr = cfg.train.lr * (split > 0 ? twoStageSchedule(st.step - 1, u1, total - u1, cfg.train.warmup ?? 0.1) : linearWarmupDecay(st.step - 1, warmup, total));
      opt.step(scale);
      opt.zeroGrad();
      st.lossSum += l.classification + l.boundary;
      appendFileSync(stepsFile, JSON.stringify({ step: st.step, loss: l.classification + l.boundary, classification: l.classification, boundary: l.boundary, lr: opt.lr, gradNorm: norm }) + '\n');
      const meanLoss = () => `loss ${(st.lossSum / Math.max(1, st.seen / cfg.train.batch)).toFixed(3)}`;
      if (showProgress && (st.step % 10 === 0 || st.next >= st.order.length)) {
        progress(`epoch ${st.epoch}`, Math.min(st.next, st.order.length), st.order.length, performance.now() - 1000 * elapsed(), meanLoss());
      }
      if (st.step % every === 0) {
        if (progressLines) process.stderr.write(progressLine(`epoch ${st.epoch}`, st.next, st.order.length, elapsed(), meanLoss()) + '\n');
        st.epochSeconds = elapsed(); t0 = performance.now();
        await checkpoint();
      }
    }
    if (showProgress) process.stderr.write('\n');
    const finished = st.next >= st.order.length;
    if (!finished) say(`stopping after ${st.step} steps (maxSteps)`);
    const epochSecs = elapsed();
    const entry: Record<string, unknown> = { epoch: st.epoch, steps: st.step, complete: finished, skippedSteps: st.skippedSteps, trainSeconds: epochSecs, trainSentencesPerSecond: st.seen / epochSecs };
    let selection: Selection;
    if (devSet) {
      if (progressLines) process.stderr.write(`epoch ${st.epoch}: evaluating dev (${devSet.length} sentences)\n`);
      const sweep = await evaluateThresholds(model, devSet, device, cfg.eval, phis, seed, progressMode);
      const r = chooseThreshold(sweep);
      entry.dev = r;
      const f1ByThreshold = Object.fromEntries(sweep.map((x) => [String(x.threshold), Number(x.micro.f1.toFixed(2))]));
      const at = sweep.length > 1 ? ` at φ ${r.threshold} (F1 by φ: ${sweep.map((x) => `${x.threshold} → ${x.micro.f1.toFixed(2)}`).join(', ')})` : '';
      say(`epoch ${st.epoch}: ${epochSecs.toFixed(0)} s, ${(st.seen / epochSecs).toFixed(1)} train sent/s; dev P ${r.micro.precision.toFixed(2)} R ${r.micro.recall.toFixed(2)} F1 ${r.micro.f1.toFixed(2)}${at} (${r.sentencesPerSecond.toFixed(1)} sent/s)`);
      selection = { threshold: r.threshold, split: 'dev', f1ByThreshold, mode: cfg.eval.mode };
      if (r.micro.f1 > st.best) {
        st.best = r.micro.f1; bestDev = r;
        await saveModelFolder(join(cfg.out, 'model'), model, saveConfig, modelFiles(selection));
      }
    } else {
      say(`epoch ${st.epoch}: ${epochSecs.toFixed(0)} s, ${(st.seen / epochSecs).toFixed(1)} train sent/s`);
      selection = { threshold: phis[0], split: 'none (the configured φ; no dev set)', f1ByThreshold: {}, mode: cfg.eval.mode };
      await saveModelFolder(join(cfg.out, 'model'), model, saveConfig, modelFiles(selection));
    }
    if (cfg.train.keepEpochModels && finished) await saveModelFolder(join(cfg.out, 'epochs', `epoch-${st.epoch}`), model, saveConfig, modelFiles(selection));
    st.metrics.push(entry);
    writeMetrics('training');
    // The epoch's end (after its dev evaluation) is a checkpoint too: a resumed run starts the next epoch.
    if (!finished) { await checkpoint(); break; }
    st.next = 0; st.order = []; st.epoch++;
    await checkpoint();
  }
  let test: EvalResult | undefined;
  if (testSet) {
    const bestDir = join(cfg.out, 'model');
    const bestModel = existsSync(join(bestDir, 'config.json')) ? await loadTrained(bestDir, device) : model;
    const threshold = (bestModel !== model ? readSelection(bestDir)?.threshold : undefined) ?? phis[0];
    test = await evaluate(bestModel, testSet, device, { ...cfg.eval, threshold }, seed, progressMode);
    say(`test (${devSet ? 'best dev model' : 'last model'}, φ ${threshold}): P ${test.micro.precision.toFixed(2)} R ${test.micro.recall.toFixed(2)} F1 ${test.micro.f1.toFixed(2)} (${test.sentencesPerSecond.toFixed(1)} sent/s)`);
    if (bestModel !== model) bestModel.dispose();
    testResult = { threshold, ...test };
  }
  writeMetrics(st.epoch > cfg.train.epochs ? 'done' : 'stopped');
  opt.dispose();
  model.dispose();
  const folder = join(cfg.out, 'model');
  if (existsSync(join(folder, 'config.json'))) say(`saved: ${folder} (${devSet ? 'the best epoch on dev, with its φ' : 'the last epoch'} in selection.json); try it with npx diffusionner predict --model ${folder} "some text"`);
  return { dev: bestDev, test, steps: st.step };
}
