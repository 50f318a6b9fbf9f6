/**
 * Batched matmul with folded transposes and a fused epilogue:
 *   C[b] = act(op(A[b]) @ op(B[b]) + bias)
 *   A: [batch|1, M, K] (or [.., K, M] with transA), B: [batch|1, K, N] (or [.., N, K] with transB),
 *   bias: [N], C: [batch, M, N]; a batch stride of 0 broadcasts one operand.
 * Variants (chosen per adapter by `pickVariant`, any can be forced):
 *   naive    one invocation per output; the readable reference kernel.
 *   regblock register-blocked for CPU rasterisers (lavapipe): one subgroup per workgroup, about 32
 *            scalar accumulators per lane, loads contiguous across lanes, operands shared with subgroup
 *            operations instead of workgroup memory and barriers (both slow on lavapipe). Needs subgroups.
 *   tiled    shared-memory tiling for real GPUs: BM x BN tile per workgroup, double-buffered BK-deep slabs of A and
 *            B staged in workgroup memory, TM x TN outputs per thread.
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ENTRY, FLAT_INDEX, grid1d, range, UniformWriter, WG } from './common.js';
import { gelu } from './math.js';
import { WGSL_MATH } from './math.js';

export type Activation = 'none' | 'relu' | 'gelu';
export type MatmulVariant = 'naive' | 'regblock' | 'tiled';

export interface MatmulDims {
  batch: number; M: number; N: number; K: number;
  transA: boolean; transB: boolean;
  /** Elements between consecutive batches of A and B (0 = broadcast). */
  aStride: number; bStride: number;
  act: Activation;
}

// y0, z0: the first row tile and batch of this dispatch, when a product needs more workgroups along y or z
// than one dispatch may have (launchMatmul splits it).
const PARAMS = /* wgsl */ `struct Params { M: u32, N: u32, K: u32, aStride: u32, bStride: u32, y0: u32, z0: u32 }`;

function epilogue(bias: boolean, act: Activation): string {
  const a = act === 'relu' ? 'max(r, 0.0)' : act === 'gelu' ? 'gelu_f32(r)' : 'r';
  return `fn epi(v: f32, n: u32) -> f32 { let r = v${bias ? ' + BIAS[n]' : ''}; return ${a}; }`;
}

function bindings(aType: string, bType: string, cType: string, bias: boolean): string {
  let i = 0;
  const lines = [
    `@group(0) @binding(${i++}) var<storage, read> A: array<${aType}>;`,
    `@group(0) @binding(${i++}) var<storage, read> B: array<${bType}>;`,
  ];
  if (bias) lines.push(`@group(0) @binding(${i++}) var<storage, read> BIAS: array<f32>;`);
  lines.push(`@group(0) @binding(${i++}) var<storage, read_write> C: array<${cType}>;`);
  lines.push(`@group(0) @binding(${i++}) var<uniform> u: Params;`);
  return lines.join('\n');
}

/** Guarded scalar element loads of the naive kernel. */
function scalarLoads(d: MatmulDims): string {
  return `
fn ldA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= u.M || k >= u.K) { return 0.0; }
  return A[base + ${d.transA ? 'k * u.M + m' : 'm * u.K + k'}];
}
fn ldB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return B[base + ${d.transB ? 'n * u.K + k' : 'k * u.N + n'}];
}`;
}

function naiveSource(d: MatmulDims, bias: boolean): string {
  return `${WGSL_MATH}${PARAMS}${FLAT_INDEX}
${bindings('f32', 'f32', 'f32', bias)}
${scalarLoads(d)}
${epilogue(bias, d.act)}
${ENTRY}
  let i = flatIndex(wid, nwg, lid, ${WG}u);
  if (i >= u.M * u.N) { return; }
  let b = wid.z + u.z0;
  let m = i / u.N; let n = i % u.N;
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) { acc = fma(ldA(b * u.aStride, m, k), ldB(b * u.bStride, k, n), acc); }
  C[b * u.M * u.N + i] = epi(acc, n);
}`;
}

