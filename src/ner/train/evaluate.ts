/**
 * Evaluation of any model: one inference pass over the sentences (in batches), decoded and scored at
 * each threshold (only decoding depends on it, so a sweep costs one inference). On request, each
 * threshold's result also holds the scores by entity length and by nesting, and every sentence's gold and
 * predicted entities with its errors (error analysis), from that same inference.
 */
import type { Device } from '../../tensor/device.js';
import { RNG } from '../../tensor/random.js';
import type { Sentence } from '../data.js';
import type { InferenceSettings, NerModel } from '../contract.js';
import { DEFAULT_SEED, EVAL_BATCH } from '../defaults.js';
import { type BucketScores, compareSpans, type LengthBucket, type NestingBucket, score, scoreByLength, scoreByNesting, type Scores, uniqueSpans } from '../metrics.js';
import { type Candidate, type FilterMode, goldSpans } from '../spans.js';
import { type ProgressMode, progressReporter } from './progress.js';

/** The scores by entity length in words and by nesting (src/ner/metrics.ts defines the buckets). */
export interface EvalBreakdowns { byLength: Record<LengthBucket, BucketScores>; byNesting: Record<NestingBucket, BucketScores> }

/** An entity of a sentence: word indices, `end` exclusive (as the data files), its type and its words joined by spaces. */
export interface EntityRecord { start: number; end: number; type: string; text: string }
/** A predicted entity, with the model's confidence in [0, 1] (the entity object's `score`). */
export interface PredictedEntityRecord extends EntityRecord { score: number }

/**
 * One sentence's gold and predicted entities, each in order of position and without repeats (as scored),
 * and its errors: the predicted entities that are not gold (false positives) and the gold ones that were
 * not predicted (false negatives). `origin` is where the sentence came from ("file:line").
 */
export interface SentencePredictions {
  origin: string; tokens: readonly string[];
  gold: EntityRecord[]; predicted: PredictedEntityRecord[];
  falsePositives: PredictedEntityRecord[]; falseNegatives: EntityRecord[];
}

export interface EvalResult extends Partial<EvalBreakdowns> {
  micro: Scores; perType: Record<string, Scores>; sentencesPerSecond: number;
  /** With the `predictions` setting: one per sentence, in input order. */
  predictions?: SentencePredictions[];
}

/**
 * The evaluation settings: decoding (mode, dedupe), batching, and the model's inference settings. Once
 * `stop` is aborted the evaluation is abandoned (it throws) at the next batch. `breakdowns` adds the
 * scores by length and by nesting to each result, `predictions` each sentence's entities and errors
 * (both off for the trainer, whose evaluations stay as they were).
 */
export type EvalSettings = InferenceSettings & { mode: FilterMode; dedupe?: boolean; batch?: number; stop?: AbortSignal; breakdowns?: boolean; predictions?: boolean };

/** Results in the order of `thresholds`. */
export async function evaluateThresholds(model: NerModel, sentences: readonly Sentence[], device: Device, o: EvalSettings, thresholds: readonly number[],
  seed = DEFAULT_SEED, showProgress: ProgressMode = process.stderr.isTTY ?? false): Promise<(EvalResult & { threshold: number })[]> {
  const wasTraining = model.training;
  model.eval();
  const rng = new RNG(seed);
  const { mode, dedupe, batch, stop, breakdowns, predictions, ...inference } = o;
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
    const result: EvalResult & { threshold: number } = { threshold, ...score(gold, pred, model.types), sentencesPerSecond: sentences.length / secs };
    if (breakdowns) Object.assign(result, { byLength: scoreByLength(gold, pred), byNesting: scoreByNesting(gold, pred) });
    if (predictions) result.predictions = sentences.map((s, i) => sentencePredictions(model, s, pred[i]));
    return result;
  });
}

/** A sentence's gold and predicted entities and its errors (SentencePredictions). */
export function sentencePredictions(model: Pick<NerModel, 'types' | 'confidence'>, sentence: Sentence, candidates: readonly Candidate[]): SentencePredictions {
  const { tokens } = sentence;
  const text = (start: number, end: number) => tokens.slice(start, end).join(' ');
  const byPosition = (a: EntityRecord, b: EntityRecord) => a.start - b.start || a.end - b.end || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
  const gold = sentence.entities.map((e) => ({ left: e.start, right: e.end - 1, type: model.types.indexOf(e.type) + 1, record: { start: e.start, end: e.end, type: e.type, text: text(e.start, e.end) } }));
  // Of a span predicted twice with one type, the more confident stays (scoring counts it once).
  const predicted = candidates.map((c) => ({ left: c.left, right: c.right, type: c.type, record: {
    start: c.left, end: c.right + 1, type: model.types[c.type - 1] ?? `type ${c.type}`, text: text(c.left, c.right + 1), score: Math.min(1, Math.max(0, model.confidence(c))),
  } })).sort((a, b) => b.record.score - a.record.score);
  const { truePositives, falsePositives, falseNegatives } = compareSpans(gold, predicted);
  const records = <R extends EntityRecord>(xs: readonly { record: R }[]) => xs.map((x) => x.record).sort(byPosition);
  return {
    origin: sentence.origin, tokens,
    gold: records(uniqueSpans(gold)), predicted: records([...truePositives, ...falsePositives]),
    falsePositives: records(falsePositives), falseNegatives: records(falseNegatives),
  };
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
