/**
 * Training configs (configs/*.json): reading, checking every field with a one-line error naming the file
 * and the field, and resolving data paths relative to the config file.
 */
import { oneLine } from '../text/one-line.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { TrainConfig } from './trainer.js';
import { parseBertConfig } from '../nn/bert.js';
import { decodeUtf8 } from '../text/utf8.js';

export class ConfigError extends Error {
  constructor(file: string, field: string, message: string) {
    super(oneLine(`${file}: field '${field}' ${message}`));
    this.name = 'ConfigError';
  }
}

type Check = 'positive' | 'nonneg' | 'int+' | 'int0' | 'fraction' | 'bool' | 'string' | 'nonnegs';
const MODEL: Record<string, Check> = {
  hidden: 'int+', embedding: 'int+', lstmLayers: 'int+', proposals: 'int+', heads: 'int+', ffn: 'int+', dropout: 'fraction',
  timesteps: 'int+', scale: 'positive', positionFeatures: 'bool', lowercase: 'bool', minFreq: 'int+', charEmbedding: 'nonneg',
  charFilters: 'int+', maxChars: 'int+', wordDropout: 'fraction', embeddingDropout: 'fraction', spanPooling: 'string', schedule: 'string',
  encoder: 'string', bertPath: 'string', pooling: 'string', init: 'string', expansion: 'string', spanLayers: 'int+', slotEmbedding: 'bool', timeEmbedding: 'string', clitics: 'string',
};
const TRAIN: Record<string, Check> = {
  epochs: 'int+', batch: 'int+', lr: 'positive', warmup: 'fraction', weightDecay: 'nonneg', maxGradNorm: 'positive', seed: 'int0',
  maxSteps: 'int+', checkpointEvery: 'int+', encoderLrScale: 'positive', maxBadSteps: 'int+', splitEpoch: 'int0', maxWords: 'int+',
  keepEpochModels: 'bool', correctBias: 'bool', lossClassWeight: 'positive', lossBoundaryWeight: 'positive', matchClassWeight: 'positive', matchBoundaryWeight: 'positive',
};
const EVAL: Record<string, Check> = { steps: 'int+', proposals: 'int+', eta: 'nonneg', threshold: 'nonneg', thresholds: 'nonnegs', mode: 'string', batch: 'int+', dedupe: 'bool' };
const CHOICES: Record<string, string[]> = {
  'model.spanPooling': ['lrconcat', 'meanpool'], 'model.encoder': ['scratch', 'bert'], 'model.pooling': ['max', 'mean'], 'model.schedule': ['linear', 'cosine'], 'model.init': ['official', 'pytorch'], 'model.expansion': ['repeat', 'concat', 'random'], 'model.timeEmbedding': ['mlp', 'sinusoid'], 'model.clitics': ['split', 'attached'], 'eval.mode': ['flat', 'nested'],
};

function checkSection(file: string, name: string, section: unknown, rules: Record<string, Check>, required: string[]): void {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new ConfigError(file, name, 'must be an object');
  for (const r of required) if (!(r in section)) throw new ConfigError(file, `${name}.${r}`, 'is required');
  for (const [k, v] of Object.entries(section)) {
    const field = `${name}.${k}`, rule = rules[k];
    if (!rule) throw new ConfigError(file, field, `is not a known setting (known: ${Object.keys(rules).join(', ')})`);
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
    if (CHOICES[field] && !CHOICES[field].includes(v as string)) throw new ConfigError(file, field, `must be one of ${CHOICES[field].join(', ')}, got ${JSON.stringify(v)}`);
  }
}

