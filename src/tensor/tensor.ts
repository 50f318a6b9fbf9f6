/**
 * The one Tensor type: a shape, a dtype, a device and reference-counted contiguous row-major storage,
 * plus the autograd fields (requiresGrad, grad, and the node that produced it). Ops live in src/ops.
 */
import { allocArray, arrayDType, BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import { type Device } from './device.js';
import { registerTensorCheck, trackTensor } from './scope.js';
import { checkShape, fmtShape, type Shape, sizeOf } from './shape.js';
import { Storage } from './storage.js';

/** One recorded op: enough for its backward rule (src/ops/grad-rules.ts) to run. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Tensors the backward rule reads besides the inputs (e.g. the output of exp). */
  saved: Tensor[];
  /** Non-tensor attributes: axes, flags, shapes. */
  attrs: Record<string, unknown>;
}

let nextId = 1;
let gradEnabled = true;
let liveTensors = 0;

/** Tensors created and not yet disposed, on every device (a leak shows up here first). */
export function liveTensorCount(): number {
  return liveTensors;
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording any op for autograd. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  name: string | undefined;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** Kept past its tidy scope only because an autograd graph needs it; freed with that graph. */
  heldForGraph = false;
  private _storage: Storage | null;

  constructor(storage: Storage, shape: Shape, name?: string) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    if (this.size !== storage.length) {
      throw new Error(`internal: storage of ${storage.length} elements for shape ${fmtShape(shape)}`);
    }
    this._storage = storage;
    this.name = name;
    liveTensors++;
    trackTensor(this);
  }

  /** Uninitialised tensor (contents are whatever the pooled buffer held). */
  static empty(device: Device, dtype: DType, shape: Shape, forUpload = false): Tensor {
    checkShape(shape);
    return new Tensor(new Storage(device, dtype, sizeOf(shape), forUpload), shape);
  }

  static fromArray(device: Device, dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
    checkShape(shape);
    const n = sizeOf(shape);
    if (values.length !== n) {
      throw new Error(`${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
    }
    const t = Tensor.empty(device, dtype, shape, true);
    const typed = arrayDType(values) === dtype ? (values as TypedArray) : allocArray(dtype, n);
    if (typed !== values) for (let i = 0; i < n; i++) typed[i] = (values as ArrayLike<number>)[i];
    if (device.kind === 'cpu') t.storage.array!.set(typed);
    else if (n > 0) device.backend.upload(t.storage.buffer!, typed);
    return t;
  }

  get storage(): Storage {
    if (!this._storage) throw new Error(`${this.describe()} was disposed and cannot be used`);
    return this._storage;
  }
  get dtype(): DType { return this.storage.dtype; }
  get device(): Device { return this.storage.device; }
  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._storage === null; }
  get isLeaf(): boolean { return this.node === null; }
  get byteLength(): number { return this.size * BYTES_PER_ELEMENT[this.dtype]; }

  /** The CPU array (cpu device only). */
  get array(): TypedArray {
    const a = this.storage.array;
    if (!a) throw new Error(`${this.describe()} lives on ${this.device.name}; read it with await t.data()`);
    return a;
  }
  /** The GPU buffer (webgpu device only). */
  get buffer(): GPUBuffer {
    const b = this.storage.buffer;
    if (!b) throw new Error(`${this.describe()} lives on ${this.device.name}, not webgpu`);
    return b;
  }

  describe(): string {
    const st = this._storage;
    const what = st ? `${st.dtype}${fmtShape(this.shape)} on ${st.device.name}` : `${fmtShape(this.shape)}`;
    return `Tensor #${this.id}${this.name ? ` '${this.name}'` : ''} (${what})`;
  }

  setRequiresGrad(flag = true): this {
    if (flag && this.dtype === 'i32') throw new Error(`${this.describe()}: an i32 tensor cannot require gradients`);
    this.requiresGrad = flag;
    return this;
  }

  /** A new tensor sharing this one's storage, cut off from the autograd graph. */
  detach(): Tensor {
    this.storage.refs++;
    return new Tensor(this.storage, this.shape, this.name);
  }

  /** Shares storage; `reshape` in src/ops adds autograd on top of this. */
  viewAs(shape: Shape): Tensor {
    checkShape(shape);
    if (sizeOf(shape) !== this.size) {
      throw new Error(`reshape: cannot view ${this.describe()} as ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
    }
    this.storage.refs++;
    return new Tensor(this.storage, shape);
  }

  /**
   * Overwrites the values in place (loading weights, resetting optimiser state). On webgpu the pending
   * batch is submitted first, so work recorded earlier still reads the old values.
   */
  copyFrom(values: ArrayLike<number>): this {
    if (values.length !== this.size) throw new Error(`copyFrom: ${values.length} values for ${this.describe()}`);
    const st = this.storage;
    const typed = arrayDType(values) === st.dtype ? (values as TypedArray) : allocArray(st.dtype, this.size);
    if (typed !== values) for (let i = 0; i < this.size; i++) typed[i] = values[i];
    if (st.device.kind === 'cpu') st.array!.set(typed);
    else if (this.size > 0) { st.device.backend.flush(); st.device.backend.upload(st.buffer!, typed); }
    return this;
  }

  graphDependencies(): Tensor[] {
    return this.node ? [...this.node.inputs, ...this.node.saved] : [];
  }

  /** Copies the values to the host. */
  async data(): Promise<TypedArray> {
    const st = this.storage;
    if (st.device.kind === 'cpu') return st.array!.slice();
    if (this.size === 0) return allocArray(st.dtype, 0);
    const bytes = await st.device.backend.read(st.buffer!, this.byteLength);
    return st.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got ${this.describe()}`);
    return (await this.data())[0];
  }

  /** Nested JS arrays. */
  async toArray(): Promise<unknown> {
    return nest(await this.data(), this.shape);
  }

  /** Values formatted like a nested list (async because GPU values must be read back first). */
  async format(maxPerDim = 6): Promise<string> {
    return `${this.describe()}\n${formatValues(await this.data(), this.shape, maxPerDim)}`;
  }

  toString(): string {
    if (this._storage?.array) return `${this.describe()}\n${formatValues(this._storage.array, this.shape, 6)}`;
    return `${this.describe()}${this._storage ? ' (values on the GPU: await t.format())' : ' (disposed)'}`;
  }

  dispose(): void {
    if (!this._storage) return;
    liveTensors--;
    this._storage.release();
    this._storage = null;
    this.node = null;
    this.grad?.dispose();
    this.grad = null;
  }
}

registerTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);

function nest(a: ArrayLike<number>, shape: readonly number[], offset = 0, dim = 0): unknown {
  if (dim === shape.length) return a[offset];
  const step = shape.slice(dim + 1).reduce((x, y) => x * y, 1);
  return Array.from({ length: shape[dim] }, (_, i) => nest(a, shape, offset + i * step, dim + 1));
}

function fmtNum(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const s = Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
  return s;
}

function formatValues(a: ArrayLike<number>, shape: readonly number[], maxPerDim: number): string {
  const rec = (offset: number, dim: number, indent: string): string => {
    if (dim === shape.length) return fmtNum(a[offset]);
    const n = shape[dim];
    const step = shape.slice(dim + 1).reduce((x, y) => x * y, 1);
    const idx = n > maxPerDim ? [0, 1, 2, -1, n - 3, n - 2, n - 1] : Array.from({ length: n }, (_, i) => i);
    const parts = idx.map((i) => (i < 0 ? '...' : rec(offset + i * step, dim + 1, indent + ' ')));
    const sep = dim === shape.length - 1 ? ', ' : `,\n${indent} `;
    return `[${parts.join(sep)}]`;
  };
  return rec(0, 0, '');
}
