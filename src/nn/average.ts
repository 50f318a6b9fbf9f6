/**
 * Checkpoint averaging: the element-wise mean of the weights of several model folders of one architecture
 * (models along one training run, or warm restarts of it). The folders must agree exactly on config.json,
 * on the side files named (a vocabulary) and on every tensor's name, dtype and shape; integer tensors
 * cannot be averaged and must be equal.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeWeightsFile } from './folder.js';
import { readSafetensors, type RawTensor, serializeSafetensors } from './safetensors.js';

/**
 * `architecture(dir)` says what a folder's model is, for comparison; by default config.json with sorted keys.
 * A caller whose loader fills in defaults passes the resolved settings, so that a folder written with every
 * field (export) matches one written with only the given fields (train).
 */
export function averageModelFolders(dirs: string[], out: string, sideFiles: string[] = [], architecture: (dir: string) => string = canonicalConfig): { tensors: number; parameters: number } {
  if (dirs.length < 2) throw new Error(`averaging needs at least two model folders, got ${dirs.length}`);
  for (const d of dirs) {
    for (const f of ['config.json', 'model.safetensors', ...sideFiles]) {
      if (!existsSync(join(d, f))) throw new Error(`${d}: not a model folder (no ${f})`);
    }
  }
  const [first, ...others] = dirs;
  const config = architecture(first);
  for (const d of others) {
    if (architecture(d) !== config) throw new Error(`${d}/config.json differs from ${first}/config.json: only models of one architecture can be averaged`);
    for (const f of sideFiles) {
      if (!readFileSync(join(d, f)).equals(readFileSync(join(first, f)))) throw new Error(`${d}/${f} differs from ${first}/${f}`);
    }
  }
  const sets = dirs.map((d) => ({ dir: d, tensors: readSafetensors(join(d, 'model.safetensors')) }));
  const mean = new Map<string, RawTensor>();
  let parameters = 0;
  for (const [name, t] of sets[0].tensors) {
    const parts = sets.map(({ dir, tensors }) => {
      const u = tensors.get(name);
      if (!u) throw new Error(`${dir}/model.safetensors has no tensor '${name}' (${first} has)`);
      if (u.dtype !== t.dtype || u.shape.join() !== t.shape.join()) throw new Error(`${dir}/model.safetensors: '${name}' is ${u.dtype} [${u.shape}], ${first} has ${t.dtype} [${t.shape}]`);
      return u.data;
    });
    if (t.dtype === 'i32') {
      if (parts.some((p) => !sameValues(p, t.data))) throw new Error(`'${name}' is an integer tensor and differs between the folders: it cannot be averaged`);
      mean.set(name, t);
      continue;
    }
    const sum = new Float64Array(t.data.length);
    for (const p of parts) for (let i = 0; i < p.length; i++) sum[i] += p[i];
    mean.set(name, { dtype: 'f32', shape: t.shape, data: Float32Array.from(sum, (s) => s / parts.length) });
    parameters += t.data.length;
  }
  for (const { dir, tensors } of sets.slice(1)) {
    for (const name of tensors.keys()) if (!mean.has(name)) throw new Error(`${dir}/model.safetensors has a tensor '${name}' that ${first} lacks`);
  }
  mkdirSync(out, { recursive: true });
  writeWeightsFile(out, serializeSafetensors(mean, { format: 'pt', averaged_from: dirs.join(', ') }));
  for (const f of sideFiles) writeFileAtomic(join(out, f), readFileSync(join(first, f)));
  writeFileAtomic(join(out, 'config.json'), readFileSync(join(first, 'config.json'), 'utf8'));
  return { tensors: mean.size, parameters };
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** config.json as JSON with sorted keys: key order does not make two architectures differ. */
function canonicalConfig(dir: string): string {
  const path = join(dir, 'config.json');
  try { return canonicalJson(JSON.parse(readFileSync(path, 'utf8'))); } catch (e) { throw new Error(`${path}: not valid JSON: ${(e as Error).message.split('\n')[0]}`); }
}

export function canonicalJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => Array.isArray(v) ? v.map(sortKeys)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
    : v;
  return JSON.stringify(sortKeys(value));
}
