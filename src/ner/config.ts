/**
 * Training configs (configs/*.json) and model-folder configs: reading, checking every field with a
 * one-line error naming the file and the field, and resolving data paths relative to the config file.
 * The task owns the data, train and eval sections and the encoder's settings; each model kind adds the
 * rules of its own settings (ModelRules), which the registry passes in.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseBertConfig, WORD_POOLINGS } from '../nn/bert.js';
import { nearestName } from '../text/edit-distance.js';
import { oneLine } from '../text/one-line.js';
import { CLITIC_STYLES } from '../text/tokenize.js';
import { decodeUtf8 } from '../text/utf8.js';
import { ENCODER_KINDS, type EncoderConfig } from './encoders/sentence-encoder.js';
import { DEFAULT_MODE } from './defaults.js';
import { FILTER_MODES, type FilterMode } from './spans.js';

export class ConfigError extends Error {
  constructor(file: string, field: string, message: string) {
    super(oneLine(`${file}: field '${field}' ${message}`));
    this.name = 'ConfigError';
  }
}

export interface TrainConfig {
  /** `train` may be several files, read as one training set. */
  data: { train: string | string[]; dev?: string; test?: string; types?: string };
  /** The encoder's settings, the model kind's own (checked by its rules), and `kind` (absent: diffusionner). */
  model: Partial<Omit<EncoderConfig, 'vocab' | 'bert'>> & { kind?: string; hidden: number; minFreq?: number; bertPath?: string; [setting: string]: unknown };
  train: {
    epochs: number; batch: number; lr: number; warmup?: number; weightDecay?: number; maxGradNorm?: number; seed?: number; maxSteps?: number;
    /** Steps between crash-safe checkpoints (default 200); every epoch end is one too. */
    checkpointEvery?: number;
    /**
     * Warm-up freezing (spec §1.3, encoder bert): BERT stays frozen for this many epochs, under the
     * two-stage schedule (§1.8); 0 trains everything from the start with one linear schedule.
     */
    splitEpoch?: number;
    /** Training sentences longer than this are cut into pieces (default MAX_WORDS; dev and test are not cut). */
    maxWords?: number;
    /** Multiplies the learning rate of the scratch encoder (embeddings, char CNN, BiLSTM); default 1. */
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
    /**
     * Length-bucketed training batches: N > 0 sorts each pool of N·batch shuffled sentences by length
     * before cutting it into batches (the batches are then shuffled), so batches pad less. Default 0
     * (plain shuffling); evaluation batches are not affected.
     */
    lengthBuckets?: number;
    /** The model kind's own training settings (DiffusionNER: its loss and match weights). */
    [setting: string]: unknown;
  };
  eval: {
    threshold?: number; mode: FilterMode; batch?: number;
    /** The paper's de-duplication of identical boundaries; off, as the official code. */
    dedupe?: boolean;
    /**
     * Further thresholds scored on dev after each epoch (one inference for all); the best, with `threshold`
     * among the candidates, selects the epoch and is kept in the model folder (selection.json) for test,
     * eval, predict and trace. Absent: `threshold` alone, as the official code does.
     */
    thresholds?: number[];
    /** The model kind's inference settings (DiffusionNER: steps, proposals, eta). */
    [setting: string]: unknown;
  };
  out: string;
}

export type Check = 'positive' | 'nonneg' | 'int+' | 'int0' | 'fraction' | 'bool' | 'string' | 'nonnegs';

/** What a model kind adds to a training config: its settings per section, and the choices of its string settings ('model.x'). */
export interface ModelRules {
  model: Record<string, Check>;
  train?: Record<string, Check>;
  eval?: Record<string, Check>;
  choices?: Record<string, readonly string[]>;
  /** Checks across fields, after every field passed (e.g. heads must divide hidden). */
  check?: (cfg: TrainConfig, file: string) => void;
}