/** Parses and checks a config; data paths become absolute (relative ones are relative to the file). */
export function parseTrainConfig(text: string, file: string): TrainConfig {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (e) { throw new Error(oneLine(`${file}: not valid JSON (${(e as Error).message})`)); }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  const cfg = raw as Record<string, unknown>;
  for (const k of Object.keys(cfg)) if (!['data', 'model', 'train', 'eval', 'out'].includes(k)) throw new ConfigError(file, k, 'is not a known section (data, model, train, eval, out)');
  const data = cfg.data as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null) throw new ConfigError(file, 'data', 'is required: { "train": FILE or [FILE, ...], "dev"?: FILE, "test"?: FILE, "types"?: FILE }');
  const base = dirname(resolve(file));
  for (const [k, v] of Object.entries(data)) {
    if (!['train', 'dev', 'test', 'types'].includes(k)) throw new ConfigError(file, `data.${k}`, 'is not one of train, dev, test, types');
    // train may list several files, read as one set (the official CoNLL-2003 and GENIA runs train on train + dev).
    const paths = k === 'train' && Array.isArray(v) ? v : [v];
    if (!paths.length || paths.some((x) => typeof x !== 'string' || x === '')) {
      throw new ConfigError(file, `data.${k}`, k === 'train' ? 'must be a file path or a non-empty list of file paths' : 'must be a file path');
    }
    const abs = (paths as string[]).map((x) => (isAbsolute(x) ? x : join(base, x)));
    data[k] = Array.isArray(v) ? abs : abs[0];
  }
  if (!data.train) throw new ConfigError(file, 'data.train', 'is required');
  checkSection(file, 'model', cfg.model, MODEL, ['hidden']);
  checkSection(file, 'train', cfg.train, TRAIN, ['epochs', 'batch', 'lr']);
  checkSection(file, 'eval', cfg.eval ?? { mode: 'flat' }, EVAL, []);
  const m = cfg.model as Record<string, number>;
  if (m.hidden % 2) throw new ConfigError(file, 'model.hidden', `must be even (two LSTM directions), got ${m.hidden}`);
  if (m.hidden % (m.heads ?? 8)) throw new ConfigError(file, 'model.heads', `must divide model.hidden (${m.hidden})`);
  if (m.encoder as unknown === 'bert') {
    const bp = (cfg.model as Record<string, unknown>).bertPath;
    if (typeof bp !== 'string') throw new ConfigError(file, 'model.bertPath', 'is required with encoder bert (a Hugging Face BERT folder: config.json, vocab.txt, model.safetensors)');
    (cfg.model as Record<string, unknown>).bertPath = isAbsolute(bp) ? bp : join(base, bp);
    const scale = (cfg.train as Record<string, unknown>).encoderLrScale;
    // The official BERT runs train every parameter at one rate (spec §1.8); the scale is for the scratch encoder.
    if (scale !== undefined && scale !== 1) throw new ConfigError(file, 'train.encoderLrScale', `is for the scratch encoder; with encoder bert every parameter trains at train.lr (remove it or set 1), got ${JSON.stringify(scale)}`);
  }
  if (cfg.out !== undefined && (typeof cfg.out !== 'string' || cfg.out === '')) throw new ConfigError(file, 'out', 'must be a folder path');
  return { ...(cfg as unknown as TrainConfig), eval: { mode: 'flat', ...(cfg.eval as object | undefined) } as TrainConfig['eval'] };
}

export function readTrainConfig(file: string): TrainConfig {
  if (!existsSync(file)) throw new Error(`${file}: no such config file`);
  return parseTrainConfig(decodeUtf8(readFileSync(file), file), file);
}

/**
 * The config.json of a model folder (what `train` and `export` write), checked before any tensor is
 * allocated: known fields only, types and sane ranges, so a hostile or damaged file is one error line.
 */