/** Scalar loads of an operand whose vec4 view would be misaligned: zero outside the matrix. */
function guardedLoads(d: MatmulDims, al: OperandAlignment): string {
  return `${al.a ? '' : `
fn ldA(m: u32, k: u32) -> f32 {
  return select(0.0, A[aBase + ${d.transA ? 'min(k, u.K - 1u) * u.M + min(m, u.M - 1u)' : 'min(m, u.M - 1u) * u.K + min(k, u.K - 1u)'}], m < u.M && k < u.K);
}`}${al.b ? '' : `
fn ldB(k: u32, n: u32) -> f32 {
  return select(0.0, B[bBase + ${d.transB ? 'min(n, u.N - 1u) * u.K + min(k, u.K - 1u)' : 'min(k, u.K - 1u) * u.N + min(n, u.N - 1u)'}], n < u.N && k < u.K);
}`}`;
}

/** store(m, n, v): columns n .. n + 3 of row m through the epilogue, skipping what lies outside C. */
function storeFunction(vec4: boolean): string {
  // N % 4 == 0: four columns are all inside or all outside, and one vec4 store writes them.
  return wgsl`
#if ${vec4}
fn store(m: u32, n: u32, v: vec4<f32>) {
  if (m >= u.M || n >= u.N) { return; }
  C[(cBase + m * u.N + n) / 4u] = vec4<f32>(epi(v.x, n), epi(v.y, n + 1u), epi(v.z, n + 2u), epi(v.w, n + 3u));
}
#else
fn store(m: u32, n: u32, v: vec4<f32>) {
  if (m >= u.M) { return; }
  let o = cBase + m * u.N + n;
  for (var e = 0u; e < 4u; e++) { if (n + e < u.N) { C[o + e] = epi(v[e], n + e); } }
}
#endif`;
}

export interface TiledConfig { BM: number; BN: number; BK: number; TM: number; TN: number }

/**
 * Shared-memory tiling for real GPUs. A workgroup computes a BM x BN tile of C with (BM / TM) x (BN / TN)
 * threads. Slabs of A (BK x BM) and B (BK x BN) are staged k-major in workgroup memory as vec4 and
 * double-buffered: the next slab's global loads are issued before the current slab's FMAs, and one
 * barrier per slab suffices. A thread's TM rows are TM / 4 runs of 4 consecutive rows spaced BM / (TM / 4)
 * apart (likewise its columns), so its reads of a slab are whole vec4s and the threads of a warp read
 * consecutive vec4s (no bank conflicts). Each operand is read from global memory as vec4 along its
 * contiguous axis when that axis (and the batch stride) is a multiple of 4, else as guarded scalars.
 */
