/**
 * What the tests that hold a model to a PyTorch one on shared weights share (BOPN's and BINDER's
 * torch-parity tests): the fixture (a safetensors file that scripts/fixtures/ writes, its F64 tensors kept
 * in double precision), the fixture's batch of sentences, the runs (f32 on every device, f64 on the cpu
 * device), the worst errors, and every parameter's gradient against the fixture's.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SentenceIn } from '../src/ner/contract.js';
import type { Module } from '../src/nn/module.js';
import { type RawTensor, readSafetensors } from '../src/nn/safetensors.js';
import { assertClose, DEVICES } from './helpers.js';

/** DNER_PARITY_REPORT=1 prints the largest errors of every run. */
export const parityReport = process.env.DNER_PARITY_REPORT === '1';

/** The runs: f32 on every device, then f64 on the cpu device. */
export const parityRuns = () => [...DEVICES.map((dev) => ({ dev, dtype: 'f32' as const })), { dev: DEVICES[0], dtype: 'f64' as const }];

export interface Fixture {
  tensors: Map<string, RawTensor>;
  /** The tensor `key`; an error where the fixture lacks it. */
  get(key: string): RawTensor;
}

/** test/fixtures/`name`, its F64 tensors in double precision. */
export function openFixture(name: string): Fixture {
  const tensors = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', name), { f64: true });
  return { tensors, get: (k) => tensors.get(k) ?? (() => { throw new Error(`fixture has no ${k}`); })() };
}

/**
 * The fixture's batch: `lengths`, word `ids` (B, N) padded, and its sentences, words w<id> (`vocab`'s) with
 * the entities of its `entities` rows (sentence, start, end inclusive, type index into `types`).
 */
export function fixtureBatch(fx: Fixture, vocab: readonly string[], types: readonly string[]) {
  const lengths = Array.from(fx.get('lengths').data);
  const [B, N] = fx.get('ids').shape;
  const ids = fx.get('ids').data;
  const sentences: SentenceIn[] = lengths.map((n, b) => ({
    tokens: Array.from({ length: n }, (_, j) => vocab[ids[b * N + j]]),
    entities: [],
  }));
  const e = fx.get('entities');
  for (let r = 0; r < e.shape[0]; r++) {
    const [b, start, end, type] = Array.from(e.data.slice(4 * r, 4 * r + 4));
    (sentences[b].entities as { start: number; end: number; type: string }[]).push({ start, end: end + 1, type: types[type] });
  }
  return { lengths, B, N, ids, sentences };
}

/** The largest absolute error, and the largest error relative to the tensor's largest |expected|. */
export function worst(actual: ArrayLike<number>, expected: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0, big = 0;
  for (let i = 0; i < expected.length; i++) { abs = Math.max(abs, Math.abs(actual[i] - expected[i])); big = Math.max(big, Math.abs(expected[i])); }
  return { abs, rel: big ? abs / big : abs };
}

/**
 * Every parameter of `model` has a `dtype` gradient equal to the fixture's `<prefix><name>` within `tol.rtol`
 * and `tol.atolPerMax` of that tensor's largest |g|, and the fixture has no gradient for another; returns
 * the worst error (of the parameter whose error relative to its largest |g| is largest). `tag` names the
 * fixture's run in the failures, `where` the device and dtype.
 */
export async function checkGradients(model: Module, fx: Fixture, prefix: string, dtype: 'f32' | 'f64', tol: { rtol: number; atolPerMax: number }, where: string, tag?: string): Promise<{ abs: number; rel: number; name: string }> {
  const theirs = new Set([...fx.tensors.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
  let gradWorst = { abs: 0, rel: 0, name: '' };
  for (const [name, p] of model.namedParameters()) {
    if (!theirs.delete(name)) throw new Error(`${name}: torch has no gradient for it`);
    if (!p.grad || p.grad.dtype !== dtype) throw new Error(`${name}: no ${dtype} gradient on ${where}`);
    const expected = fx.get(prefix + name).data, actual = await p.grad.data();
    const largest = Math.max(...Array.from(expected, Math.abs));
    assertClose(actual, expected, { rtol: tol.rtol, atol: tol.atolPerMax * largest }, `d loss / d ${name}${tag ? ` (${tag})` : ''} on ${where}`);
    const w = worst(actual, expected);
    if (w.rel > gradWorst.rel) gradWorst = { ...w, name };
  }
  if (theirs.size) throw new Error(`torch has gradients for parameters the model lacks: ${[...theirs].join(', ')}`);
  return gradWorst;
}
