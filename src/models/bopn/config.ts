/**
 * BOPN's settings: what its config.json and a training config's model, train and eval sections may hold
 * beside the shared encoder's, with their choices, defaults and checks, and the default training config.
 */
import { checkFolderConfig, ENCODER_FOLDER_RULES, type FolderRule, type ModelRules, type TrainConfig } from '../../ner/config.js';
import type { EncoderConfig } from '../../ner/encoders/sentence-encoder.js';
import { EVAL_BATCH } from '../../ner/defaults.js';
import type { FilterMode } from '../../ner/spans.js';
import { OFFSET_DECODINGS, type OffsetDecoding } from './decode.js';

/** The second scoring branch (spec §2.4): its exact algebraic fold, or the official unfolded (B, M, n, n, H) form. */
export const SECOND_BRANCHES = ['folded', 'unfolded'] as const;
export type SecondBranch = (typeof SECOND_BRANCHES)[number];

/** BOPN's own settings, beside the shared encoder's (EncoderConfig). */
export interface BopnSettings {
  types: string[];
  /** S: how many words away an offset label points back to its entity (2 in every official config). */
  window?: number;
  /** The biaffine's MLP width (150). */
  biaffine?: number;
  /** Width of the distance and of the region embedding (20 each). */
  gridEmbedding?: number;
  /** Dropout before the biaffine's two MLPs (the official out_dropout, 0.33). */
  outDropout?: number;
  /** The 3-D convolution over (type, start, end) (official: on for GENIA, off for CoNLL-2003). */
  conv?: boolean;
  /** Its channel-wise Dropout3d (0.2). */
  convDropout?: number;
  secondBranch?: SecondBranch;
  /**
   * How the model reads its label grid unless told otherwise (eval.decoding, --decoding): `centres` (the
   * official CoNLL-2003 setting), `offsets` or `votes` (GENIA's). See decode.ts.
   */
  decoding?: OffsetDecoding;
  /** Apply the shared flat/nested overlap filter (eval.mode) after decoding; off, as the official code. */
  overlapFilter?: boolean;
}

export type BopnConfig = EncoderConfig & BopnSettings;

export const BOPN_DEFAULTS = {
  window: 2, biaffine: 150, gridEmbedding: 20, outDropout: 0.33, conv: false, convDropout: 0.2, secondBranch: 'folded' as SecondBranch,
  decoding: 'centres' as OffsetDecoding, overlapFilter: false,
};

/**
 * The shared encoder as BOPN's official one (spec §2.2): one BiLSTM layer, dropout 0.5 on its input, no
 * sinusoidal positions (the distance embedding gives relative position), mean sub-word pooling with BERT.
 */
export const BOPN_ENCODER_DEFAULTS = { lstmLayers: 1, embeddingDropout: 0.5, positionFeatures: false, pooling: 'mean' as const };

/** BOPN's inference settings (eval section, flags), overriding the model's own decoding and overlapFilter. */
export interface BopnInference { decoding?: OffsetDecoding; overlapFilter?: boolean }

export const TRAIN_CONFIG_RULES: ModelRules = {
  model: { window: 'int+', biaffine: 'int+', gridEmbedding: 'int+', outDropout: 'fraction', conv: 'bool', convDropout: 'fraction', secondBranch: 'string', decoding: 'string', overlapFilter: 'bool' },
  train: { labelSmoothing: 'fraction' },
  eval: { decoding: 'string', overlapFilter: 'bool' },
  choices: { 'model.secondBranch': SECOND_BRANCHES, 'model.decoding': OFFSET_DECODINGS, 'eval.decoding': OFFSET_DECODINGS },
};

/** The fields of a BOPN folder's config.json, with the encoder's. */
export const FOLDER_RULES: Record<string, FolderRule> = {
  ...ENCODER_FOLDER_RULES,
  window: { int: [1, 64] }, biaffine: { int: [1, 65536] }, gridEmbedding: { int: [1, 4096] }, outDropout: { real: [0, 1], openHigh: true }, conv: 'bool',
  convDropout: { real: [0, 1], openHigh: true }, secondBranch: { choice: SECOND_BRANCHES }, decoding: { choice: OFFSET_DECODINGS }, overlapFilter: 'bool',
};

export function checkModelConfig(c: unknown, file: string): Record<string, unknown> {
  return checkFolderConfig(c, file, FOLDER_RULES);
}

/** The settings `train --kind bopn` uses with data files instead of a config: those of configs/bopn-conll2003.json. */
export function defaultTrainConfig(data: TrainConfig['data'], mode: FilterMode = 'flat'): TrainConfig {
  return {
    data,
    model: {
      kind: 'bopn', hidden: 256, embedding: 128, charEmbedding: 32, charFilters: 50, wordDropout: 0.05, minFreq: 2, lstmLayers: 2, conv: mode === 'nested',
      decoding: mode === 'nested' ? 'votes' : 'centres',
    },
    train: { epochs: 10, batch: 16, lr: 1e-3, warmup: 0.1, weightDecay: 0, maxGradNorm: mode === 'nested' ? 5 : 1, correctBias: true, seed: 48, checkpointEvery: 200, labelSmoothing: 0.01 },
    eval: { mode, batch: EVAL_BATCH, threshold: 0 },
    out: 'runs/out',
  };
}

export type { OffsetDecoding };
