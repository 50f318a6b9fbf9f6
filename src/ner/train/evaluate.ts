/**
 * Evaluation of any model: one inference pass over the sentences (in batches), decoded and scored at
 * each threshold (only decoding depends on it, so a sweep costs one inference).
 */
import type { Device } from '../../tensor/device.js';
import { RNG } from '../../tensor/random.js';
import type { Sentence } from '../data.js';
import type { InferenceSettings, NerModel } from '../contract.js';
import { DEFAULT_SEED, EVAL_BATCH } from '../defaults.js';
import { score, type Scores } from '../metrics.js';
import { type FilterMode, goldSpans } from '../spans.js';
import { type ProgressMode, progressReporter } from './progress.js';

export interface EvalResult { micro: Scores; perType: Record<string, Scores>; sentencesPerSecond: number }

/**
 * The evaluation settings: decoding (mode, dedupe), batching, and the model's inference settings. Once
 * `stop` is aborted the evaluation is abandoned (it throws) at the next batch.
 */
export type EvalSettings = InferenceSettings & { mode: FilterMode; dedupe?: boolean; batch?: number; stop?: AbortSignal };

/** Results in the order of `thresholds`. */
export async function evaluateThresholds(model: NerModel, sentences: readonly Sentence[], device: Device, o: EvalSettings, thresholds: readonly number[],
  seed = DEFAULT_SEED, showProgress: ProgressMode = process.stderr.isTTY ?? false): Promise<(EvalResult & { threshold: number })[]> {
  const wasTraining = model.training;
  model.eval();
  const rng = new RNG(seed);
  const { mode, dedupe, batch, stop, ...inference } = o;
  const raw: unknown[] = [];
  const t0 = performance.now();
  const bs = batch ?? EVAL_BATCH;
  const bar = progressReporter('evaluating', sentences.length, showProgress);
  try {
    for (let i = 0; i < sentences.length; i += bs) {
      if (stop) await stopPoint(stop);
      const b = model.batch(sentences.slice(i, i + bs), device);
      raw.push(...await model.infer(b, inference, rng));
      model.disposeBatch(b);
      bar.update(Math.min(i + bs, sentences.length));
    }
  } finally {
    bar.end();
    model.train(wasTraining);
  }
  const secs = (performance.now() - t0) / 1000;
  const gold = sentences.map((s) => goldSpans(s.entities, model.types));
  return thresholds.map((threshold) => {
    const pred = raw.map((r) => model.decode(r, { mode, threshold, dedupe }));
    return { threshold, ...score(gold, pred, model.types), sentencesPerSecond: sentences.length / secs };
  });
}

/** Lets pending events (a signal handler) run, then throws if the stop was requested. */
async function stopPoint(stop: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  stop.throwIfAborted();
}

export async function evaluate(model: NerModel, sentences: readonly Sentence[], device: Device, o: EvalSettings & { threshold: number }, seed = DEFAULT_SEED, showProgress: ProgressMode = process.stderr.isTTY ?? false): Promise<EvalResult> {
  const { threshold, ...rest } = o;
  return (await evaluateThresholds(model, sentences, device, rest, [threshold], seed, showProgress))[0];
}