export function checkModelConfig(c: unknown, file: string): Record<string, unknown> {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${file}: expected a JSON object`);
  const cfg = c as Record<string, unknown>;
  const int = (k: string, lo: number, hi: number, required = false) => {
    const v = cfg[k];
    if (v === undefined) { if (required) throw new ConfigError(file, k, 'is required'); return; }
    if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw new ConfigError(file, k, `must be a whole number in [${lo}, ${hi}], got ${JSON.stringify(v)?.slice(0, 40)}`);
  };
  const real = (k: string, lo: number, hi: number, openHi = false) => {
    const v = cfg[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openHi && v === hi)) throw new ConfigError(file, k, `must be a number in [${lo}, ${hi}${openHi ? ')' : ']'}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  };
  // The same choices as a training config's model section.
  const choice = (k: string) => {
    const v = cfg[k], options = CHOICES[`model.${k}`];
    if (v !== undefined && !options.includes(v as string)) throw new ConfigError(file, k, `must be one of ${options.join(', ')}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  };
  const bool = (k: string) => { if (cfg[k] !== undefined && typeof cfg[k] !== 'boolean') throw new ConfigError(file, k, 'must be true or false'); };
  const strings = (k: string, max: number, required: boolean) => {
    const v = cfg[k];
    if (v === undefined) { if (required) throw new ConfigError(file, k, 'is required'); return; }
    if (!Array.isArray(v) || v.length > max || v.some((x) => typeof x !== 'string' || x === '')) throw new ConfigError(file, k, `must be a list of at most ${max} non-empty strings`);
    if (new Set(v).size !== v.length) throw new ConfigError(file, k, 'has repeated entries');
  };
  const known = new Set(['hidden', 'embedding', 'lstmLayers', 'proposals', 'heads', 'ffn', 'dropout', 'spanPooling', 'timesteps', 'schedule', 'scale',
    'positionFeatures', 'lowercase', 'chars', 'charEmbedding', 'charFilters', 'maxChars', 'wordDropout', 'embeddingDropout', 'encoder', 'bert', 'pooling', 'init', 'expansion', 'spanLayers', 'slotEmbedding', 'timeEmbedding', 'clitics', 'types', 'vocab']);
  for (const k of Object.keys(cfg)) if (!known.has(k)) throw new ConfigError(file, k.slice(0, 40), 'is not a model setting');
  int('hidden', 2, 8192, true); int('embedding', 1, 8192); int('lstmLayers', 1, 16); int('proposals', 1, 4096); int('heads', 1, 256);
  int('ffn', 1, 65536); int('timesteps', 1, 100000); int('charEmbedding', 0, 4096); int('charFilters', 1, 8192); int('maxChars', 1, 4096); int('spanLayers', 1, 64);
  real('dropout', 0, 1, true); real('wordDropout', 0, 1, true); real('embeddingDropout', 0, 1, true); real('scale', 1e-6, 1e6);
  for (const k of ['spanPooling', 'schedule', 'encoder', 'pooling', 'init', 'expansion', 'timeEmbedding', 'clitics']) choice(k);
  bool('positionFeatures'); bool('slotEmbedding'); bool('lowercase');
  strings('types', 10000, true); strings('chars', 1 << 20, false);
  if ((cfg.hidden as number) % 2) throw new ConfigError(file, 'hidden', 'must be even');
  if ((cfg.hidden as number) % ((cfg.heads as number | undefined) ?? 8)) throw new ConfigError(file, 'heads', `must divide hidden (${cfg.hidden})`);
  if (cfg.encoder === 'bert') {
    if (typeof cfg.bert !== 'object' || cfg.bert === null) throw new ConfigError(file, 'bert', 'is required with encoder bert (the BERT config)');
    cfg.bert = parseBertConfig(JSON.stringify(cfg.bert), `${file} (field 'bert')`);
  }
  return cfg;
}

/** The settings `train` uses when given data files instead of a config: those of configs/conll2003.json, with the official initialisation (the model default). */
export function defaultTrainConfig(data: TrainConfig['data'], mode: 'flat' | 'nested' = 'flat'): TrainConfig {
  return {
    data,
    model: {
      hidden: 256, embedding: 128, charEmbedding: 32, charFilters: 50, wordDropout: 0.05, minFreq: 2, lstmLayers: 2, proposals: 60, heads: 8,
      ffn: 1024, dropout: 0.1, spanPooling: mode === 'nested' ? 'meanpool' : 'lrconcat', timesteps: 1000, schedule: 'linear', scale: 1, positionFeatures: true,
    },
    train: { epochs: 10, batch: 8, lr: 2e-4, encoderLrScale: 5, warmup: 0.1, weightDecay: 0.01, maxGradNorm: 1, seed: 48, checkpointEvery: 200 },
    eval: { steps: 5, proposals: 60, eta: 1, threshold: 2.5, mode, batch: 16 },
    out: 'runs/out',
  };
}
