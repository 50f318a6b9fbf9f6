/** The task's defaults, one source each: every command, the API and the trainer read them here. */
import type { FilterMode } from './spans.js';

/** Training sentences longer than this are cut into pieces; predict tags longer ones in overlapping windows of this many words. */
export const MAX_WORDS = 256;
/** Data files for train and eval: a longer line is refused, naming the file and line (a sentence, not a document, per line). */
export const MAX_LINE_CHARS = 1_000_000;
/** Sentences per inference batch (eval, predict, the trainer's dev and test evaluation). */
export const EVAL_BATCH = 16;
/** Filtering when neither a flag nor the model folder's selection.json says otherwise. */
export const DEFAULT_MODE: FilterMode = 'flat';
/** The seed of inference randomness (DDIM noise) when none is given. */
export const DEFAULT_SEED = 0;

/** The training settings a config may leave out (the official code's, where it has them). */
export const TRAIN_DEFAULTS = {
  seed: 48, warmup: 0.1, weightDecay: 0.01, maxGradNorm: 1, encoderLrScale: 1, splitEpoch: 0, checkpointEvery: 200, maxBadSteps: 20, lengthBuckets: 0,
} as const;
