/** Helpers every kernel family shares: uniform packing, 1-D grids, strided index math in WGSL. */
import type { DType } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';

export const MAX_RANK = 8;

/** Writes a uniform block field by field, honouring WGSL's 16-byte alignment of vec4 arrays. */
export class UniformWriter {
  private view = new DataView(new ArrayBuffer(256));
  private offset = 0;

  u32(...xs: number[]): this {
    for (const x of xs) { this.view.setUint32(this.offset, x >>> 0, true); this.offset += 4; }
    return this;
  }
  i32(...xs: number[]): this {
    for (const x of xs) { this.view.setInt32(this.offset, x, true); this.offset += 4; }
    return this;
  }
  f32(...xs: number[]): this {
    for (const x of xs) { this.view.setFloat32(this.offset, x, true); this.offset += 4; }
    return this;
  }
  /** An array<vec4<u32>, MAX_RANK/4> holding `xs` padded with zeros. */
  dims(xs: readonly number[]): this {
    this.align16();
    if (xs.length > MAX_RANK) throw new Error(`tensors of rank above ${MAX_RANK} are not supported`);
    for (let i = 0; i < MAX_RANK; i++) this.view.setUint32(this.offset + 4 * i, (xs[i] ?? 0) >>> 0, true);
    this.offset += 4 * MAX_RANK;
    return this;
  }
  align16(): this {
    this.offset = Math.ceil(this.offset / 16) * 16;
    return this;
  }
  build(): ArrayBuffer {
    return this.view.buffer.slice(0, Math.max(16, Math.ceil(this.offset / 16) * 16)) as ArrayBuffer;
  }
}

export const WG = 64;

/** Workgroup counts for one invocation per element, spilling into y past the per-dimension limit. */
export function grid1d(n: number, perGroup = WG): [number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** WGSL: the entry point every 1-D-grid kernel opens with (close the brace after the body). */
export const ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {`;

/** WGSL: `let i = flatIndex(...)` for grids made by grid1d. */
export const FLAT_INDEX = /* wgsl */ `
fn flatIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, perGroup: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * perGroup + lid;
}`;

/** WGSL: read dimension i of a `dims` field. */
export const DIM_AT = /* wgsl */ `
fn dimAt(v: array<vec4<u32>, ${MAX_RANK / 4}>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }`;

export function wgslType(dtype: DType): 'f32' | 'i32' {
  if (dtype === 'f64') throw new Error("dtype 'f64' exists only on the cpu device");
  return dtype;
}

/** Row-major strided offset of flat index `i` of `shape` under `strides` (CPU references). */
export function stridedOffset(i: number, shape: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    const c = i % shape[d];
    i = Math.floor(i / shape[d]);
    off += c * strides[d];
  }
  return off;
}

/**
 * Consecutive elements (or vec4s) one invocation of a memory-bound kernel handles (copies, fills,
 * elementwise ops). On lavapipe an invocation's fixed cost, and for strided indexing its integer
 * division (no AVX2 instruction: it runs lane by lane), outweighs a vec4 move; 4 measured best
 * (docs/ENGINE.md, `bench/probe-small-kernels.ts`).
 */
export const RUN = 4;

/** 0, 1, …, n − 1: the unrolling index of generated WGSL. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Entry point of a `subgroup` variant kernel: one subgroup per workgroup, `lane` its invocation id and
 * `g` the workgroup's flat index (uniform across the subgroup, so it may steer control flow).
 */
export function subgroupEntry(S: number): string {
  return `@compute @workgroup_size(${S})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let g = wid.y * nwg.x + wid.x;`;
}

/**
 * The subgroup size to compile a kernel family's `subgroup` variant for, or 0 for its plain variant:
 * the subgroup variant is the default on software adapters (lavapipe), where loads are dear and
 * subgroupBroadcast is nearly free; the environment variable `env` (rows|subgroup) forces either.
 */
export function subgroupVariantSize(dev: GpuDevice, env: string, family: string): number {
  const forced = process.env[env];
  if (forced !== undefined && forced !== 'rows' && forced !== 'subgroup') throw new Error(`${env} must be rows or subgroup, got '${forced}'`);
  const rep = dev.backend.report;
  const S = dev.backend.hasSubgroups ? rep.subgroupSize ?? 0 : 0;
  if (forced === 'subgroup' && !S) throw new Error(`${family}: the subgroup variant needs the subgroups feature with a fixed subgroup size`);
  return (forced ?? (rep.isSoftware && S ? 'subgroup' : 'rows')) === 'subgroup' ? S : 0;
}

/**
 * Row kernels (softmax, layernorm) run one invocation per row on lavapipe, where a row's loop is cheap
 * and invocations are not, and one workgroup of ROW_GROUP threads per row on real GPUs, where a few
 * thousand serial row loops leave most of the chip idle (H100: softmax at 0.27× of a copy's bandwidth).
 * DNER_ROWS=invocation|workgroup forces one.
 */
export function rowsPerWorkgroup(dev: GpuDevice): boolean {
  const forced = process.env.DNER_ROWS;
  if (forced !== undefined && forced !== 'invocation' && forced !== 'workgroup') throw new Error(`DNER_ROWS must be invocation or workgroup, got '${forced}'`);
  return (forced ?? (dev.backend.report.isSoftware ? 'invocation' : 'workgroup')) === 'workgroup';
}

export const ROW_GROUP = 64;

/**
 * WGSL for the workgroup-per-row kernels: `row` is the workgroup's row (uniform, so the kernel may
 * return early before any barrier), and rowSum / rowMax combine one value per thread across the
 * workgroup through workgroup memory (call them from uniform control flow).
 */
export const ROW_GROUP_WGSL = /* wgsl */ `
var<workgroup> rowRed: array<f32, ${ROW_GROUP}>;
fn rowCombine(v: f32, lid: u32, isMax: bool) -> f32 {
  rowRed[lid] = v;
  workgroupBarrier();
  for (var half = ${ROW_GROUP / 2}u; half > 0u; half /= 2u) {
    if (lid < half) { rowRed[lid] = select(rowRed[lid] + rowRed[lid + half], max(rowRed[lid], rowRed[lid + half]), isMax); }
    workgroupBarrier();
  }
  let r = rowRed[0];
  workgroupBarrier();
  return r;
}
fn rowSum(v: f32, lid: u32) -> f32 { return rowCombine(v, lid, false); }
fn rowMax(v: f32, lid: u32) -> f32 { return rowCombine(v, lid, true); }`;

export const ROW_GROUP_ENTRY = `@compute @workgroup_size(${ROW_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;`;
