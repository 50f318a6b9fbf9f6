import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { averageModelFolders } from '../../src/nn/average.js';
import { readSafetensors, type RawTensor, writeSafetensors } from '../../src/nn/safetensors.js';
import { assertThrows } from '../helpers.js';

const s = suite('checkpoint averaging');

function folder(root: string, name: string, tensors: Record<string, RawTensor>, config: object = { hidden: 2 }, vocab = 'a\nb\n'): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeSafetensors(join(dir, 'model.safetensors'), new Map(Object.entries(tensors)));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'vocab.txt'), vocab);
  return dir;
}
const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });
const i32 = (values: number[]): RawTensor => ({ dtype: 'i32', shape: [values.length], data: Int32Array.from(values) });

async function withTmp(fn: (root: string) => Promise<void> | void): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'dner-average-'));
  try { await fn(root); } finally { rmSync(root, { recursive: true, force: true }); }
}

s('the result is the element-wise mean; integer tensors, config and vocabulary are carried over', () => withTmp((root) => {
  const a = folder(root, 'a', { w: f32([2, 2], [1, 2, 3, 4]), b: f32([1], [0.1]), ids: i32([7, 8]) });
  const b = folder(root, 'b', { w: f32([2, 2], [3, -2, 3, 0]), b: f32([1], [0.2]), ids: i32([7, 8]) });
  const c = folder(root, 'c', { w: f32([2, 2], [2, 3, 3, 5]), b: f32([1], [0.6]), ids: i32([7, 8]) });
  const r = averageModelFolders([a, b, c], join(root, 'out'), ['vocab.txt']);
  if (r.tensors !== 3 || r.parameters !== 5) throw new Error(JSON.stringify(r));
  const out = readSafetensors(join(root, 'out', 'model.safetensors'));
  if ([...out.get('w')!.data].join() !== '2,1,3,3') throw new Error(`w = ${[...out.get('w')!.data]}`);
  if (Math.abs(out.get('b')!.data[0] - 0.3) > 1e-7) throw new Error(`b = ${out.get('b')!.data[0]}`);
  if (out.get('ids')!.dtype !== 'i32' || [...out.get('ids')!.data].join() !== '7,8') throw new Error('ids');
  if (readFileSync(join(root, 'out', 'vocab.txt'), 'utf8') !== 'a\nb\n') throw new Error('vocab.txt');
  if (JSON.parse(readFileSync(join(root, 'out', 'config.json'), 'utf8')).hidden !== 2) throw new Error('config.json');
}));

s('folders that do not match are refused, naming the folder and what differs', () => withTmp(async (root) => {
  const a = folder(root, 'a', { w: f32([2], [1, 2]), ids: i32([1]) });
  await assertThrows(() => averageModelFolders([a], join(root, 'o1')), /at least two model folders, got 1/);
  const shape = folder(root, 'shape', { w: f32([1, 2], [1, 2]), ids: i32([1]) });
  await assertThrows(() => averageModelFolders([a, shape], join(root, 'o2')), /shape\/model\.safetensors: 'w' is f32 \[1,2\], .* has f32 \[2\]/);
  const missing = folder(root, 'missing', { ids: i32([1]) });
  await assertThrows(() => averageModelFolders([a, missing], join(root, 'o3')), /missing\/model\.safetensors has no tensor 'w'/);
  const extra = folder(root, 'extra', { w: f32([2], [1, 2]), ids: i32([1]), v: f32([1], [0]) });
  await assertThrows(() => averageModelFolders([a, extra], join(root, 'o4')), /extra\/model\.safetensors has a tensor 'v' that .* lacks/);
  const ints = folder(root, 'ints', { w: f32([2], [1, 2]), ids: i32([2]) });
  await assertThrows(() => averageModelFolders([a, ints], join(root, 'o5')), /'ids' is an integer tensor and differs/);
  const config = folder(root, 'config', { w: f32([2], [1, 2]), ids: i32([1]) }, { hidden: 3 });
  await assertThrows(() => averageModelFolders([a, config], join(root, 'o6')), /config\/config\.json differs/);
  const vocab = folder(root, 'vocab', { w: f32([2], [1, 2]), ids: i32([1]) }, { hidden: 2 }, 'a\nc\n');
  await assertThrows(() => averageModelFolders([a, vocab], join(root, 'o7'), ['vocab.txt']), /vocab\/vocab\.txt differs/);
  await assertThrows(() => averageModelFolders([a, join(root, 'nowhere')], join(root, 'o8')), /nowhere: not a model folder \(no config\.json\)/);
}));

s.run();