function tiledSource(d: MatmulDims, bias: boolean, c: TiledConfig): string {
  const { BM, BN, BK, TM, TN } = c;
  if (TM % 4 || TN % 4 || BK % 4) throw new Error(`tiled matmul: TM, TN and BK must be multiples of 4 (got ${TM}, ${TN}, ${BK})`);
  const colThreads = BN / TN, threads = (BM / TM) * colThreads;
  const RG = TM / 4, CG = TN / 4; // runs of 4 rows and 4 columns per thread
  const al = operandAlignment(d);
  const aLoads = (BM * BK) / (al.a ? 4 : 1) / threads, bLoads = (BN * BK) / (al.b ? 4 : 1) / threads;
  if (!Number.isInteger(aLoads) || !Number.isInteger(bLoads)) throw new Error(`tiled matmul: the ${BM}x${BK} and ${BK}x${BN} slabs do not divide among ${threads} threads`);
  const slabA = (BK * BM) / 4, slabB = (BK * BN) / 4; // vec4s per slab
  // Element i of this thread's share of a slab is number lid + i * threads; fetch reads it from global
  // memory into a register, stash writes the register into the slab buffer bufA / bufB.
  const fetch: string[] = [], stash: string[] = [];
  const operand = (X: 'A' | 'B', loads: number, vec: boolean, alongK: boolean, span: number, outer: string, base: string, lim: string) => {
    const r = X === 'A' ? 'ra' : 'rb', S = `${X}s`, buf = `buf${X}`, o = X === 'A' ? 'mm' : 'nn';
    for (let i = 0; i < loads; i++) {
      const e = `(lid + ${i * threads}u)`;
      if (vec && alongK) { // 4 consecutive k of one row (A) or column (B); the slab holds them in 4 rows
        const split = `let kq = ${e} % ${BK / 4}u; let ${o} = ${e} / ${BK / 4}u;`;
        fetch.push(`{ ${split} ${r}${i} = select(vec4<f32>(0.0), ${X}4[(${base} + min(${outer} + ${o}, ${lim} - 1u) * u.K + min(k0 + 4u * kq, u.K - 4u)) / 4u], ${outer} + ${o} < ${lim} && k0 + 4u * kq < u.K); }`);
        stash.push(`{ ${split} ${range(4).map((q) => `${S}[${buf} + ((4u * kq + ${q}u) * ${span}u + ${o}) / 4u][${o} % 4u] = ${r}${i}[${q}];`).join(' ')} }`);
      } else if (vec) { // 4 consecutive rows (A transposed) or columns (B): one vec4 of the slab
        const split = `let q4 = ${e} % ${span / 4}u; let kk = ${e} / ${span / 4}u;`;
        fetch.push(`{ ${split} ${r}${i} = select(vec4<f32>(0.0), ${X}4[(${base} + min(k0 + kk, u.K - 1u) * ${lim} + min(${outer} + 4u * q4, ${lim} - 4u)) / 4u], ${outer} + 4u * q4 < ${lim} && k0 + kk < u.K); }`);
        stash.push(`{ ${split} ${S}[${buf} + kk * ${span / 4}u + q4] = ${r}${i}; }`);
      } else { // guarded scalars, consecutive threads along the contiguous axis
        const split = alongK ? `let kk = ${e} % ${BK}u; let ${o} = ${e} / ${BK}u;` : `let ${o} = ${e} % ${span}u; let kk = ${e} / ${span}u;`;
        fetch.push(`{ ${split} ${r}${i} = ${X === 'A' ? `ldA(${outer} + ${o}, k0 + kk)` : `ldB(k0 + kk, ${outer} + ${o})`}; }`);
        stash.push(`{ ${split} ${S}[${buf} + (kk * ${span}u + ${o}) / 4u][${o} % 4u] = ${r}${i}; }`);
      }
    }
  };
  operand('A', aLoads, al.a, !d.transA, BM, 'm0', 'aBase', 'u.M');
  operand('B', bLoads, al.b, d.transB, BN, 'n0', 'bBase', 'u.N');
  const compute: string[] = [];
  for (let kk = 0; kk < BK; kk++) {
    compute.push(`{ ${range(RG).map((q) => `let a${q} = As[curA + ${(kk * BM) / 4 + (q * BM) / RG / 4}u + tr];`).join(' ')}`);
    compute.push(`  ${range(CG).map((p) => `let b${p} = Bs[curB + ${(kk * BN) / 4 + (p * BN) / CG / 4}u + tc];`).join(' ')}`);
    for (let q = 0; q < RG; q++) for (let e = 0; e < 4; e++) {
      compute.push(`  ${range(CG).map((p) => `c${q}_${e}_${p} = fma(vec4<f32>(a${q}[${e}]), b${p}, c${q}_${e}_${p});`).join(' ')}`);
    }
    compute.push('}');
  }
  const acc = range(RG).flatMap((q) => range(4).flatMap((e) => range(CG).map((p) => ({ q, e, p }))));
  return `${WGSL_MATH}${PARAMS}
@group(0) @binding(0) var<storage, read> ${al.a ? 'A4: array<vec4<f32>>' : 'A: array<f32>'};
@group(0) @binding(1) var<storage, read> ${al.b ? 'B4: array<vec4<f32>>' : 'B: array<f32>'};
${bias ? '@group(0) @binding(2) var<storage, read> BIAS: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> C: array<${al.c ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(${bias ? 4 : 3}) var<uniform> u: Params;
var<workgroup> As: array<vec4<f32>, ${2 * slabA}>;
var<workgroup> Bs: array<vec4<f32>, ${2 * slabB}>;
var<private> aBase: u32;
var<private> bBase: u32;
var<private> cBase: u32;
${range(aLoads).map((i) => `var<private> ra${i}: ${al.a ? 'vec4<f32>' : 'f32'};`).join('\n')}
${range(bLoads).map((i) => `var<private> rb${i}: ${al.b ? 'vec4<f32>' : 'f32'};`).join('\n')}
${guardedLoads(d, al)}
${epilogue(bias, d.act)}
${storeFunction(al.c)}
fn fetch(m0: u32, n0: u32, k0: u32, lid: u32) {
${fetch.map((l) => '  ' + l).join('\n')}
}
fn stash(parity: u32, lid: u32) {
  let bufA = parity * ${slabA}u; let bufB = parity * ${slabB}u;
${stash.map((l) => '  ' + l).join('\n')}
}
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let z = wid.z + u.z0;
  aBase = z * u.aStride;
  bBase = z * u.bStride;
  cBase = z * u.M * u.N;
  let m0 = (wid.y + u.y0) * ${BM}u; let n0 = wid.x * ${BN}u;
  let tr = lid / ${colThreads}u; let tc = lid % ${colThreads}u;
${acc.map(({ q, e, p }) => `  var c${q}_${e}_${p} = vec4<f32>(0.0);`).join('\n')}
  let slabs = (u.K + ${BK - 1}u) / ${BK}u;
  // K = 0 has no first slab to load (its clamped indices would underflow past the operands' ends).
  if (slabs > 0u) {
    fetch(m0, n0, 0u, lid);
    stash(0u, lid);
  }
  workgroupBarrier();
  for (var s = 0u; s < slabs; s++) {
    let more = s + 1u < slabs;
    if (more) { fetch(m0, n0, (s + 1u) * ${BK}u, lid); }
    let curA = (s % 2u) * ${slabA}u; let curB = (s % 2u) * ${slabB}u;
${compute.map((l) => '    ' + l).join('\n')}
    if (more) { stash((s + 1u) % 2u, lid); }
    workgroupBarrier();
  }
${acc.map(({ q, e, p }) => `  store(m0 + ${(q * BM) / RG}u + 4u * tr + ${e}u, n0 + ${(p * BN) / CG}u + 4u * tc, c${q}_${e}_${p});`).join('\n')}
}`;
}

