/**
 * Integrity of model folders (issue 39, item 5): every model folder written (saveModelFolder: training,
 * checkpoints, export; average) holds model.safetensors.sha256 in sha256sum's format; loading checks it,
 * and a mismatch is a one-line error unless verification is turned off (`verify: false`, --no-verify); a
 * folder without the file loads with one warning per folder (none for a training checkpoint, whose
 * state.json hashes its weights).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { loadModel } from '../../src/api.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { openModel } from '../../src/models/index.js';
import { averageModelFolders } from '../../src/nn/average.js';
import { loadModelFolder, saveModelFolder } from '../../src/nn/folder.js';
import { writeSafetensors } from '../../src/nn/safetensors.js';
import { assertThrows } from '../helpers.js';

const s = suite('model folder checksums');
const root = mkdtempSync(join(tmpdir(), 'dner-checksum-'));
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function tinyModel(seed = 1): DiffusionNER {
  return new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a', 'b'], types: ['A'], hidden: 4, embedding: 4, lstmLayers: 1, proposals: 2, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(seed) });
}

async function tinyFolder(name: string): Promise<string> {
  const dir = join(root, name);
  const m = tinyModel();
  await saveModelFolder(dir, m, m.folder().config, m.folder().files);
  m.dispose();
  return dir;
}

/** Flips a low mantissa bit of the first weight: still a valid safetensors file with finite values. */
function damageWeights(file: string): void {
  const b = readFileSync(file);
  const dataStart = 8 + Number(b.readBigUInt64LE(0));
  b[dataStart] ^= 0x01;
  writeFileSync(file, b);
}

/** Runs fn with stderr captured; returns what was written. */
async function stderrOf(fn: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => { text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(); return true; }) as typeof process.stderr.write;
  try { await fn(); } finally { process.stderr.write = write; }
  return text;
}

s('saveModelFolder writes model.safetensors.sha256 in sha256sum\'s format, and rewrites it with the weights', async () => {
  const dir = await tinyFolder('saved');
  const line = readFileSync(join(dir, 'model.safetensors.sha256'), 'utf8');
  if (line !== `${sha(join(dir, 'model.safetensors'))}  model.safetensors\n`) throw new Error(`checksum file: ${JSON.stringify(line)}`);
  const check = spawnSync('sha256sum', ['-c', 'model.safetensors.sha256'], { cwd: dir, encoding: 'utf8' });
  if (check.error === undefined && (check.status !== 0 || check.stdout.trim() !== 'model.safetensors: OK')) throw new Error(`sha256sum -c: ${check.stdout} ${check.stderr}`);
  const other = tinyModel(7);
  await saveModelFolder(dir, other, other.folder().config, other.folder().files, { f16: true });
  other.dispose();
  if (readFileSync(join(dir, 'model.safetensors.sha256'), 'utf8') !== `${sha(join(dir, 'model.safetensors'))}  model.safetensors\n`) throw new Error('a second save left the old checksum');
  (await openModel(dir, T.cpu)).dispose();
});

s('average writes the checksum of the mean', async () => {
  const dirs = ['x', 'y'].map((n, i) => {
    const d = join(root, `avg-${n}`);
    mkdirSync(d);
    writeSafetensors(join(d, 'model.safetensors'), new Map([['w', { dtype: 'f32' as const, shape: [2], data: Float32Array.of(i, 2 * i) }]]));
    writeFileSync(join(d, 'config.json'), '{}');
    return d;
  });
  averageModelFolders(dirs, join(root, 'avg-out'));
  const line = readFileSync(join(root, 'avg-out', 'model.safetensors.sha256'), 'utf8');
  if (line !== `${sha(join(root, 'avg-out', 'model.safetensors'))}  model.safetensors\n`) throw new Error(`checksum file: ${JSON.stringify(line)}`);
});

s('changed weights fail to load with one line naming the file; verify false (API and registry) loads them', async () => {
  const dir = join(root, 'damaged');
  cpSync(await tinyFolder('intact'), dir, { recursive: true });
  damageWeights(join(dir, 'model.safetensors'));
  const message = /^\S*damaged\/model\.safetensors: does not match model\.safetensors\.sha256: the weights are damaged or were changed .*--no-verify skips the check\)$/;
  await assertThrows(() => openModel(dir, T.cpu), message);
  await assertThrows(() => loadModel(dir, { device: 'cpu' }), message);
  try { await openModel(dir, T.cpu); } catch (e) { if ((e as Error).message.includes('\n')) throw new Error('the error is more than one line'); }
  (await openModel(dir, T.cpu, undefined, { verify: false })).dispose();
  (await loadModel(dir, { device: 'cpu', verify: false })).dispose();
  // A checksum file that is not one is an error too, not a silent pass.
  writeFileSync(join(dir, 'model.safetensors.sha256'), 'hello\n');
  await assertThrows(() => openModel(dir, T.cpu), /model\.safetensors\.sha256: not a checksum of model\.safetensors/);
  // sha256sum's binary-mode line (`<hex> *model.safetensors`) and a bare hash are accepted.
  writeFileSync(join(dir, 'model.safetensors.sha256'), `${sha(join(dir, 'model.safetensors'))} *model.safetensors\n`);
  (await openModel(dir, T.cpu)).dispose();
  writeFileSync(join(dir, 'model.safetensors.sha256'), `${sha(join(dir, 'model.safetensors')).toUpperCase()}\n`);
  (await openModel(dir, T.cpu)).dispose();
});

s('a folder without the checksum loads with one warning, once per folder; a training checkpoint without one, silently', async () => {
  const dir = await tinyFolder('unchecked');
  rmSync(join(dir, 'model.safetensors.sha256'));
  const warned = await stderrOf(async () => { (await openModel(dir, T.cpu)).dispose(); (await openModel(dir, T.cpu)).dispose(); });
  const lines = warned.split('\n').filter(Boolean);
  if (lines.length !== 1 || !lines[0].startsWith(`warning: ${dir} has no model.safetensors.sha256`) || !lines[0].includes('sha256sum model.safetensors > model.safetensors.sha256') || !lines[0].includes(`diffusionner export --model ${dir} --out`)) {
    throw new Error(`warning: ${JSON.stringify(warned)}`);
  }
  const seen: string[] = [];
  const other = await tinyFolder('unchecked-2');
  rmSync(join(other, 'model.safetensors.sha256'));
  const m = await loadModelFolder(other, () => tinyModel(), { warn: (l) => seen.push(l) });
  m.dispose();
  if (seen.length !== 1 || !seen[0].includes(other)) throw new Error(`warn callback: ${JSON.stringify(seen)}`);
  const ckpt = await tinyFolder('step-2');
  rmSync(join(ckpt, 'model.safetensors.sha256'));
  writeFileSync(join(ckpt, 'state.json'), '{}');
  const quiet = await stderrOf(async () => (await openModel(ckpt, T.cpu)).dispose());
  if (quiet !== '') throw new Error(`a checkpoint folder warned: ${JSON.stringify(quiet)}`);
});

s.after(() => rmSync(root, { recursive: true, force: true }));
s.run();