const ENCODER_RULES: Record<string, Check> = {
  kind: 'string', hidden: 'int+', embedding: 'int+', lstmLayers: 'int0', dropout: 'fraction', positionFeatures: 'bool', lowercase: 'bool', minFreq: 'int+', charEmbedding: 'nonneg',
  charFilters: 'int+', maxChars: 'int+', wordDropout: 'fraction', embeddingDropout: 'fraction', encoder: 'string', bertPath: 'string', pooling: 'string', clitics: 'string',
};
const TRAIN_RULES: Record<string, Check> = {
  epochs: 'int+', batch: 'int+', lr: 'positive', warmup: 'fraction', weightDecay: 'nonneg', maxGradNorm: 'positive', seed: 'int0',
  maxSteps: 'int+', checkpointEvery: 'int+', encoderLrScale: 'positive', maxBadSteps: 'int+', splitEpoch: 'int0', maxWords: 'int+', keepEpochModels: 'bool', correctBias: 'bool',
  lengthBuckets: 'int0',
};
const EVAL_RULES: Record<string, Check> = { threshold: 'nonneg', thresholds: 'nonnegs', mode: 'string', batch: 'int+', dedupe: 'bool' };
const TASK_CHOICES: Record<string, readonly string[]> = {
  'model.encoder': ENCODER_KINDS, 'model.pooling': WORD_POOLINGS, 'model.clitics': CLITIC_STYLES, 'eval.mode': FILTER_MODES,
};

/** ` (did you mean 'x'?)` for a misspelt key, else the known keys when `list` asks for them, else nothing. */
function didYouMean(key: string, known: readonly string[], list = false): string {
  const near = nearestName(key, known);
  return near ? ` (did you mean '${near}'?)` : list ? ` (known: ${known.join(', ')})` : '';
}

function checkSection(file: string, name: string, section: unknown, rules: Record<string, Check>, required: string[], choices: Record<string, readonly string[]>): void {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new ConfigError(file, name, 'must be an object');
  // Unknown keys first: a misspelt required one (lrr) is better named as such than as 'lr is required'.
  for (const k of Object.keys(section)) if (!rules[k]) throw new ConfigError(file, `${name}.${k}`, `is not a known setting${didYouMean(k, Object.keys(rules), true)}`);
  for (const r of required) if (!(r in section)) throw new ConfigError(file, `${name}.${r}`, 'is required');
  for (const [k, v] of Object.entries(section)) {
    const field = `${name}.${k}`, rule = rules[k];
    const num = typeof v === 'number' && Number.isFinite(v);
    const ok = {
      positive: num && (v as number) > 0, nonneg: num && (v as number) >= 0, 'int+': num && Number.isInteger(v) && (v as number) >= 1, int0: num && Number.isInteger(v) && (v as number) >= 0,
      fraction: num && (v as number) >= 0 && (v as number) < 1, bool: typeof v === 'boolean', string: typeof v === 'string',
      nonnegs: Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0),
    }[rule];
    const want = {
      positive: 'a positive number', nonneg: 'a number >= 0', 'int+': 'a whole number >= 1', int0: 'a whole number >= 0', fraction: 'a number in [0, 1)', bool: 'true or false', string: 'a string',
      nonnegs: 'a non-empty list of numbers >= 0',
    }[rule];
    if (!ok) throw new ConfigError(file, field, `must be ${want}, got ${JSON.stringify(v)}`);
    if (choices[field] && !choices[field].includes(v as string)) throw new ConfigError(file, field, `must be one of ${choices[field].join(', ')}, got ${JSON.stringify(v)}`);
  }
}

/** The model kind a training config names (model.kind; absent means diffusionner), read before its rules are known. */
export function configKind(text: string, file: string): { raw: Record<string, unknown>; kind: string } {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new Error(oneLine(`${file}: not valid JSON (${(e as Error).message})`)); }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  const model = (raw as Record<string, unknown>).model as Record<string, unknown> | undefined;
  const kind = model && typeof model === 'object' && 'kind' in model ? model.kind : 'diffusionner';
  if (typeof kind !== 'string') throw new ConfigError(file, 'model.kind', `must be a string, got ${JSON.stringify(kind)}`);
  return { raw: raw as Record<string, unknown>, kind };
}

