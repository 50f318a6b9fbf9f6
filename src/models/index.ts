/**
 * The model registry: every kind of model the toolkit holds, found by the `kind` of a training config's
 * model section or of a model folder's config.json (absent means diffusionner). The CLI and the public
 * API reach models only through here; the task layer gets the registry as a ModelFactory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFolder } from '../nn/folder.js';
import type { Device } from '../tensor/device.js';
import type { RNG } from '../tensor/random.js';
import { decodeUtf8 } from '../text/utf8.js';
import { readVocabFile } from '../text/vocab-file.js';
import { oneLine } from '../text/one-line.js';
import { checkTrainConfig, ConfigError, configKind, type ModelRules, readConfigText, type TrainConfig } from '../ner/config.js';
import type { ModelFactory, NerModel, TraceView, TypeInfo } from '../ner/contract.js';
import type { FilterMode } from '../ner/spans.js';
import { train as trainWith, type TrainOptions, type TrainResult } from '../ner/train/loop.js';
import { binder } from './binder/index.js';
import { bopn } from './bopn/index.js';
import { diffusionner } from './diffusionner/index.js';

export interface ModelKind {
  kind: string;
  summary: string;
  configRules: ModelRules;
  /**
   * The CLI flags that set this kind's inference settings (DiffusionNER: --gamma, --k-eval, --eta,
   * --start-t); another kind's inference flag given with a model of this kind is an error, not ignored.
   */
  inferenceFlags: readonly string[];
  /** The settings `train` uses with data files instead of a config. */
  defaultTrainConfig(data: TrainConfig['data'], mode?: FilterMode): TrainConfig;
  trace: TraceView;
  /** A new model (ModelFactory.create): `info` holds the types file's descriptions, for the kinds that read them. */
  create(config: Record<string, unknown>, device: Device, rng: RNG, info?: TypeInfo): NerModel;
  fromFolder(config: unknown, file: string, vocab: string[], device: Device, rng?: RNG): NerModel;
}

const KINDS: Record<string, ModelKind> = { diffusionner, bopn, binder };
export const MODEL_KINDS = Object.keys(KINDS);
export const DEFAULT_KIND = 'diffusionner';

/** Every kind's inference flags, each with the kinds that take it. */
export function kindSpecificFlags(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of Object.values(KINDS)) for (const f of k.inferenceFlags) out.set(f, [...(out.get(f) ?? []), k.kind]);
  return out;
}

/** The kind's entry, or an error naming where the kind was read and the kinds there are. */
export function modelKind(kind: string, where: string): ModelKind {
  const k = KINDS[kind];
  if (!k) throw new Error(`${where}: unknown model kind '${kind.slice(0, 40)}' (known: ${MODEL_KINDS.join(', ')})`);
  return k;
}

/** The bundled models' folder: models/ at the package root (the same depth from src/ and from dist/). */
export const BUNDLED_MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

/** The names of the bundled models (folders of models/ with a config.json). */
export function bundledModelNames(): string[] {
  if (!existsSync(BUNDLED_MODELS)) return [];
  return readdirSync(BUNDLED_MODELS).filter((n) => existsSync(join(BUNDLED_MODELS, n, 'config.json'))).sort();
}

/** A model folder path, or a bundled model's name (`conll2003`) when no such path exists. */
export function resolveModelDir(dirOrName: string): string {
  if (existsSync(dirOrName)) return dirOrName;
  if (/^[\w-]+$/.test(dirOrName) && existsSync(join(BUNDLED_MODELS, dirOrName, 'config.json'))) return join(BUNDLED_MODELS, dirOrName);
  const names = bundledModelNames();
  throw new Error(`${dirOrName}: no such model folder${names.length ? ` (bundled models: ${names.join(', ')})` : ''}`);
}

/** The config.json of a model folder, parsed, with its kind. */
export function readFolderConfig(dir: string): { config: Record<string, unknown>; kind: string; file: string } {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`${dir}: not a model folder (no config.json)`);
  let config: unknown;
  try { config = JSON.parse(decodeUtf8(readFileSync(file), file)); } catch (e) { throw new Error(oneLine(`${file}: not valid JSON: ${(e as Error).message}`)); }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${file}: expected a JSON object`);
  const kind = (config as { kind?: unknown }).kind ?? DEFAULT_KIND;
  if (typeof kind !== 'string') throw new ConfigError(file, 'kind', `must be a string, got ${JSON.stringify(kind)?.slice(0, 40)}`);
  return { config: config as Record<string, unknown>, kind, file };
}

/**
 * Opens a model folder of any kind (a path or a bundled model's name): config.json, vocab.txt, model.safetensors,
 * checked against model.safetensors.sha256 unless `verify` is false.
 */
export async function openModel(dirOrName: string, device: Device, rng?: RNG, o: { verify?: boolean } = {}): Promise<NerModel> {
  const dir = resolveModelDir(dirOrName);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: not a model folder (a file, not a folder)`);
  const { kind, file } = readFolderConfig(dir);
  const entry = modelKind(kind, file);
  if (!existsSync(join(dir, 'vocab.txt'))) throw new Error(`${dir}: not a model folder (no vocab.txt)`);
  const vocab = readVocabFile(join(dir, 'vocab.txt'));
  return loadModelFolder(dir, (c) => entry.fromFolder(c, file, vocab, device, rng), { verify: o.verify });
}

/** The registry as the task layer's ModelFactory. */
export const factory: ModelFactory = {
  load: (dir, device, rng) => openModel(dir, device, rng),
  create: (config, device, rng, info) => modelKind((config.kind as string | undefined) ?? DEFAULT_KIND, 'model.kind').create(config, device, rng, info),
};

/** Parses and checks a training config against its kind's rules; data paths become absolute. */
export function parseTrainConfig(text: string, file: string): TrainConfig {
  const { raw, kind } = configKind(text, file);
  const entry = KINDS[kind];
  if (!entry) throw new ConfigError(file, 'model.kind', `must be one of ${MODEL_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  return checkTrainConfig(raw, file, entry.configRules);
}

export function readTrainConfig(file: string): TrainConfig {
  return parseTrainConfig(readConfigText(file), file);
}

/** Trains a model of the config's kind (src/ner/train/loop.ts). */
export function train(cfg: TrainConfig, device: Device, o: TrainOptions = {}): Promise<TrainResult> {
  return trainWith(factory, cfg, device, o);
}

/** BOPN's read-outs of its label grid (the CLI's --decoding choices). */
export { OFFSET_DECODINGS } from './bopn/decode.js';
export type { NerModel } from '../ner/contract.js';
export type { TrainConfig } from '../ner/config.js';
