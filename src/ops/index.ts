/**
 * The public op API. Every op is a plain function (`add(a, b)`), and also a Tensor method (`a.add(b)`)
 * installed here, so src/tensor needs no knowledge of ops.
 */
import type { DType } from '../tensor/dtype.js';
import type { Device, DeviceKind } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';
import { backward, type BackwardOptions } from './autograd.js';
import * as ew from './elementwise.js';
import * as nn from './nn.js';
import * as red from './reduce.js';
import * as sh from './shape-ops.js';

export * from './creation.js';
export * from './elementwise.js';
export * from './nn.js';
export * from './reduce.js';
export * from './shape-ops.js';
export * from './attention.js';
export * from './lstm.js';
export * from './pointer.js';
export * from './losses.js';
export * from './conv3d.js';
export * from './cln-grid.js';
export { backward, type BackwardOptions, releaseGraph } from './autograd.js';
export { GRAD_RULES, sumToShape } from './grad-rules.js';
export { adamwUpdate, type AdamWParams } from './optim-ops.js';

type Operand = Tensor | number;

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: Operand): Tensor; sub(b: Operand): Tensor; mul(b: Operand): Tensor; div(b: Operand): Tensor;
    pow(b: Operand): Tensor; maximum(b: Operand): Tensor; minimum(b: Operand): Tensor;
    eq(b: Operand): Tensor; ne(b: Operand): Tensor; lt(b: Operand): Tensor; le(b: Operand): Tensor;
    gt(b: Operand): Tensor; ge(b: Operand): Tensor;
    neg(): Tensor; abs(): Tensor; exp(): Tensor; log(): Tensor; sqrt(): Tensor; square(): Tensor;
    tanh(): Tensor; sigmoid(): Tensor; relu(): Tensor; gelu(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    sum(axes?: red.Axes, keepdim?: boolean): Tensor; mean(axes?: red.Axes, keepdim?: boolean): Tensor;
    max(axes?: red.Axes, keepdim?: boolean): Tensor; min(axes?: red.Axes, keepdim?: boolean): Tensor;
    argmax(axis?: number, keepdim?: boolean): Tensor;
    reshape(shape: readonly number[]): Tensor; permute(dims: readonly number[]): Tensor;
    transpose(a0?: number, a1?: number): Tensor; expand(shape: readonly number[]): Tensor;
    unsqueeze(axis: number): Tensor; squeeze(axis?: number): Tensor; flatten(): Tensor;
    slice(axis: number, start: number, end?: number, step?: number): Tensor;
    cast(dtype: DType): Tensor; clone(): Tensor;
    softmax(axis?: number): Tensor; logSoftmax(axis?: number): Tensor;
    matmul(b: Tensor, o?: nn.MatmulOptions): Tensor;
    backward(gradient?: Tensor, opts?: BackwardOptions): void;
    to(device: Device | DeviceKind): Promise<Tensor>;
  }
}

const methods: Record<string, (this: Tensor, ...args: never[]) => unknown> = {
  add(b: Operand) { return ew.add(this, b); },
  sub(b: Operand) { return ew.sub(this, b); },
  mul(b: Operand) { return ew.mul(this, b); },
  div(b: Operand) { return ew.div(this, b); },
  pow(b: Operand) { return ew.pow(this, b); },
  maximum(b: Operand) { return ew.maximum(this, b); },
  minimum(b: Operand) { return ew.minimum(this, b); },
  eq(b: Operand) { return ew.eq(this, b); },
  ne(b: Operand) { return ew.ne(this, b); },
  lt(b: Operand) { return ew.lt(this, b); },
  le(b: Operand) { return ew.le(this, b); },
  gt(b: Operand) { return ew.gt(this, b); },
  ge(b: Operand) { return ew.ge(this, b); },
  neg() { return ew.neg(this); },
  abs() { return ew.abs(this); },
  exp() { return ew.exp(this); },
  log() { return ew.log(this); },
  sqrt() { return ew.sqrt(this); },
  square() { return ew.square(this); },
  tanh() { return ew.tanh(this); },
  sigmoid() { return ew.sigmoid(this); },
  relu() { return ew.relu(this); },
  gelu() { return ew.gelu(this); },
  clamp(min?: number, max?: number) { return ew.clamp(this, min, max); },
  sum(axes?: red.Axes, keepdim?: boolean) { return red.sum(this, axes, keepdim); },
  mean(axes?: red.Axes, keepdim?: boolean) { return red.mean(this, axes, keepdim); },
  max(axes?: red.Axes, keepdim?: boolean) { return red.max(this, axes, keepdim); },
  min(axes?: red.Axes, keepdim?: boolean) { return red.min(this, axes, keepdim); },
  argmax(axis?: number, keepdim?: boolean) { return red.argmax(this, axis, keepdim); },
  reshape(shape: readonly number[]) { return sh.reshape(this, shape); },
  permute(dims: readonly number[]) { return sh.permute(this, dims); },
  transpose(a0?: number, a1?: number) { return sh.transpose(this, a0, a1); },
  expand(shape: readonly number[]) { return sh.expand(this, shape); },
  unsqueeze(axis: number) { return sh.unsqueeze(this, axis); },
  squeeze(axis?: number) { return sh.squeeze(this, axis); },
  flatten() { return sh.flatten(this); },
  slice(axis: number, start: number, end?: number, step?: number) { return sh.slice(this, axis, start, end, step); },
  cast(dtype: DType) { return sh.cast(this, dtype); },
  clone() { return sh.clone(this); },
  softmax(axis?: number) { return nn.softmax(this, axis); },
  logSoftmax(axis?: number) { return nn.logSoftmax(this, axis); },
  matmul(b: Tensor, o?: nn.MatmulOptions) { return nn.matmul(this, b, o); },
  backward(gradient?: Tensor, opts?: BackwardOptions) { return backward(this, gradient, opts); },
  to(device: Device | DeviceKind) { return sh.toDevice(this, device); },
};
for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