export interface RegblockConfig {
  /** Subgroup size the shader is compiled for (8 on lavapipe with 256-bit vectors). */
  S: number;
  /** Rows of C per lane; each lane loads TM / S of them and shares them by subgroupBroadcast. */
  TM: number;
  /** vec4 column blocks of C per lane. */
  TNV: number;
  /** Depth of K per loop iteration: 4 or 8 (aligned shapes need K % KS == 0 for the vec4 path). */
  KS: number;
}

/**
 * On lavapipe a storage load costs about as much as 5 vec4 FMAs whatever its width, so the kernel
 * maximises FMAs per load: vec4 loads only, and every value of A loaded once per subgroup then shared
 * with subgroupBroadcast (nearly free). Lane l of a subgroup owns columns n0 + 4 (l + S j) .. +3 for
 * j < TNV and all TM rows of the tile; per 4-deep slice of K it loads TM / S vec4 of A and 4 TNV vec4
 * of B and does 4 TM TNV vec4 FMAs. Transposed operands are read as vec4 along whichever axis is
 * contiguous. An operand whose vec4 view would be misaligned uses guarded scalar loads instead (slower,
 * same schedule).
 */
export interface OperandAlignment {
  /** A, B read as vec4 (along K when not transposed, along M or N when transposed); C written as vec4. */
  a: boolean; b: boolean; c: boolean;
  /** K is a multiple of the slice depth: no slice reads past K. */
  k: boolean;
}

/**
 * Each operand takes vec4 loads when its contiguous axis and batch stride allow, independently of the
 * others (an embedding of 50 filters still reads A as vec4 when K is a multiple of 4). A vec4 along M
 * or N in a slice that runs past K is zeroed, as the guarded scalar loads are.
 */
export function operandAlignment(d: MatmulDims, ks = 4): OperandAlignment {
  const k = d.K % ks === 0;
  return {
    k,
    a: d.aStride % 4 === 0 && (d.transA ? d.M % 4 === 0 : k && d.K % 4 === 0),
    b: d.bStride % 4 === 0 && (d.transB ? k && d.K % 4 === 0 : d.N % 4 === 0),
    c: d.N % 4 === 0,
  };
}

const alignmentKey = (al: OperandAlignment) => `${+al.a}${+al.b}${+al.c}${+al.k}`;

function regblockTile(c: RegblockConfig): { tm: number; tn: number } {
  return { tm: c.TM, tn: 4 * c.S * c.TNV };
}

