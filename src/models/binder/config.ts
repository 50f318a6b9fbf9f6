/**
 * BINDER's settings: what its config.json and a training config's model, train and eval sections may hold
 * beside the shared encoder's, with their choices, defaults and checks, and the default training config.
 * (heads-notes §2, spec §3; docs/BINDER.md.)
 */
import { checkFolderConfig, ConfigError, ENCODER_FOLDER_RULES, type FolderRule, type ModelRules, type TrainConfig } from '../../ner/config.js';
import { EVAL_BATCH, MAX_WORDS } from '../../ner/defaults.js';
import type { EncoderConfig } from '../../ner/encoders/sentence-encoder.js';
import type { FilterMode } from '../../ner/spans.js';

/** Where the type vectors t_k come from: the type encoder reading each type's description (official), or free learnt vectors (an ablation). */
export const TYPE_INPUTS = ['descriptions', 'embeddings'] as const;
export type TypeInputs = (typeof TYPE_INPUTS)[number];

/** The span projection Linear([h_i; h_j; W(j − i + 1)]): its exact fold A·h_i + B·h_j + C·W + b (default), or the official concatenation. */
export const SPAN_FOLDS = ['folded', 'concat'] as const;
export type SpanFold = (typeof SPAN_FOLDS)[number];

/** BINDER's own settings, beside the shared encoder's (EncoderConfig). */
export interface BinderSettings {
  types: string[];
  /**
   * One description per type (in `types` order), read by the type encoder. A new model takes them from
   * the types file (data.types) or from the built-in sets (descriptions.ts); a model folder records them.
   */
  descriptions?: string[];
  /** d: the width of the five projections and of the span projection (official linear_size 128). */
  linearSize?: number;
  /** Dropout after every projection, before the L2 normalisation (the official hidden_dropout_prob 0.1). */
  linearDropout?: number;
  /** The widest span predicted, in words (the official max_span_length: 30 tokens). Training has no limit. */
  maxSpanWidth?: number;
  /**
   * The widths the width embedding tells apart: it has spanWidths + 1 rows, row 0 (zero, never trained)
   * for the cells j < i. A span wider than spanWidths shares the last row. Default MAX_WORDS (256, the
   * longest training sentence), the analogue of the official max_seq_length + 1 rows.
   */
  spanWidths?: number;
  typeInputs?: TypeInputs;
  /** The type encoder reads the text encoder's word table instead of a copy of its own. */
  tiedEmbeddings?: boolean;
  /** Use min(θ, ln 100) for each logit scale, as CLIP caps its temperature; off, as the official code. */
  clampTemperature?: boolean;
  spanFold?: SpanFold;
  /**
   * Encoder bert without a BiLSTM (lstmLayers 0): a span (i, j) reads the start word's first sub-word
   * state (start projection, h_i of the span projection) and the end word's last sub-word state (end
   * projection, h_j), as the official code's word-start and word-end tokens. Default true there; false
   * reads the pooled word vectors. Not available with the scratch encoder or a BiLSTM over BERT.
   */
  subwordSpans?: boolean;
}

export type BinderConfig = EncoderConfig & BinderSettings;

export const BINDER_DEFAULTS = {
  linearSize: 128, linearDropout: 0.1, maxSpanWidth: 30, spanWidths: MAX_WORDS, typeInputs: 'descriptions' as TypeInputs, tiedEmbeddings: false,
  clampTemperature: false, spanFold: 'folded' as SpanFold,
};

/**
 * The shared encoder's defaults that differ with BERT: no BiLSTM, as the official model (BERT's last
 * hidden states are the text and type vectors; `hidden` must then be BERT's hidden_size).
 */
export const BERT_ENCODER_DEFAULTS = { lstmLayers: 0 };

/** The logit scales θ start at ln(1 / 0.07) (the official init_temperature 0.07). */
export const INIT_TEMPERATURE = 0.07;
/** clampTemperature caps θ here (CLIP's ln 100). */
export const MAX_LOGIT_SCALE = Math.log(100);

/** The loss settings (train section): the official weights, the tiny of the masked log-softmax, and the ablation switch. */
export interface BinderLossSettings {
  /** Weight of the mention (contrastive) loss, official ner_loss_weight 0.5. */
  mentionLossWeight?: number;
  /** Weight of the dynamic-threshold loss, official threshold_loss_weight 0.5. */
  thresholdLossWeight?: number;
  /** Inside each loss: start 0.2, end 0.2, span 0.6 (official start/end/span_loss_weight). */
  startLossWeight?: number;
  endLossWeight?: number;
  spanLossWeight?: number;
  /** false drops the threshold loss (an ablation: [CLS] is then only a negative of the mention loss). */
  thresholdLoss?: boolean;
  /** The tiny of log(mask + tiny): 1e-13 (fp32, default) or 1e-4 (what the official fp16 runs amount to). */
  maskTiny?: number;
}

export const LOSS_DEFAULTS: Required<BinderLossSettings> = {
  mentionLossWeight: 0.5, thresholdLossWeight: 0.5, startLossWeight: 0.2, endLossWeight: 0.2, spanLossWeight: 0.6, thresholdLoss: true, maskTiny: 1e-13,
};