/** Checks a parsed config against the task's rules and the model kind's; data paths become absolute (relative to the file). */
export function checkTrainConfig(cfg: Record<string, unknown>, file: string, rules: ModelRules): TrainConfig {
  const sections = ['data', 'model', 'train', 'eval', 'out'];
  for (const k of Object.keys(cfg)) if (!sections.includes(k)) throw new ConfigError(file, k, `is not a known section (data, model, train, eval, out)${didYouMean(k, sections)}`);
  const data = cfg.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null) throw new ConfigError(file, 'data', 'is required: { "train": FILE or [FILE, ...], "dev"?: FILE, "test"?: FILE, "types"?: FILE }');
  const base = dirname(resolve(file));
  for (const [k, v] of Object.entries(data)) {
    if (!['train', 'dev', 'test', 'types'].includes(k)) throw new ConfigError(file, `data.${k}`, `is not one of train, dev, test, types${didYouMean(k, ['train', 'dev', 'test', 'types'])}`);
    // train may list several files, read as one set (the official CoNLL-2003 and GENIA runs train on train + dev).
    const paths = k === 'train' && Array.isArray(v) ? v : [v];
    if (!paths.length || paths.some((x) => typeof x !== 'string' || x === '')) {
      throw new ConfigError(file, `data.${k}`, k === 'train' ? 'must be a file path or a non-empty list of file paths' : 'must be a file path');
    }
    const abs = (paths as string[]).map((x) => (isAbsolute(x) ? x : join(base, x)));
    data[k] = Array.isArray(v) ? abs : abs[0];
  }
  if (!data.train) throw new ConfigError(file, 'data.train', 'is required');
  const choices = { ...TASK_CHOICES, ...rules.choices };
  checkSection(file, 'model', cfg.model, { ...ENCODER_RULES, ...rules.model }, ['hidden'], choices);
  checkSection(file, 'train', cfg.train, { ...TRAIN_RULES, ...rules.train }, ['epochs', 'batch', 'lr'], choices);
  checkSection(file, 'eval', cfg.eval ?? { mode: DEFAULT_MODE }, { ...EVAL_RULES, ...rules.eval }, [], choices);
  const m = cfg.model as Record<string, unknown>;
  if ((m.hidden as number) % 2) throw new ConfigError(file, 'model.hidden', `must be even (two LSTM directions), got ${m.hidden}`);
  if (m.lstmLayers === 0 && m.encoder !== 'bert') throw new ConfigError(file, 'model.lstmLayers', '0 (no BiLSTM) is for encoder bert only; the scratch encoder needs its BiLSTM');
  if (m.encoder === 'bert') {
    const bp = m.bertPath;
    if (typeof bp !== 'string') throw new ConfigError(file, 'model.bertPath', 'is required with encoder bert (a Hugging Face BERT folder: config.json, vocab.txt, model.safetensors)');
    m.bertPath = isAbsolute(bp) ? bp : join(base, bp);
    const scale = (cfg.train as Record<string, unknown>).encoderLrScale;
    // The official BERT runs train every parameter at one rate (spec §1.8); the scale is for the scratch encoder.
    if (scale !== undefined && scale !== 1) throw new ConfigError(file, 'train.encoderLrScale', `is for the scratch encoder; with encoder bert every parameter trains at train.lr (remove it or set 1), got ${JSON.stringify(scale)}`);
  }
  if (cfg.out !== undefined && (typeof cfg.out !== 'string' || cfg.out === '')) throw new ConfigError(file, 'out', 'must be a folder path');
  const out = { ...(cfg as unknown as TrainConfig), eval: { mode: DEFAULT_MODE, ...(cfg.eval as object | undefined) } as TrainConfig['eval'] };
  rules.check?.(out, file);
  return out;
}