function regblockSource(d: MatmulDims, bias: boolean, c: RegblockConfig): string {
  const { S, TM, TNV } = c;
  const al = operandAlignment(d, c.KS);
  // A vec4 along M or N at k ≥ K (only when K is not a multiple of the slice depth) must read as zero.
  const inK = (k: string) => (al.k ? (v: string) => v : (v: string) => `select(vec4<f32>(0.0), ${v}, ${k} < u.K)`);
  // Rows of A this lane loads: 4 at a time as one vec4 along M when A is transposed.
  const rpl = Math.max(d.transA ? 4 : 1, TM / S);
  if (TM % rpl !== 0 || TM / rpl > S) throw new Error(`regblock: TM=${TM} does not fit S=${S}`);
  const lines: string[] = [];
  const L = (line: string) => lines.push(line);
  const slices = c.KS / 4;
  for (let sl = 0; sl < slices; sl++) {
    const k = `(k + ${4 * sl}u)`;
    // A fragment for this lane: value (row rowBase + i, k + kk).
    if (!d.transA) {
      for (let i = 0; i < rpl; i++) {
        L(al.a
          ? `let a${sl}_${i} = A4[(aBase + min(rowBase + ${i}u, u.M - 1u) * u.K + min(${k}, u.K - 4u)) / 4u];`
          : `let a${sl}_${i} = vec4<f32>(ldA(rowBase + ${i}u, ${k}), ldA(rowBase + ${i}u, ${k} + 1u), ldA(rowBase + ${i}u, ${k} + 2u), ldA(rowBase + ${i}u, ${k} + 3u));`);
      }
    } else {
      for (let q = 0; q < rpl / 4; q++) {
        for (let kk = 0; kk < 4; kk++) {
          L(al.a
            ? `let at${sl}_${q}_${kk} = ${inK(`${k} + ${kk}u`)(`A4[(aBase + min(${k} + ${kk}u, u.K - 1u) * u.M + min(rowBase + ${4 * q}u, u.M - 4u)) / 4u]`)};`
            : `let at${sl}_${q}_${kk} = vec4<f32>(${[0, 1, 2, 3].map((j) => `ldA(rowBase + ${4 * q + j}u, ${k} + ${kk}u)`).join(', ')});`);
        }
      }
    }
    for (let j = 0; j < TNV; j++) {
      const n = `n${j}`;
      if (!d.transB) {
        for (let kk = 0; kk < 4; kk++) {
          L(al.b
            ? `let b${sl}_${j}_${kk} = ${inK(`${k} + ${kk}u`)(`B4[(bBase + min(${k} + ${kk}u, u.K - 1u) * u.N + min(${n}, u.N - 4u)) / 4u]`)};`
            : `let b${sl}_${j}_${kk} = vec4<f32>(${[0, 1, 2, 3].map((e) => `ldB(${k} + ${kk}u, ${n} + ${e}u)`).join(', ')});`);
        }
      } else {
        for (let e = 0; e < 4; e++) {
          L(al.b
            ? `let bt${sl}_${j}_${e} = B4[(bBase + min(${n} + ${e}u, u.N - 1u) * u.K + min(${k}, u.K - 4u)) / 4u];`
            : `let bt${sl}_${j}_${e} = vec4<f32>(${[0, 1, 2, 3].map((kk) => `ldB(${k} + ${kk}u, ${n} + ${e}u)`).join(', ')});`);
        }
        for (let kk = 0; kk < 4; kk++) L(`let b${sl}_${j}_${kk} = vec4<f32>(bt${sl}_${j}_0[${kk}], bt${sl}_${j}_1[${kk}], bt${sl}_${j}_2[${kk}], bt${sl}_${j}_3[${kk}]);`);
      }
    }
  }
  const aElem = (sl: number, i: number, kk: number) => (d.transA ? `at${sl}_${Math.floor(i / 4)}_${kk}[${i % 4}]` : `a${sl}_${i}[${kk}]`);
  // Row-major over the accumulators: each one is touched once per iteration, for all KS values of k, so
  // when the compiler must spill accumulators it moves each once per iteration rather than once per FMA.
  for (let r = 0; r < TM; r++) {
    for (let sl = 0; sl < slices; sl++) {
      for (let kk = 0; kk < 4; kk++) {
        L(`{ let av = vec4<f32>(subgroupBroadcast(${aElem(sl, r % rpl, kk)}, ${Math.floor(r / rpl)}u));`);
        for (let j = 0; j < TNV; j++) L(`  c${r}_${j} = fma(av, b${sl}_${j}_${kk}, c${r}_${j});`);
        L('}');
      }
    }
  }
  const stores: string[] = [];
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < TNV; j++) {
      stores.push(`store(m0 + ${r}u, n${j}, c${r}_${j});`);
    }
  }
  const vecBindings = `@group(0) @binding(0) var<storage, read> ${al.a ? 'A4: array<vec4<f32>>' : 'A: array<f32>'};
@group(0) @binding(1) var<storage, read> ${al.b ? 'B4: array<vec4<f32>>' : 'B: array<f32>'};`;
  return `enable subgroups;
${WGSL_MATH}${PARAMS}
${vecBindings}
${bias ? '@group(0) @binding(2) var<storage, read> BIAS: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> C: array<${al.c ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(${bias ? 4 : 3}) var<uniform> u: Params;
var<private> aBase: u32;
var<private> bBase: u32;
var<private> cBase: u32;
${guardedLoads(d, al)}
${epilogue(bias, d.act)}
${storeFunction(al.c)}
@compute @workgroup_size(${S})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let z = wid.z + u.z0;
  aBase = z * u.aStride;
  bBase = z * u.bStride;
  cBase = z * u.M * u.N;
  let m0 = (wid.y + u.y0) * ${TM}u;
  let rowBase = m0 + lane * ${rpl}u;
${Array.from({ length: TNV }, (_, j) => `  let n${j} = wid.x * ${4 * S * TNV}u + ${4 * S * j}u + lane * 4u;`).join('\n')}
${Array.from({ length: TM }, (_, r) => Array.from({ length: TNV }, (_, j) => `  var c${r}_${j} = vec4<f32>(0.0);`).join('')).join('\n')}
  for (var k = 0u; k < u.K; k += ${c.KS}u) {
${lines.map((l) => '    ' + l).join('\n')}
  }
${stores.map((l) => '  ' + l).join('\n')}
}`;
}

