/**
 * A model folder: config.json + model.safetensors (+ a vocabulary file the caller names), written
 * atomically per file (temp file, fsync, rename) so an interrupted save never leaves a half-written file.
 */
import { oneLine } from '../text/one-line.js';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Module } from './module.js';
import { readSafetensors, type RawTensor, serializeSafetensors } from './safetensors.js';
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

export async function saveModelFolder(dir: string, model: Module, config: object, extraFiles: Record<string, string> = {}, o: { f16?: boolean } = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, RawTensor>();
  for (const [name, p] of model.namedParameters()) {
    const data = await p.data();
    tensors.set(name, { dtype: p.dtype === 'i32' ? 'i32' : 'f32', shape: [...p.shape], data: data instanceof Int32Array ? data : Float32Array.from(data) });
  }
  writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }, o));
  for (const [file, text] of Object.entries(extraFiles)) writeFileAtomic(join(dir, file), text);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

/** Reads config.json and loads model.safetensors into a model built from it. */
export async function loadModelFolder<M extends Module>(dir: string, build: (config: Record<string, unknown>) => M): Promise<M> {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: not a model folder (no config.json)`);
  let config: Record<string, unknown>;
  try { config = JSON.parse(decodeUtf8(readFileSync(cfgPath), cfgPath)); } catch (e) { throw new Error(oneLine(`${cfgPath}: not valid JSON: ${(e as Error).message}`)); }
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) throw new Error(`${dir}: not a model folder (no model.safetensors)`);
  // Weights are read and checked before the model's tensors exist, so a bad file leaves nothing behind.
  const weights = readSafetensors(weightsPath);
  const model = build(config);
  try { await model.loadStateDict(weights); } catch (e) { model.dispose(); throw e; }
  return model;
}
