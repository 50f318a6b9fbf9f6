/** What several commands share: the device, a model folder with its recorded choices, and the decoding and inference settings from the flags. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { getDevice, selectAdapter, type Device } from '../tensor/device.js';
import { DEFAULT_MODE } from '../ner/defaults.js';
import { readSelection, type Selection } from '../ner/selection.js';
import type { FilterMode } from '../ner/spans.js';
import type { InferenceSettings, NerModel } from '../ner/contract.js';
import { kindSpecificFlags, openModel, readFolderConfig, resolveModelDir } from '../models/index.js';
import { UsageError, type FlagValue } from './parse.js';
import { showCompileProgress } from './compile-progress.js';

export type Values = Record<string, FlagValue>;

/** The device the flags or DNER_DEVICE name (webgpu by default); inputs are checked before it starts. */
export async function deviceOf(values: Values): Promise<Device> {
  const kind = (values.device as string | undefined) ?? process.env.DNER_DEVICE ?? 'webgpu';
  if (kind !== 'cpu' && kind !== 'webgpu') throw new UsageError(`DNER_DEVICE must be cpu or webgpu, got '${kind}'`);
  if (values.adapter !== undefined) {
    if (kind === 'cpu') throw new UsageError('--adapter chooses a WebGPU adapter; it does not go with the cpu device');
    await selectAdapter(values.adapter as string);
  }
  const device = await getDevice(kind);
  // The command's process ends when its work does; the summary line comes with it.
  const progress = showCompileProgress(device);
  process.once('exit', () => progress.done());
  return device;
}

/**
 * A model folder named by --model (a path or a bundled model's name) and its selection.json, checked before
 * any work, with the inference flags given (another model kind's are an error).
 */
export function modelDirOf(command: string, values: Values): { dir: string; selection?: Selection } {
  if (typeof values.model !== 'string') throw new UsageError(`${command} needs --model DIR (a model folder, or a bundled model's name: diffusionner models)`);
  const dir = resolveModelDir(values.model);
  checkKindFlags(values, dir);
  return { dir, selection: readSelection(dir) };
}

/**
 * A flag that sets another model kind's inference settings (--gamma with a BOPN folder, --decoding with a
 * DiffusionNER one) is a one-line error naming the flag and the folder's kind, not silently ignored. The
 * folder's config.json is read only when such a flag is given (a folder without one fails when opened).
 */
export function checkKindFlags(values: Values, dir: string): void {
  const specific = kindSpecificFlags();
  const given = Object.keys(values).filter((f) => specific.has(f) && values[f] !== undefined && values[f] !== false);
  if (!given.length || !existsSync(join(dir, 'config.json'))) return;
  const { kind } = readFolderConfig(dir);
  const wrong = given.find((f) => !specific.get(f)!.includes(kind));
  if (!wrong) return;
  const own = [...specific].filter(([, kinds]) => kinds.includes(kind)).map(([f]) => `--${f}`);
  throw new UsageError(`--${wrong} does not apply to a ${kind} model (${values.model}): it is for ${specific.get(wrong)!.join(', ')} models${own.length ? `; ${kind} takes ${own.join(', ')}` : ''}`);
}

/** Opens the model folder, its weights checked against model.safetensors.sha256 unless --no-verify is given. */
export async function loadModelOf(dir: string, device: Device, values: Values = {}): Promise<NerModel> {
  return openModel(dir, device, undefined, { verify: !values['no-verify'] });
}

/**
 * Decoding as the flags say, else as the model folder's selection.json records (the φ chosen on dev and
 * the filtering it was trained with), else the model's default and flat filtering.
 */
export function decodingOf(values: Values, model: NerModel, selection: Selection | undefined): { threshold: number; mode: FilterMode; dedupe: boolean } {
  return {
    threshold: (values.threshold as number | undefined) ?? selection?.threshold ?? model.defaultThreshold,
    mode: ((values.mode as FilterMode | undefined) ?? selection?.mode ?? DEFAULT_MODE),
    dedupe: !!values.dedupe,
  };
}

/**
 * The model's inference settings given as flags (DiffusionNER: γ, K, η; BOPN: the grid's decoding and
 * the overlap filter); only those given are set, and the model fills in the rest.
 */
export function inferenceOf(values: Values): InferenceSettings {
  const out: InferenceSettings = {};
  if (values.gamma !== undefined) out.steps = values.gamma;
  if (values['k-eval'] !== undefined) out.proposals = values['k-eval'];
  if (values.eta !== undefined) out.eta = values.eta;
  if (values.decoding !== undefined) out.decoding = values.decoding;
  if (values['overlap-filter']) out.overlapFilter = true;
  return out;
}

/** An output file's folder must exist before the work starts, not be found missing after it. */
export function checkOutputPath(file: string, flag: string): void {
  const folder = dirname(resolve(file));
  if (!existsSync(folder)) throw new Error(`${file}: its folder ${folder} does not exist (${flag})`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new Error(`${file}: is a folder (${flag})`);
}
