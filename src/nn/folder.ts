/**
 * A model folder: config.json + model.safetensors + model.safetensors.sha256 (+ a vocabulary file the
 * caller names), written atomically per file (temp file, fsync, rename) so an interrupted save never
 * leaves a half-written file. The checksum (`sha256sum` format, so `sha256sum -c` works in the folder)
 * is checked when the folder is loaded.
 */
import { oneLine } from '../text/one-line.js';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Module } from './module.js';
import { parseSafetensors, type RawTensor, serializeSafetensors } from './safetensors.js';
import { decodeUtf8 } from '../text/utf8.js';

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true }); // a failed write (a full disk) leaves the old file and no stray temporary
    throw e;
  }
}

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_CHECKSUM_FILE = 'model.safetensors.sha256';

/** The checksum file's text for these weights: `<hex>  model.safetensors`, as `sha256sum` writes it. */
export function weightsChecksumLine(weights: Uint8Array): string {
  return `${createHash('sha256').update(weights).digest('hex')}  ${WEIGHTS_FILE}\n`;
}

/**
 * Writes a folder's model.safetensors and then its model.safetensors.sha256. The old checksum goes first,
 * so a save interrupted between the two files leaves weights without a checksum (loaded with a warning),
 * never new weights beside the old weights' checksum.
 */
export function writeWeightsFile(dir: string, weights: Uint8Array): void {
  rmSync(join(dir, WEIGHTS_CHECKSUM_FILE), { force: true });
  writeFileAtomic(join(dir, WEIGHTS_FILE), weights);
  writeFileAtomic(join(dir, WEIGHTS_CHECKSUM_FILE), weightsChecksumLine(weights));
}

export async function saveModelFolder(dir: string, model: Module, config: object, extraFiles: Record<string, string> = {}, o: { f16?: boolean } = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, RawTensor>();
  for (const [name, p] of model.namedParameters()) {
    const data = await p.data();
    tensors.set(name, { dtype: p.dtype === 'i32' ? 'i32' : 'f32', shape: [...p.shape], data: data instanceof Int32Array ? data : Float32Array.from(data) });
  }
  writeWeightsFile(dir, serializeSafetensors(tensors, { format: 'pt' }, o));
  for (const [file, text] of Object.entries(extraFiles)) writeFileAtomic(join(dir, file), text);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

export interface LoadFolderOptions {
  /** Check model.safetensors against model.safetensors.sha256 (default true). */
  verify?: boolean;
  /** Where the warning about a folder without a checksum goes (default: stderr, once per folder). */
  warn?: (line: string) => void;
}

const warnedFolders = new Set<string>();

/**
 * Checks weights read from `dir` against its model.safetensors.sha256: a mismatch is an error; a folder
 * without the file is loaded with a one-line warning (once per folder and process), except a training
 * checkpoint (state.json beside the weights), whose weights the checkpoint's own checksums cover on resume.
 */
export function verifyWeights(dir: string, weights: Uint8Array, warn?: (line: string) => void): void {
  const sumPath = join(dir, WEIGHTS_CHECKSUM_FILE);
  const weightsPath = join(dir, WEIGHTS_FILE);
  if (!existsSync(sumPath)) {
    if (existsSync(join(dir, 'state.json'))) return;
    const key = resolve(dir);
    if (warnedFolders.has(key)) return;
    warnedFolders.add(key);
    const line = `warning: ${dir} has no ${WEIGHTS_CHECKSUM_FILE}, so its weights are loaded unchecked; add it with \`sha256sum ${WEIGHTS_FILE} > ${WEIGHTS_CHECKSUM_FILE}\` in the folder, or write a checked copy with \`npx diffusionner export --model ${dir} --out NEW_DIR\``;
    if (warn) warn(line); else process.stderr.write(`${line}\n`);
    return;
  }
  const text = readFileSync(sumPath, 'latin1').trim();
  const m = /^([0-9a-fA-F]{64})(?:[ \t]+\*?(\S+))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[2] !== WEIGHTS_FILE)) {
    throw new Error(`${sumPath}: not a checksum of ${WEIGHTS_FILE} (expected one line '<64 hex digits>  ${WEIGHTS_FILE}'; --no-verify skips the check)`);
  }
  if (createHash('sha256').update(weights).digest('hex') !== m[1].toLowerCase()) {
    throw new Error(`${weightsPath}: does not match ${WEIGHTS_CHECKSUM_FILE}: the weights are damaged or were changed after the folder was written (--no-verify skips the check)`);
  }
}

/** Reads config.json and loads model.safetensors, checked against its checksum, into a model built from it. */
export async function loadModelFolder<M extends Module>(dir: string, build: (config: Record<string, unknown>) => M, o: LoadFolderOptions = {}): Promise<M> {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: not a model folder (no config.json)`);
  let config: Record<string, unknown>;
  try { config = JSON.parse(decodeUtf8(readFileSync(cfgPath), cfgPath)); } catch (e) { throw new Error(oneLine(`${cfgPath}: not valid JSON: ${(e as Error).message}`)); }
  const weightsPath = join(dir, WEIGHTS_FILE);
  if (!existsSync(weightsPath)) throw new Error(`${dir}: not a model folder (no model.safetensors)`);
  // Weights are read and checked before the model's tensors exist, so a bad file leaves nothing behind.
  const bytes = readFileSync(weightsPath);
  if (o.verify !== false) verifyWeights(dir, bytes, o.warn);
  const weights = parseSafetensors(bytes, weightsPath);
  const model = build(config);
  try { await model.loadStateDict(weights); } catch (e) { model.dispose(); throw e; }
  return model;
}
