/**
 * Shared test plumbing (candle-style): every kernel test runs on every device through `DEVICES`,
 * comparisons report the worst element, and allocations are poisoned so unwritten outputs show up.
 */
import * as fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocationPolicy, type Device, getDevice, type Tensor } from '../src/index.js';

export const DEVICES: Device[] = [];
export let webgpu: Extract<Device, { kind: 'webgpu' }> | null = null;

export async function setup(): Promise<void> {
  allocationPolicy.poison = true;
  DEVICES.push(await getDevice('cpu'));
  try {
    webgpu = (await getDevice('webgpu')) as Extract<Device, { kind: 'webgpu' }>;
    DEVICES.push(webgpu);
    const r = webgpu.backend.report;
    console.log(`webgpu adapter: ${r.description} (${r.vendor}, ${r.architecture}); subgroups ${r.subgroupSize ?? 'off'}`);
  } catch (e) {
    if (process.env.CI === 'true' || process.env.CI === '1' || process.env.DNER_ALLOW_NO_WEBGPU !== '1') throw e;
    console.warn(`\n*** WebGPU unavailable, testing the cpu device only: ${(e as Error).message}\n`);
  }
}

export async function teardown(): Promise<void> {
  webgpu?.backend.destroy();
}

/** Property-test run counts scale with DNER_TEST_RUNS (a multiplier) so the fuzz can be deepened locally. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * Number(process.env.DNER_TEST_RUNS ?? 1)));
}

export async function assertProperty<Ts extends [unknown, ...unknown[]]>(
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  check: (...args: Ts) => Promise<void>,
  numRuns: number,
): Promise<void> {
  await fc.assert(fc.asyncProperty(...arbs, check), { numRuns: runs(numRuns), endOnFailure: true, includeErrorInReport: true });
}

export interface Tolerance { rtol?: number; atol?: number }

/** Fails with the worst element's index, values and error. NaN (a poisoned, unwritten element) always fails. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = 'values'): void {
  const rtol = tol.rtol ?? 1e-5, atol = tol.atol ?? 1e-6;
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(e)) throw new Error(`${what}[${i}]: ${a}, expected ${e}`);
    if (Number.isNaN(a)) continue;
    if (a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= worstExcess)) { worstExcess = excess; worst = i; }
  }
  if (worst >= 0) {
    throw new Error(`${what}[${worst}]: ${actual[worst]}, expected ${expected[worst]} (|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(2)}, rtol ${rtol}, atol ${atol})`);
  }
}

export async function assertTensorClose(actual: Tensor, expected: Tensor | ArrayLike<number>, tol: Tolerance = {}, what = 'tensor'): Promise<void> {
  const e = 'shape' in expected ? await (expected as Tensor).data() : (expected as ArrayLike<number>);
  if ('shape' in expected && (expected as Tensor).shape.join() !== actual.shape.join()) {
    throw new Error(`${what}: shape [${actual.shape}] differs from expected [${(expected as Tensor).shape}]`);
  }
  assertClose(await actual.data(), e, tol, what);
}

export async function assertThrows(fn: () => unknown, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = (e as Error).message;
    if (!pattern.test(msg)) throw new Error(`error message ${JSON.stringify(msg)} does not match ${pattern}`);
    return;
  }
  throw new Error(`expected an error matching ${pattern}`);
}

/** Shapes with odd sizes that rarely divide tile sizes. */
export const shapeArb = (minRank = 1, maxRank = 4, maxDim = 9) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

export function randomValues(n: number, seed: number, lo = -2, hi = 2): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return out;
}

export interface InputSpec { shape: readonly number[]; lo?: number; hi?: number; dtype?: 'f32' | 'i32'; values?: ArrayLike<number> }

/**
 * Runs `op` on the cpu device in f64 (the reference) and on every device in f32 with the same input
 * values, and compares. Integer inputs keep i32 everywhere.
 */
export async function checkAgainstReference(
  name: string,
  inputs: InputSpec[],
  op: (...xs: Tensor[]) => Tensor | Tensor[],
  tol: Tolerance = { rtol: 1e-4, atol: 1e-5 },
  seed = 1,
): Promise<void> {
  const { tensor } = await import('../src/index.js');
  const values = inputs.map((s, i) => s.values ?? randomValues(s.shape.reduce((a, b) => a * b, 1), seed * 7919 + i, s.lo ?? -2, s.hi ?? 2));
  const make = (dev: Device, float: 'f32' | 'f64') => inputs.map((s, i) => {
    const v = s.dtype === 'i32' ? Int32Array.from(values[i], Math.round) : values[i];
    return tensor(v as Float64Array, { shape: s.shape, dtype: s.dtype === 'i32' ? 'i32' : float, device: dev });
  });
  const asList = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);
  const ref = asList(op(...make(DEVICES[0], 'f64')));
  for (const dev of DEVICES) {
    const out = asList(op(...make(dev, 'f32')));
    for (let k = 0; k < ref.length; k++) {
      await assertTensorClose(out[k], ref[k], tol, `${name} on ${dev.name}, output ${k}`);
    }
  }
}

/**
 * The kernel variants a device can run for families with a `subgroup` variant (rows everywhere on webgpu),
 * plus the family's variants that need no feature (`more`, e.g. the LSTM's split).
 */
export function kernelVariants(dev: Device, more: string[] = []): string[] {
  if (dev.kind !== 'webgpu') return ['reference'];
  return [...(dev.backend.hasSubgroups && dev.backend.report.subgroupSize ? ['rows', 'subgroup'] : ['rows']), ...more];
}

/** Runs f with a kernel family forced to a variant through its environment variable (e.g. DNER_LSTM). */
export async function withKernelVariant<R>(env: string, variant: string, f: () => Promise<R>): Promise<R> {
  if (variant === 'reference') return f();
  process.env[env] = variant;
  try { return await f(); } finally { delete process.env[env]; }
}

/** A DiffusionNER model folder opened through the registry, typed as the model it is. */
export async function loadDiffusionNER(dir: string, device: Device): Promise<import('../src/models/diffusionner/model.js').DiffusionNER> {
  const { openModel } = await import('../src/models/index.js');
  return (await openModel(dir, device)) as import('../src/models/diffusionner/model.js').DiffusionNER;
}

/**
 * A training config file for a run of a few seconds on `data` (in dir): a tiny scratch model with a char
 * CNN and word dropout, dev on the training data. The CLI's process tests (signals, SIGKILL) share it.
 */
export function writeTinyTrainingConfig(dir: string, name: string, data: string, train: { epochs: number; checkpointEvery: number }): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    data: { train: data, dev: data },
    model: { hidden: 8, embedding: 8, charEmbedding: 4, charFilters: 4, wordDropout: 0.1, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0.1 },
    train: { ...train, batch: 4, lr: 1e-3, seed: 3 }, eval: { mode: 'flat', proposals: 4, steps: 2 }, out: join(dir, name),
  }));
  return file;
}