export interface MatmulPlan {
  variant: MatmulVariant;
  regblock?: RegblockConfig;
  tiled?: TiledConfig;
}

/**
 * The largest tile that still gives enough workgroups to occupy a large GPU (132 SMs on an H100): small
 * DiffusionNER products (960 x 256 outputs) would leave most SMs idle with 64 x 64 tiles. Measured on an
 * H100 (bench/tune-matmul.ts, docs/ENGINE.md): 128 x 128 gives 35 TFLOP/s at 4096³ but 14 at 1024³,
 * where 64 x 64 gives 27; 32 x 64 gives 18 at 128 x 768 · 768 x 3072 against 13 for 32 x 32.
 */
export function pickTile(d: MatmulDims): TiledConfig {
  const tiles = (bm: number, bn: number) => Math.ceil(d.M / bm) * Math.ceil(d.N / bn) * d.batch;
  if (tiles(128, 128) >= 264) return { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 };
  if (tiles(64, 64) >= 132) return { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 };
  if (tiles(32, 64) >= 96) return { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 };
  return { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 };
}

export function pickVariant(dev: GpuDevice, d: MatmulDims): MatmulPlan {
  const forced = process.env.DNER_MATMUL as MatmulVariant | undefined;
  const rep = dev.backend.report;
  const variant: MatmulVariant = forced ?? (rep.isSoftware ? 'regblock' : 'tiled');
  if (variant === 'regblock') {
    const S = dev.backend.hasSubgroups && rep.subgroupSize ? rep.subgroupSize : 0;
    if (S) return { variant, regblock: { S, TM: 4 * S, TNV: 1, KS: 4 } };
    if (!forced) return { variant: 'tiled', tiled: pickTile(d) };
    throw new Error('matmul: the regblock variant needs the subgroups feature with a fixed subgroup size');
  }
  if (variant === 'tiled') return { variant, tiled: pickTile(d) };
  return { variant };
}

/**
 * Whether the kernel this product runs on applies the activation in its epilogue. Not lavapipe's
 * regblock kernel: each (bias, activation) epilogue is a pipeline of its own, fully unrolled, which
 * takes lavapipe 3–4 s to compile (a cold `npm start` compiled bias+relu and bias+gelu beside plain
 * bias), while the elementwise pass that replaces it cost no measurable speed (docs/RESULTS.md). The values are
 * the same bit for bit: the pass applies the same WGSL function to the same f32 pre-activation.
 */