/** A config file's text, or one line naming the file when it cannot be read. */
export function readConfigText(file: string): string {
  if (!existsSync(file)) throw new Error(`${file}: no such config file`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: is a folder, not a config file`);
  return decodeUtf8(readFileSync(file), file);
}

/** A rule for one field of a model folder's config.json: a range, a choice list, a flag or a list of names. */
export type FolderRule =
  | { int: [number, number]; required?: boolean } | { real: [number, number]; openHigh?: boolean }
  | { choice: readonly string[] } | 'bool' | { strings: number; required?: boolean };

/** The encoder's fields of a model folder's config.json (the model kind adds its own). */
export const ENCODER_FOLDER_RULES: Record<string, FolderRule> = {
  hidden: { int: [2, 8192], required: true }, embedding: { int: [1, 8192] }, lstmLayers: { int: [0, 16] }, charEmbedding: { int: [0, 4096] }, charFilters: { int: [1, 8192] },
  maxChars: { int: [1, 4096] }, dropout: { real: [0, 1], openHigh: true }, wordDropout: { real: [0, 1], openHigh: true }, embeddingDropout: { real: [0, 1], openHigh: true },
  encoder: { choice: ENCODER_KINDS }, pooling: { choice: WORD_POOLINGS }, clitics: { choice: CLITIC_STYLES }, positionFeatures: 'bool', lowercase: 'bool',
  types: { strings: 10000, required: true }, chars: { strings: 1 << 20 }, kind: { choice: [] }, bert: { choice: [] }, vocab: { choice: [] },
};

/**
 * The config.json of a model folder (what `train` and `export` write), checked before any tensor is
 * allocated: known fields only, types and sane ranges, so a hostile or damaged file is one error line.
 * `kind`, `bert` and `vocab` are checked by the caller (the registry and the encoder).
 */
export function checkFolderConfig(c: unknown, file: string, rules: Record<string, FolderRule>): Record<string, unknown> {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${file}: expected a JSON object`);
  const cfg = c as Record<string, unknown>;
  for (const k of Object.keys(cfg)) if (!(k in rules)) throw new ConfigError(file, k.slice(0, 40), 'is not a model setting');
  const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 40);
  for (const [k, rule] of Object.entries(rules)) {
    const v = cfg[k];
    if (v === undefined) { if (typeof rule === 'object' && 'required' in rule && rule.required) throw new ConfigError(file, k, 'is required'); continue; }
    if (rule === 'bool') { if (typeof v !== 'boolean') throw new ConfigError(file, k, 'must be true or false'); continue; }
    if ('int' in rule) {
      const [lo, hi] = rule.int;
      if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw new ConfigError(file, k, `must be a whole number in [${lo}, ${hi}], got ${shown(v)}`);
    } else if ('real' in rule) {
      const [lo, hi] = rule.real;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (rule.openHigh && v === hi)) throw new ConfigError(file, k, `must be a number in [${lo}, ${hi}${rule.openHigh ? ')' : ']'}, got ${shown(v)}`);
    } else if ('choice' in rule) {
      if (rule.choice.length && !rule.choice.includes(v as string)) throw new ConfigError(file, k, `must be one of ${rule.choice.join(', ')}, got ${shown(v)}`);
    } else if (!Array.isArray(v) || v.length > rule.strings || v.some((x) => typeof x !== 'string' || x === '')) {
      throw new ConfigError(file, k, `must be a list of at most ${rule.strings} non-empty strings`);
    } else if (new Set(v).size !== v.length) throw new ConfigError(file, k, 'has repeated entries');
  }
  if ((cfg.hidden as number) % 2) throw new ConfigError(file, 'hidden', 'must be even');
  if (cfg.lstmLayers === 0 && cfg.encoder !== 'bert') throw new ConfigError(file, 'lstmLayers', '0 (no BiLSTM) is for encoder bert only');
  if (cfg.encoder === 'bert') {
    if (typeof cfg.bert !== 'object' || cfg.bert === null) throw new ConfigError(file, 'bert', 'is required with encoder bert (the BERT config)');
    cfg.bert = parseBertConfig(JSON.stringify(cfg.bert), `${file} (field 'bert')`);
  }
  return cfg;
}
