/**
 * DiffusionNER's settings: what its config.json and a training config's model section may hold beside the
 * shared encoder's, with their choices, defaults and checks, and the default training config.
 */
import { SCHEDULE_KINDS, type ScheduleKind } from '../../diffusion/schedule.js';
import { checkFolderConfig, ConfigError, ENCODER_FOLDER_RULES, type FolderRule, type ModelRules, type TrainConfig } from '../../ner/config.js';
import type { EncoderConfig } from '../../ner/encoders/sentence-encoder.js';
import { DEFAULT_MODE, EVAL_BATCH } from '../../ner/defaults.js';
import type { FilterMode } from '../../ner/spans.js';
import { SAMPLING_DEFAULTS } from './sampling.js';

export const SPAN_POOLINGS = ['lrconcat', 'meanpool'] as const;
export const INITS = ['official', 'pytorch'] as const;
export const EXPANSIONS = ['repeat', 'concat', 'random'] as const;
export const TIME_EMBEDDINGS = ['mlp', 'sinusoid'] as const;

/** DiffusionNER's own settings, beside the shared encoder's (EncoderConfig). */
export interface DiffusionSettings {
  types: string[];
  proposals?: number;
  heads?: number;
  ffn?: number;
  /** lrconcat (the official default) or meanpool (its GENIA setting). */
  spanPooling?: (typeof SPAN_POOLINGS)[number];
  timesteps?: number;
  schedule?: ScheduleKind;
  scale?: number;
  /**
   * Initialisation of the decoder (spec §1.3): `official` (default) as Hugging Face's `_init_weights` in the
   * official code, every Linear N(0, 0.02) with zero bias (the attention in-projections keep Xavier, the
   * LSTM torch's default); `pytorch` keeps PyTorch's default uniform init, which the earliest recorded
   * runs used. The scratch encoder's embeddings and character CNN, which the official model does not
   * have, keep PyTorch's defaults either way.
   */
  init?: (typeof INITS)[number];
  /**
   * How a sentence's N gold spans become the K rows that are noised in training (spec §1.4.4, §1.11
   * item 11). `repeat` (default; the official CoNLL-2003 and GENIA setting): gold repeated cyclically to K
   * and matched K to K; an entity-less sentence diffuses the whole-sentence span K times. `concat` (the
   * official setting of ACE04/05, OntoNotes and MSRA): as `repeat`, except that an entity-less sentence
   * diffuses the whole-sentence span once and K − 1 random spans. `random` (the paper's random strategy):
   * the N gold spans and K − N random spans, matched against the gold padded with no-entity, so the
   * proposals left unmatched learn the None class. Random spans are (left, width) in [0, 1] units drawn
   * from N(0.5, (1/6)²), the width clipped to ≥ 1e-4, as the official placeholders.
   */
  expansion?: (typeof EXPANSIONS)[number];
  /** Span layers of the decoder: 2 in the official code, 1 in the paper (spec §1.11 item 7). */
  spanLayers?: number;
  /** The span-slot position embedding (official; not in the paper, spec §1.11 item 8). Default true. */
  slotEmbedding?: boolean;
  /** `mlp` (official: sinusoid → Linear → GELU → Linear) or `sinusoid` (the paper's E_t, §1.11 item 9). */
  timeEmbedding?: (typeof TIME_EMBEDDINGS)[number];
}

export type ModelConfig = EncoderConfig & DiffusionSettings;

/** The defaults of DiffusionNER's own settings. */
export const DIFFUSION_DEFAULTS = {
  proposals: 60, heads: 8, ffn: 1024, spanPooling: 'lrconcat' as const, timesteps: 1000, schedule: 'cosine' as ScheduleKind, scale: 1, init: 'official' as const,
  expansion: 'repeat' as const, spanLayers: 2, slotEmbedding: true, timeEmbedding: 'mlp' as const,
};

/** A training config's DiffusionNER settings, and the cross-field check (heads divide hidden). */
export const TRAIN_CONFIG_RULES: ModelRules = {
  model: {
    proposals: 'int+', heads: 'int+', ffn: 'int+', timesteps: 'int+', scale: 'positive', spanPooling: 'string', schedule: 'string', init: 'string', expansion: 'string',
    spanLayers: 'int+', slotEmbedding: 'bool', timeEmbedding: 'string',
  },
  train: { lossClassWeight: 'positive', lossBoundaryWeight: 'positive', matchClassWeight: 'positive', matchBoundaryWeight: 'positive' },
  eval: { steps: 'int+', proposals: 'int+', eta: 'nonneg' },
  choices: {
    'model.spanPooling': SPAN_POOLINGS, 'model.schedule': SCHEDULE_KINDS, 'model.init': INITS, 'model.expansion': EXPANSIONS, 'model.timeEmbedding': TIME_EMBEDDINGS,
  },
  check: (cfg: TrainConfig, file: string) => {
    const m = cfg.model as { hidden: number; heads?: number };
    if (m.hidden % (m.heads ?? DIFFUSION_DEFAULTS.heads)) throw new ConfigError(file, 'model.heads', `must divide model.hidden (${m.hidden})`);
  },
};

/** The fields of a DiffusionNER folder's config.json, with the encoder's. */
export const FOLDER_RULES: Record<string, FolderRule> = {
  ...ENCODER_FOLDER_RULES,
  proposals: { int: [1, 4096] }, heads: { int: [1, 256] }, ffn: { int: [1, 65536] }, timesteps: { int: [1, 100000] }, spanLayers: { int: [1, 64] }, scale: { real: [1e-6, 1e6] },
  spanPooling: { choice: SPAN_POOLINGS }, schedule: { choice: SCHEDULE_KINDS }, init: { choice: INITS }, expansion: { choice: EXPANSIONS }, timeEmbedding: { choice: TIME_EMBEDDINGS },
  slotEmbedding: 'bool',
};

/** After the field checks: heads must divide hidden. */
export function checkFolderSettings(cfg: Record<string, unknown>, file: string): void {
  if ((cfg.hidden as number) % ((cfg.heads as number | undefined) ?? DIFFUSION_DEFAULTS.heads)) throw new ConfigError(file, 'heads', `must divide hidden (${cfg.hidden})`);
}

/** The settings `train` uses when given data files instead of a config: those of configs/conll2003.json, with the official initialisation (the model default). */
export function defaultTrainConfig(data: TrainConfig['data'], mode: FilterMode = DEFAULT_MODE): TrainConfig {
  return {
    data,
    model: {
      hidden: 256, embedding: 128, charEmbedding: 32, charFilters: 50, wordDropout: 0.05, minFreq: 2, lstmLayers: 2, proposals: 60, heads: 8,
      ffn: 1024, dropout: 0.1, spanPooling: mode === 'nested' ? 'meanpool' : 'lrconcat', timesteps: 1000, schedule: 'linear', scale: 1, positionFeatures: true,
    },
    train: { epochs: 10, batch: 8, lr: 2e-4, encoderLrScale: 5, warmup: 0.1, weightDecay: 0.01, maxGradNorm: 1, seed: 48, checkpointEvery: 200 },
    eval: { steps: SAMPLING_DEFAULTS.steps, proposals: 60, eta: SAMPLING_DEFAULTS.eta, threshold: SAMPLING_DEFAULTS.threshold, mode, batch: EVAL_BATCH },
    out: 'runs/out',
  };
}

/** A DiffusionNER folder's config.json, checked: every field, then heads against hidden. */
export function checkModelConfig(c: unknown, file: string): Record<string, unknown> {
  const cfg = checkFolderConfig(c, file, FOLDER_RULES);
  checkFolderSettings(cfg, file);
  return cfg;
}