export function fusesActivation(dev: GpuDevice, d: MatmulDims): boolean {
  return pickVariant(dev, d).variant !== 'regblock';
}

export function launchMatmul(dev: GpuDevice, a: Tensor, b: Tensor, bias: Tensor | null, out: Tensor, d: MatmulDims, plan = pickVariant(dev, d)): void {
  const hasBias = bias !== null;
  const flags = `${d.transA ? 'tA' : ''}${d.transB ? 'tB' : ''}:${hasBias ? 'bias' : ''}:${d.act}`;
  let key: string, code: () => string, groups: [number, number, number];
  if (plan.variant === 'regblock') {
    const c = plan.regblock!;
    const { tm, tn } = regblockTile(c);
    key = `matmul:regblock:${c.S}:${c.TM}:${c.TNV}:${c.KS}:${alignmentKey(operandAlignment(d, c.KS))}:${flags}`;
    code = () => regblockSource(d, hasBias, c);
    groups = [Math.ceil(d.N / tn), Math.ceil(d.M / tm), d.batch];
  } else if (plan.variant === 'tiled') {
    const c = plan.tiled!;
    key = `matmul:tiled:${c.BM}:${c.BN}:${c.BK}:${c.TM}:${c.TN}:${alignmentKey(operandAlignment(d))}:${flags}`;
    code = () => tiledSource(d, hasBias, c);
    groups = [Math.ceil(d.N / c.BN), Math.ceil(d.M / c.BM), d.batch];
  } else {
    key = `matmul:naive:${flags}`;
    code = () => naiveSource(d, hasBias);
    const [x, y] = grid1d(d.M * d.N);
    if (y > 1) throw new Error(`naive matmul: ${d.M}x${d.N} outputs per batch is too many for one dispatch row`);
    groups = [x, 1, d.batch];
  }
  const buffers = [a.buffer, b.buffer, ...(bias ? [bias.buffer] : []), out.buffer];
  const detail = `${d.batch > 1 ? `${d.batch}×` : ''}${d.M}×${d.N}×${d.K}${d.transA ? ' tA' : ''}${d.transB ? ' tB' : ''}`;
  // More row tiles or batches than one dispatch may have (65,535 on most adapters): several dispatches,
  // each told its first row tile and batch.
  const max = dev.backend.report.limits.maxComputeWorkgroupsPerDimension;
  if (groups[0] > max) throw new Error(`matmul ${detail}: ${groups[0]} column tiles exceed the ${max} workgroups a dispatch may have along x`);
  for (let z0 = 0; z0 < groups[2]; z0 += max) {
    for (let y0 = 0; y0 < groups[1]; y0 += max) {
      const uni = new UniformWriter().u32(d.M, d.N, d.K, d.aStride, d.bStride, y0, z0).build();
      dev.backend.dispatch({ key, name: `matmul_${plan.variant}`, detail, code }, buffers, uni, [groups[0], Math.min(max, groups[1] - y0), Math.min(max, groups[2] - z0)]);
    }
  }
}

/** Plain reference, m-k-n loop order; accumulates in the output array's precision (f64 on the f64 cpu device). */
export function cpuMatmul(a: TypedArray, b: TypedArray, bias: TypedArray | null, out: TypedArray, d: MatmulDims): void {
  const { M, N, K } = d;
  const row = new Float64Array(N);
  for (let bt = 0; bt < d.batch; bt++) {
    const ab = bt * d.aStride, bb = bt * d.bStride, cb = bt * M * N;
    for (let m = 0; m < M; m++) {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const av = a[ab + (d.transA ? k * M + m : m * K + k)];
        if (d.transB) for (let n = 0; n < N; n++) row[n] += av * b[bb + n * K + k];
        else { const o = bb + k * N; for (let n = 0; n < N; n++) row[n] += av * b[o + n]; }
      }
      for (let n = 0; n < N; n++) {
        let r = row[n] + (bias ? bias[n] : 0);
        if (d.act === 'relu') r = Math.max(r, 0);
        else if (d.act === 'gelu') r = gelu(r);
        out[cb + m * N + n] = r;
      }
    }
  }
}
