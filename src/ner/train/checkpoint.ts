/**
 * Crash-safe training checkpoints. Each checkpoint is a new folder checkpoints/step-N holding the model
 * folder files (config.json, model.safetensors, a vocabulary), optimizer.safetensors (AdamW moments) and
 * state.json (trainer position, RNG, schedule, metrics, and the SHA-256 of every other file). Only when
 * all of it is on disk does checkpoint.json, rewritten atomically, point at it (with state.json's hash);
 * older folders are deleted after that. A kill at any moment leaves the previous checkpoint intact,
 * and a load verifies every checksum.
 */
import { oneLine } from '../../text/one-line.js';
import { decodeUtf8 } from '../../text/utf8.js';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { saveModelFolder, writeFileAtomic } from '../../nn/folder.js';
import type { Module } from '../../nn/module.js';
import type { AdamW } from '../../nn/optim.js';
import { readSafetensors, type RawTensor, serializeSafetensors } from '../../nn/safetensors.js';
import type { RunInputs, Schedule } from './resume.js';

export interface TrainerState {
  epoch: number;
  /** The epoch's shuffled sentence order and how far into it training got. */
  order: number[];
  next: number;
  step: number;
  optimizerSteps: number;
  rng: { key: [number, number]; counter: number; buffered: number[] };
  best: number;
  metrics: unknown[];
  lossSum: number;
  seen: number;
  epochSeconds: number;
  skippedSteps: number;
  /** The training set and model section the run began with (absent in checkpoints written before they were recorded). */
  inputs?: RunInputs;
  /** What the learning-rate schedule is sized with (absent in checkpoints written before it was recorded). */
  schedule?: Schedule;
}

const POINTER = 'checkpoint.json';
/** Every checkpoint holds these; state.json lists them with the model's other files and their hashes. */
const REQUIRED_FILES = ['config.json', 'model.safetensors', 'optimizer.safetensors'];

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** `files` are the model folder's files besides config.json and the weights (a vocabulary, say). */
export async function saveCheckpoint(out: string, model: Module, modelConfig: object, files: Record<string, string>, opt: AdamW, state: TrainerState): Promise<string> {
  // Never reuse the folder the pointer may name (an epoch end can checkpoint the same step twice).
  let name = `checkpoints/step-${state.step}`;
  for (let k = 2; existsSync(join(out, name)); k++) name = `checkpoints/step-${state.step}-${k}`;
  const dir = join(out, name);
  await saveModelFolder(dir, model, modelConfig, files);
  const moments = new Map<string, RawTensor>();
  for (const [pname, p] of model.namedParameters()) {
    const m = opt.state(p);
    if (!m) continue;
    const [a, b] = await Promise.all([m[0].data(), m[1].data()]);
    moments.set(`${pname}.exp_avg`, { dtype: 'f32', shape: [...p.shape], data: Float32Array.from(a) });
    moments.set(`${pname}.exp_avg_sq`, { dtype: 'f32', shape: [...p.shape], data: Float32Array.from(b) });
    moments.set(`${pname}.step`, { dtype: 'i32', shape: [1], data: Int32Array.of(opt.updatesOf(p)) });
  }
  writeFileAtomic(join(dir, 'optimizer.safetensors'), serializeSafetensors(moments, { step: String(opt.stepCount) }));
  const checksums = Object.fromEntries([...REQUIRED_FILES, ...Object.keys(files)].map((f) => [f, sha256(join(dir, f))]));
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify({ ...state, checksums }) + '\n');
  fsyncDir(dir);
  writeFileAtomic(join(out, POINTER), JSON.stringify({ checkpoint: name, step: state.step, sha256: sha256(join(dir, 'state.json')) }, null, 1) + '\n');
  fsyncDir(out);
  for (const old of readdirSync(join(out, 'checkpoints'))) {
    if (`checkpoints/${old}` !== name) rmSync(join(out, 'checkpoints', old), { recursive: true, force: true });
  }
  return dir;
}

export function hasCheckpoint(out: string): boolean {
  return existsSync(join(out, POINTER));
}

/** Verifies and reads the latest checkpoint: its folder (a loadable model folder) and trainer state. */
export function readCheckpoint(out: string): { dir: string; state: TrainerState } {
  const pointerPath = join(out, POINTER);
  let pointer: { checkpoint?: unknown; step?: unknown; sha256?: unknown };
  try { pointer = JSON.parse(decodeUtf8(readFileSync(pointerPath), pointerPath)); } catch (e) {
    throw new Error(oneLine(`${pointerPath}: unreadable checkpoint pointer (${(e as Error).message})`));
  }
  // Exactly the three fields it is written with, so any damage beyond whitespace is noticed.
  if (!pointer || typeof pointer !== 'object' || Object.keys(pointer).sort().join() !== 'checkpoint,sha256,step' ||
    typeof pointer.checkpoint !== 'string' || !/^checkpoints\/step-\d+(-\d+)?$/.test(pointer.checkpoint) ||
    typeof pointer.sha256 !== 'string' || !Number.isSafeInteger(pointer.step)) {
    throw new Error(`${pointerPath}: damaged checkpoint pointer (expected {checkpoint: "checkpoints/step-N", step: N, sha256})`);
  }
  const dir = join(out, pointer.checkpoint);
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) throw new Error(`${statePath}: missing (the checkpoint named by ${pointerPath} is incomplete)`);
  if (sha256(statePath) !== pointer.sha256) throw new Error(`${statePath}: checksum mismatch (corrupt checkpoint)`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerState & { checksums: Record<string, string> };
  if (state.step !== pointer.step) throw new Error(`${pointerPath}: names step ${pointer.step} but ${statePath} is step ${state.step}`);
  for (const f of new Set([...REQUIRED_FILES, ...Object.keys(state.checksums ?? {})])) {
    if (!/^[\w.-]+$/.test(f)) throw new Error(`${statePath}: names a file '${f.slice(0, 40)}' outside the checkpoint`);
    const p = join(dir, f);
    if (!existsSync(p)) throw new Error(`${p}: missing from the checkpoint`);
    if (sha256(p) !== state.checksums?.[f]) throw new Error(`${p}: checksum mismatch (corrupt checkpoint)`);
  }
  return { dir, state };
}

/**
 * Restores AdamW's moments and each parameter's update count from a checkpoint folder (a checkpoint from
 * before the counts were saved gives every parameter with moments `optimizerSteps`, the run's step count).
 */
export function restoreOptimizer(dir: string, model: Module, opt: AdamW, optimizerSteps: number): void {
  const file = join(dir, 'optimizer.safetensors');
  const moments = readSafetensors(file);
  for (const [pname, p] of model.namedParameters()) {
    const a = moments.get(`${pname}.exp_avg`), b = moments.get(`${pname}.exp_avg_sq`), step = moments.get(`${pname}.step`);
    if (!a && !b) continue;
    if (!a || !b) throw new Error(`${file}: only one moment of '${pname}'`);
    if (step && (step.dtype !== 'i32' || step.data.length !== 1 || step.data[0] < 0)) throw new Error(`${file}: '${pname}.step' must be one non-negative i32`);
    opt.setState(p, Float32Array.from(a.data), Float32Array.from(b.data), step ? step.data[0] : optimizerSteps);
  }
}