export const TRAIN_CONFIG_RULES: ModelRules = {
  model: {
    linearSize: 'int+', linearDropout: 'fraction', maxSpanWidth: 'int+', spanWidths: 'int+', typeInputs: 'string', tiedEmbeddings: 'bool', clampTemperature: 'bool', spanFold: 'string',
    subwordSpans: 'bool',
  },
  train: {
    mentionLossWeight: 'nonneg', thresholdLossWeight: 'nonneg', startLossWeight: 'nonneg', endLossWeight: 'nonneg', spanLossWeight: 'nonneg', thresholdLoss: 'bool', maskTiny: 'fraction',
  },
  choices: { 'model.typeInputs': TYPE_INPUTS, 'model.spanFold': SPAN_FOLDS },
  check: (cfg: TrainConfig, file: string) => {
    const m = cfg.model as { encoder?: string; typeInputs?: TypeInputs; tiedEmbeddings?: boolean; subwordSpans?: boolean; lstmLayers?: number };
    const bert = m.encoder === 'bert';
    if (m.subwordSpans && !bert) throw new ConfigError(file, 'model.subwordSpans', 'is for encoder bert (the scratch encoder has no sub-words)');
    if (m.subwordSpans && (m.lstmLayers ?? BERT_ENCODER_DEFAULTS.lstmLayers) > 0) throw new ConfigError(file, 'model.subwordSpans', 'needs BERT alone (lstmLayers 0): a BiLSTM reads pooled words, so it has no sub-word states');
    if (bert && m.tiedEmbeddings) throw new ConfigError(file, 'model.tiedEmbeddings', 'is for the scratch encoder (each BERT keeps its own word table)');
    // The trainer's frozen stage freezes the text encoder's BERT only; the official BINDER trains both from the first step.
    const split = (cfg.train as { splitEpoch?: number }).splitEpoch;
    if (bert && split) throw new ConfigError(file, 'train.splitEpoch', `is not used by BINDER (both BERTs train from the first step, as the official code), got ${split}`);
    if (m.tiedEmbeddings && m.typeInputs === 'embeddings') throw new ConfigError(file, 'model.tiedEmbeddings', "needs the type encoder (typeInputs 'descriptions'); with 'embeddings' there is none");
    const tiny = (cfg.train as { maskTiny?: number }).maskTiny;
    if (tiny === 0) throw new ConfigError(file, 'train.maskTiny', 'must be above 0 (log(0) would be -Infinity); 1e-13 (fp32) or 1e-4 (fp16)');
  },
};

/** The fields of a BINDER folder's config.json, with the encoder's (`descriptions` is checked by checkModelConfig). */
export const FOLDER_RULES: Record<string, FolderRule> = {
  ...ENCODER_FOLDER_RULES,
  linearSize: { int: [1, 65536] }, linearDropout: { real: [0, 1], openHigh: true }, maxSpanWidth: { int: [1, 1 << 20] }, spanWidths: { int: [1, 1 << 20] },
  typeInputs: { choice: TYPE_INPUTS }, tiedEmbeddings: 'bool', clampTemperature: 'bool', spanFold: { choice: SPAN_FOLDS }, subwordSpans: 'bool',
};

export function checkModelConfig(c: unknown, file: string): Record<string, unknown> {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${file}: expected a JSON object`);
  const { descriptions, ...rest } = c as Record<string, unknown>;
  const checked = checkFolderConfig(rest, file, FOLDER_RULES);
  if (descriptions !== undefined) {
    const types = checked.types as string[];
    if (!Array.isArray(descriptions) || descriptions.some((d) => typeof d !== 'string' || d.trim() === '')) throw new ConfigError(file, 'descriptions', 'must be a list of non-empty strings');
    if (descriptions.length !== types.length) throw new ConfigError(file, 'descriptions', `has ${descriptions.length} entries for ${types.length} types`);
    checked.descriptions = descriptions;
  } else if ((checked.typeInputs ?? BINDER_DEFAULTS.typeInputs) === 'descriptions') {
    throw new ConfigError(file, 'descriptions', "is required with typeInputs 'descriptions' (one per type)");
  }
  return checked;
}

/** The settings `train --kind binder` uses with data files instead of a config: those of configs/binder-conll2003.json. */
export function defaultTrainConfig(data: TrainConfig['data'], mode: FilterMode = 'flat'): TrainConfig {
  return {
    data,
    model: {
      kind: 'binder', hidden: 256, embedding: 128, charEmbedding: 32, charFilters: 50, wordDropout: 0.05, minFreq: 2, lstmLayers: 2, dropout: 0.1, embeddingDropout: 0.5,
      linearSize: 128, linearDropout: 0.1, maxSpanWidth: 30, typeInputs: 'descriptions', spanFold: 'folded',
    },
    train: { epochs: 10, batch: 8, lr: 2e-4, encoderLrScale: 5, warmup: 0, weightDecay: 0, maxGradNorm: 1, correctBias: true, seed: 42, checkpointEvery: 200 },
    eval: { mode, batch: EVAL_BATCH, threshold: 0.5 },
    out: 'runs/out',
  };
}
