/**
 * Forward hooks: any module can report the inputs and output of each of its forward calls, without
 * the module's code knowing. A hook wraps the instance's own `forward` (the class's method is left
 * alone) and is removed by the function it returns. `recordForwards` uses hooks on every module of a
 * model to capture named intermediates with statistics (and values on request) for a trace.
 */
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

export type ForwardHook = (name: string, module: Module, inputs: unknown[], output: unknown) => void;

type Forwardable = Module & { forward?: (...args: unknown[]) => unknown };

/** Calls `hook` after every forward of `module` (registered under `name`); returns the remover. */
export function addForwardHook(module: Module, name: string, hook: ForwardHook): () => void {
  const m = module as Forwardable;
  const inner = m.forward;
  if (typeof inner !== 'function') return () => {};
  const wrapped = function (this: Module, ...args: unknown[]) {
    const out = inner.apply(this, args);
    hook(name, module, args, out);
    return out;
  };
  m.forward = wrapped;
  return () => {
    if (m.forward === wrapped) m.forward = inner;
    if (Object.prototype.hasOwnProperty.call(m, 'forward') && m.forward === Object.getPrototypeOf(m).forward) delete m.forward;
  };
}

export interface TensorStats {
  shape: number[];
  dtype: string;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** NaN and ±Infinity entries (excluded from the other statistics). */
  nonFinite: number;
  values?: number[];
}

export function tensorStats(shape: readonly number[], dtype: string, data: ArrayLike<number>, withValues = false): TensorStats {
  let n = 0, sum = 0, sq = 0, min = Infinity, max = -Infinity, bad = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) { bad++; continue; }
    n++; sum += v; sq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n ? sum / n : NaN;
  return {
    shape: [...shape], dtype, mean, std: n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : NaN,
    min: n ? min : NaN, max: n ? max : NaN, nonFinite: bad, ...(withValues ? { values: Array.from(data) } : {}),
  };
}

export interface ForwardRecord {
  /** Dotted module name ('' is the root), its class, and which call of that module this was (from 0). */
  module: string;
  kind: string;
  call: number;
  /** A label the caller set when the call happened (e.g. "encode", "step 2"). */
  phase: string;
  inputs: Record<string, TensorStats>;
  outputs: Record<string, TensorStats>;
}

/** Tensors in a forward argument or result: a tensor, or the tensor fields of an object or array. */
function tensorsIn(x: unknown, prefix: string): [string, Tensor][] {
  if (x instanceof Tensor) return [[prefix, x]];
  if (Array.isArray(x)) return x.flatMap((v, i) => (v instanceof Tensor ? [[`${prefix}[${i}]`, v] as [string, Tensor]] : []));
  if (x && typeof x === 'object') {
    return Object.entries(x).flatMap(([k, v]) => (v instanceof Tensor ? [[prefix ? `${prefix}.${k}` : k, v] as [string, Tensor]] : []));
  }
  return [];
}

export interface Recorder {
  /** Sets the phase label of the calls that follow. */
  phase(label: string): void;
  /** Removes the hooks and computes the statistics (one readback per captured tensor). */
  finish(): Promise<ForwardRecord[]>;
}

/**
 * Hooks every module of `root`. Captured tensors are held (sharing storage) until `finish`, so a
 * trace of a large batch holds every intermediate: trace single sentences. `values`: keep the tensor
 * values too, of every module (true) or of those whose dotted name the function accepts.
 */
export function recordForwards(root: Module, o: { values?: boolean | ((module: string) => boolean) } = {}): Recorder {
  const withValues = typeof o.values === 'function' ? o.values : () => !!o.values;
  const pending: { rec: Omit<ForwardRecord, 'inputs' | 'outputs'>; ins: [string, Tensor][]; outs: [string, Tensor][] }[] = [];
  const calls = new Map<string, number>();
  let phase = '';
  const removers = [...root.namedModules()].map(([name, m]) => addForwardHook(m, name, (n, mod, inputs, output) => {
    const call = calls.get(n) ?? 0;
    calls.set(n, call + 1);
    const hold = (list: [string, Tensor][]) => list.map(([k, t]) => [k, keep(t.detach())] as [string, Tensor]);
    pending.push({
      rec: { module: n, kind: mod.constructor.name, call, phase },
      ins: hold(inputs.flatMap((a, i) => tensorsIn(a, `arg${i}`))),
      outs: hold(tensorsIn(output, 'out')),
    });
  }));
  return {
    phase: (label) => { phase = label; },
    async finish() {
      removers.forEach((r) => r());
      const stats = async (list: [string, Tensor][], module: string) => {
        const out: Record<string, TensorStats> = {};
        for (const [k, t] of list) {
          out[k] = tensorStats(t.shape, t.dtype, await t.data(), withValues(module));
          t.dispose();
        }
        return out;
      };
      const records: ForwardRecord[] = [];
      for (const p of pending) records.push({ ...p.rec, inputs: await stats(p.ins, p.rec.module), outputs: await stats(p.outs, p.rec.module) });
      return records;
    },
  };
}
