/** Shared plumbing for ops: output allocation, device/dtype checks, and recording onto the tape. */
import type { DType } from '../tensor/dtype.js';
import type { Device } from '../tensor/device.js';
import { type GradNode, isGradEnabled, Tensor } from '../tensor/tensor.js';

export function empty(device: Device, dtype: DType, shape: readonly number[]): Tensor {
  return Tensor.empty(device, dtype, shape);
}

export function checkTensor(op: string, t: unknown, what = 'input'): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${typeof t}`);
  if (t.isDisposed) throw new Error(`${op}: ${what} ${t.describe()} was disposed and cannot be used`);
}

export function sameDevice(op: string, ...ts: Tensor[]): Device {
  const d = ts[0].device;
  for (const t of ts) {
    if (t.device !== d) throw new Error(`${op}: tensors are on different devices (${ts.map((x) => x.device.name).join(', ')}); move one with .to()`);
  }
  return d;
}

export function sameDType(op: string, ...ts: Tensor[]): DType {
  const dt = ts[0].dtype;
  for (const t of ts) {
    if (t.dtype !== dt) throw new Error(`${op}: dtype mismatch (${ts.map((x) => x.dtype).join(' vs ')}); cast one with .cast()`);
  }
  return dt;
}

export function requireFloat(op: string, t: Tensor): void {
  if (t.dtype === 'i32') throw new Error(`${op}: needs a floating-point tensor, got ${t.describe()}`);
}

export function requireDType(op: string, t: Tensor, dtype: DType, what: string): void {
  if (t.dtype !== dtype) throw new Error(`${op}: ${what} must be ${dtype}, got ${t.describe()}`);
}

/** Attaches an autograd node when gradients are on and some input needs one. */
export function record(out: Tensor, op: string, inputs: Tensor[], saved: Tensor[] = [], attrs: Record<string, unknown> = {}): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    const node: GradNode = { op, inputs, saved, attrs };
    out.node = node;
    out.requiresGrad = true;
  }
  return out;
}

export function needsGrad(...ts: Tensor[]): boolean {
  return isGradEnabled() && ts.some((t) => t.requiresGrad);
}
