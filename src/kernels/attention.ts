/**
 * Fused multi-head attention, forward and backward, never materialising the (B, heads, Lq, Lk) scores.
 *   q (B, Lq, E), k and v (B, Lk, E) with E = heads * dh (head h is columns h*dh .. h*dh + dh - 1),
 *   keyMask (B, Lk): 1 keeps a key, 0 hides it (padding)
 *   forward:  o (B, Lq, E) = softmax(q kᵀ · scale + mask) ⊙ dropout · v, per head; lse (B, heads, Lq)
 *   backward: D_i = dO_i · O_i;  P_ij = exp(s_ij − lse_i);  dP_ij = Z_ij (dO_i · v_j);  dS = P (dP − D)
 *             dq_i = scale Σ_j dS_ij k_j;  dk_j = scale Σ_i dS_ij q_i;  dv_j = Σ_i Z_ij P_ij dO_i
 * One invocation owns R query rows (forward with an online softmax, and dq) or R key rows (dk, dv),
 * with the head's vectors in vec4 registers. Two variants, chosen per adapter (attentionVariant):
 *   rows      each invocation loads every key (or query) row it visits itself (real GPUs, where loads
 *             are cheap and caches serve the neighbours);
 *   subgroup  for lavapipe: the S lanes of a subgroup share (b, h) and walk the keys (or queries) S at a
 *             time, each lane loading one row and handing it to the others with subgroupBroadcast, so a
 *             row costs 1/S of a load per lane (loads are dear there; docs/ENGINE.md). Masks become
 *             selects instead of branches to keep the subgroup operations in uniform control flow.
 * The dropout mask Z (0 or 1/(1−p)) is a hash of (seed, b, h, i, j), recomputed in the backward pass and
 * by the CPU reference, so nothing is stored.
 * A query whose keys are all hidden gets o = 0 (torch would give NaN).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { keepThreshold, mix32, WGSL_HASH } from './dropout.js';
import { ENTRY, FLAT_INDEX, grid1d, range, subgroupEntry, subgroupVariantSize, UniformWriter, WG } from './common.js';

export interface AttentionDims {
  B: number; heads: number; Lq: number; Lk: number; dh: number;
  scale: number;
  /** Attention-probability dropout; 0 disables it. */
  dropout: number;
  seed: number;
}

const NEG = -3.0e38;

/** Z_ij: 0 or 1/(1−p), from the hash of (seed, b, h, i, j). */
export function dropoutFactor(d: AttentionDims, b: number, h: number, i: number, j: number): number {
  if (d.dropout <= 0) return 1;
  const idx = ((((b * d.heads + h) * d.Lq + i) >>> 0) * d.Lk + j) >>> 0;
  return mix32((d.seed ^ mix32(idx)) >>> 0) >= keepThreshold(d.dropout) ? 1 / (1 - d.dropout) : 0;
}

const HEADER = /* wgsl */ `${WGSL_HASH}
struct Params { B: u32, H: u32, Lq: u32, Lk: u32, E: u32, scale: f32, dropP: f32, seed: u32, thresh: u32, hasMask: u32 }
${FLAT_INDEX}
fn zfac(b: u32, h: u32, i: u32, j: u32) -> f32 {
  if (u.dropP <= 0.0) { return 1.0; }
  let idx = ((b * u.H + h) * u.Lq + i) * u.Lk + j;
  return select(0.0, 1.0 / (1.0 - u.dropP), mix32(u.seed ^ mix32(idx)) >= u.thresh);
}
fn keyOn(b: u32, j: u32) -> bool { return u.hasMask == 0u || MASK[b * u.Lk + j] != 0.0; }`;

/** Bindings of the forward kernel, shared by both variants. */
const FORWARD_BINDINGS = /* wgsl */ `@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> MASK: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> LSE: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;`;

/** Bindings of the inputs of both backward kernels, shared by both variants. */
const BACKWARD_INPUT_BINDINGS = /* wgsl */ `@group(0) @binding(0) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> K: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> MASK: array<f32>;
@group(0) @binding(4) var<storage, read> LSE: array<f32>;
@group(0) @binding(5) var<storage, read> DO: array<vec4<f32>>;`;

/** Bindings of the outputs of the dq kernel, shared by both variants. */
const DQ_OUTPUT_BINDINGS = /* wgsl */ `@group(0) @binding(6) var<storage, read> O: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> DQ: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> DELTA: array<f32>;
@group(0) @binding(9) var<uniform> u: Params;`;

/** Bindings of the outputs of the dk/dv kernel, shared by both variants. */
const DKDV_OUTPUT_BINDINGS = /* wgsl */ `@group(0) @binding(6) var<storage, read> DELTA: array<f32>;
@group(0) @binding(7) var<storage, read_write> DK: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> DV: array<vec4<f32>>;
@group(0) @binding(9) var<uniform> u: Params;`;

function uniforms(d: AttentionDims, hasMask: boolean): ArrayBuffer {
  return new UniformWriter().u32(d.B, d.heads, d.Lq, d.Lk, d.heads * d.dh).f32(d.scale, d.dropout)
    .u32(d.seed >>> 0, keepThreshold(d.dropout), hasMask ? 1 : 0).build();
}

/** WGSL lines loading one head row of a (B, L, E) vec4 tensor into registers `${name}0..`. */
function loadRow(name: string, buf: string, base: string, D4: number): string {
  return Array.from({ length: D4 }, (_, t) => `let ${name}${t} = ${buf}[${base} + ${t}u];`).join(' ');
}
function dotRows(a: string, b: string, D4: number): string {
  return Array.from({ length: D4 }, (_, t) => `dot(${a}${t}, ${b}${t})`).join(' + ');
}

/**
 * Rows per invocation: each invocation handles R query rows (forward, dq) or R key rows (dk, dv), so
 * every key (or query) row it loads serves R rows. On lavapipe loads dominate. Measured (B 8, L 32,
 * GPU time forward / backward): head size 32: R 1 3.0 / 9.8 ms, R 2 2.0 / 7.9, R 4 2.4 / 4.9;
 * head size 64: R 1 22 / 51 ms, R 2 7.3 / 18, R 4 9.3 / 25.
 */
export function rowsPerInvocation(dh: number): number {
  return dh <= 32 ? 4 : 2;
}

/** Forward: query rows iStart .. iStart + R − 1 (clamped) in registers, with their running max, sum and output. */
function forwardRows(R: number, D4: number): string {
  return range(R).map((r) => `  let i${r} = min(iStart + ${r}u, u.Lq - 1u);
  let qBase${r} = (b * u.Lq + i${r}) * E4 + h * ${D4}u;
  ${loadRow(`q${r}_`, 'Q', `qBase${r}`, D4)}
  var m${r} = ${NEG}; var l${r} = 0.0;
  ${range(D4).map((t) => `var acc${r}_${t} = vec4<f32>(0.0);`).join(' ')}`).join('\n');
}

/** Forward: the normalised outputs and log-sum-exps of the rows that exist. */
function forwardStores(R: number, D4: number): string {
  return range(R).map((r) => `  if (iStart + ${r}u < u.Lq) {
    let inv = select(0.0, 1.0 / l${r}, l${r} > 0.0);
    ${range(D4).map((t) => `O[qBase${r} + ${t}u] = acc${r}_${t} * inv;`).join(' ')}
    LSE[(b * u.H + h) * u.Lq + i${r}] = select(${NEG}, m${r} + log(l${r}), l${r} > 0.0);
  }`).join('\n');
}

/** dq: query rows with their output gradients, D = dO · O, log-sum-exps and dq accumulators. */
function queryGradRows(R: number, D4: number): string {
  return range(R).map((r) => `  let i${r} = min(iStart + ${r}u, u.Lq - 1u);
  let qBase${r} = (b * u.Lq + i${r}) * E4 + h * ${D4}u;
  ${loadRow(`q${r}_`, 'Q', `qBase${r}`, D4)}
  ${loadRow(`g${r}_`, 'DO', `qBase${r}`, D4)}
  let D${r} = ${range(D4).map((t) => `dot(g${r}_${t}, O[qBase${r} + ${t}u])`).join(' + ')};
  let lse${r} = LSE[(b * u.H + h) * u.Lq + i${r}];
  ${range(D4).map((t) => `var dq${r}_${t} = vec4<f32>(0.0);`).join(' ')}`).join('\n');
}

/** dq: the gradients and D of the rows that exist. */
function queryGradStores(R: number, D4: number): string {
  return range(R).map((r) => `  if (iStart + ${r}u < u.Lq) {
    ${range(D4).map((t) => `DQ[qBase${r} + ${t}u] = dq${r}_${t} * u.scale;`).join(' ')}
    DELTA[(b * u.H + h) * u.Lq + i${r}] = D${r};
  }`).join('\n');
}

/** dk, dv: key rows jStart .. jStart + R − 1 (clamped; `on` for real, visible keys) and their accumulators. */
function keyGradRows(R: number, D4: number): string {
  return range(R).map((r) => `  let j${r} = min(jStart + ${r}u, u.Lk - 1u);
  let on${r} = jStart + ${r}u < u.Lk && keyOn(b, j${r});
  let kBase${r} = (b * u.Lk + j${r}) * E4 + h * ${D4}u;
  ${loadRow(`k${r}_`, 'K', `kBase${r}`, D4)}
  ${loadRow(`v${r}_`, 'V', `kBase${r}`, D4)}
  ${range(D4).map((t) => `var dk${r}_${t} = vec4<f32>(0.0); var dv${r}_${t} = vec4<f32>(0.0);`).join(' ')}`).join('\n');
}

/** dk, dv: the gradients of the rows that exist. */
function keyGradStores(R: number, D4: number): string {
  return range(R).map((r) => `  if (jStart + ${r}u < u.Lk) {
    ${range(D4).map((t) => `DK[kBase${r} + ${t}u] = dk${r}_${t} * u.scale; DV[kBase${r} + ${t}u] = dv${r}_${t};`).join(' ')}
  }`).join('\n');
}

/**
 * Subgroup variant: workgroup g owns (b, h) and S · R consecutive rows of the `len` axis; this lane's
 * first row is `start`. The bounds check depends on g only, so the return is uniform.
 */
function subgroupRowBlock(len: 'Lq' | 'Lk', start: 'iStart' | 'jStart', S: number, R: number): string {
  const block = S * R;
  return `  let nb = (u.${len} + ${block - 1}u) / ${block}u;
  if (g >= u.B * u.H * nb) { return; }
  let ${start} = (g % nb) * ${block}u + lane * ${R}u; let h = (g / nb) % u.H; let b = g / (nb * u.H);
  let E4 = u.E / 4u;`;
}

/** Subgroup variant, walking keys S at a time from j0: this lane loads key j0 + lane (k, v, visibility). */
function ownKeyRow(D4: number): string {
  return `    let jOwn = min(j0 + lane, u.Lk - 1u);
    let onOwn = select(0.0, 1.0, j0 + lane < u.Lk && keyOn(b, jOwn));
    let kBase = (b * u.Lk + jOwn) * E4 + h * ${D4}u;
    ${loadRow('kOwn', 'K', 'kBase', D4)}
    ${loadRow('vOwn', 'V', 'kBase', D4)}`;
}

export type AttentionVariant = { kind: 'rows'; R: number } | { kind: 'subgroup'; S: number; R: number };

/**
 * `subgroup` on software adapters with a fixed subgroup size, else `rows`; DNER_ATTENTION=rows|subgroup
 * forces one, rows:R also the rows per invocation. The subgroup variant's rows per lane differ by pass
 * (bench/probe-attention.ts, docs/NN.md): the forward keeps 4 query rows per lane, the backward, which
 * holds three row vectors per row (q, dO, dq or k, v, dk, dv), one. The rows variant takes several rows
 * on software adapters, where loads dominate, and one on real GPUs, where B·heads·Lq invocations are
 * too few to fill the chip already (a decoder layer's 16 × 8 × 60 queries are 120 workgroups of 64).
 */
export function attentionVariant(dev: GpuDevice, pass: 'forward' | 'backward', dh: number): AttentionVariant {
  const forced = process.env.DNER_ATTENTION;
  const forcedR = /^rows:(\d+)$/.exec(forced ?? '');
  if (forcedR) {
    const R = Number(forcedR[1]);
    if (R < 1 || R > 8) throw new Error(`DNER_ATTENTION=rows:R needs R from 1 to 8, got ${R}`);
    return { kind: 'rows', R };
  }
  if (forced !== undefined && forced !== 'rows' && forced !== 'subgroup') throw new Error(`DNER_ATTENTION must be rows, rows:R or subgroup, got '${forced}'`);
  const S = subgroupVariantSize(dev, 'DNER_ATTENTION', 'attention');
  if (S) return { kind: 'subgroup', S, R: pass === 'forward' ? 4 : 1 };
  return { kind: 'rows', R: dev.backend.report.isSoftware ? rowsPerInvocation(dh) : 1 };
}

/**
 * WGSL lines accumulating, for each of the S rows the lanes hold in `${own}0..` (row jj lives in lane jj)
 * and each of this lane's R rows `${mine}r_0..`, the dot product into scalars `${acc}r_jj`. The head's
 * vec4 slices are the outer loop, so each slice of this lane's rows is read once per block of S rows
 * instead of once per row: AVX2 has 16 registers and the rows live on the stack (docs/NN.md).
 */
function blockDots(acc: string, mine: string, own: string, S: number, R: number, D4: number): string {
  const lines = [`${range(R).map((r) => range(S).map((jj) => `var ${acc}${r}_${jj} = 0.0;`).join(' ')).join(' ')}`];
  for (let t = 0; t < D4; t++) {
    for (let jj = 0; jj < S; jj++) {
      lines.push(`{ let o = subgroupBroadcast(${own}${t}, ${jj}u); ${range(R).map((r) => `${acc}${r}_${jj} += dot(${mine}${r}_${t}, o);`).join(' ')} }`);
    }
  }
  return lines.join('\n    ');
}

/**
 * WGSL lines adding Σ_jj w_r_jj · (row jj's slice t) to this lane's accumulators `${accum}r_t`, slices
 * outermost, so each accumulator slice is read and written once per block of S rows.
 */
function blockUpdate(terms: { accum: string; weight: string; own: string }[], S: number, R: number, D4: number): string {
  const lines: string[] = [];
  for (let t = 0; t < D4; t++) {
    for (let jj = 0; jj < S; jj++) {
      lines.push(`{ ${terms.map(({ accum, weight, own }, n) => `let o${n} = subgroupBroadcast(${own}${t}, ${jj}u); ${range(R).map((r) => `${accum}${r}_${t} += ${weight}${r}_${jj} * o${n};`).join(' ')}`).join(' ')} }`);
    }
  }
  return lines.join('\n    ');
}

function launchAttentionSubgroup(dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, o: Tensor, lse: Tensor, d: AttentionDims, S: number, R: number): void {
  const D4 = d.dh / 4, block = S * R;
  const spec = {
    key: `attention_fwd_sg:${d.dh}:${S}:${R}`,
    name: 'attention_forward',
    code: () => `enable subgroups;
${HEADER}
${FORWARD_BINDINGS}
${subgroupEntry(S)}
${subgroupRowBlock('Lq', 'iStart', S, R)}
${forwardRows(R, D4)}
  for (var j0 = 0u; j0 < u.Lk; j0 += ${S}u) {
${ownKeyRow(D4)}
    ${blockDots('s', 'q', 'kOwn', S, R, D4)}
    // One rescale of the running sums per block of S keys, not one per key.
${range(S).map((jj) => `    let on${jj} = subgroupBroadcast(onOwn, ${jj}u) > 0.5;`).join('\n')}
${range(R).map((r) => `    let mNew${r} = ${range(S).map((jj) => `select(${NEG}, s${r}_${jj} * u.scale, on${jj})`).reduce((a, b) => `max(${a}, ${b})`, `m${r}`)};
    let corr${r} = exp(m${r} - mNew${r});
    l${r} = l${r} * corr${r};
    ${range(D4).map((t) => `acc${r}_${t} = acc${r}_${t} * corr${r};`).join(' ')}
    m${r} = mNew${r};
    ${range(S).map((jj) => `let p${r}_${jj} = select(0.0, exp(s${r}_${jj} * u.scale - m${r}), on${jj}); l${r} += p${r}_${jj};`).join(' ')}
    ${range(S).map((jj) => `let pz${r}_${jj} = p${r}_${jj} * zfac(b, h, i${r}, j0 + ${jj}u);`).join(' ')}`).join('\n')}
    ${blockUpdate([{ accum: 'acc', weight: 'pz', own: 'vOwn' }], S, R, D4)}
  }
${forwardStores(R, D4)}
}`,
  };
  dev.backend.dispatch(spec, [q.buffer, k.buffer, v.buffer, (mask ?? q).buffer, o.buffer, lse.buffer], uniforms(d, !!mask), grid1d(d.B * d.heads * Math.ceil(d.Lq / block), 1));
}

function launchAttentionBackwardSubgroup(
  dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, o: Tensor, lse: Tensor, dO: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, delta: Tensor, d: AttentionDims, S: number, R: number,
): void {
  const D4 = d.dh / 4, block = S * R;
  const inputs = `enable subgroups;
${HEADER}
${BACKWARD_INPUT_BINDINGS}`;
  const queryRows = {
    key: `attention_bwd_q_sg:${d.dh}:${S}:${R}`,
    name: 'attention_backward_dq',
    code: () => `${inputs}
${DQ_OUTPUT_BINDINGS}
${subgroupEntry(S)}
${subgroupRowBlock('Lq', 'iStart', S, R)}
${queryGradRows(R, D4)}
  for (var j0 = 0u; j0 < u.Lk; j0 += ${S}u) {
${ownKeyRow(D4)}
    ${blockDots('s', 'q', 'kOwn', S, R, D4)}
    ${blockDots('gv', 'g', 'vOwn', S, R, D4)}
${range(S).map((jj) => `    let on${jj} = subgroupBroadcast(onOwn, ${jj}u) > 0.5;
    ${range(R).map((r) => `let ds${r}_${jj} = select(0.0, exp(s${r}_${jj} * u.scale - lse${r}), on${jj}) * (zfac(b, h, i${r}, j0 + ${jj}u) * gv${r}_${jj} - D${r});`).join(' ')}`).join('\n')}
    ${blockUpdate([{ accum: 'dq', weight: 'ds', own: 'kOwn' }], S, R, D4)}
  }
${queryGradStores(R, D4)}
}`,
  };
  const keyRows = {
    key: `attention_bwd_kv_sg:${d.dh}:${S}:${R}`,
    name: 'attention_backward_dkdv',
    code: () => `${inputs}
${DKDV_OUTPUT_BINDINGS}
${subgroupEntry(S)}
${subgroupRowBlock('Lk', 'jStart', S, R)}
${keyGradRows(R, D4)}
  for (var i0 = 0u; i0 < u.Lq; i0 += ${S}u) {
    let iOwn = min(i0 + lane, u.Lq - 1u);
    let rowOwn = (b * u.H + h) * u.Lq + iOwn;
    let qOnOwn = select(0.0, 1.0, i0 + lane < u.Lq);
    let qBase = (b * u.Lq + iOwn) * E4 + h * ${D4}u;
    ${loadRow('qOwn', 'Q', 'qBase', D4)}
    ${loadRow('gOwn', 'DO', 'qBase', D4)}
    let lseOwn = LSE[rowOwn]; let dOwn = DELTA[rowOwn];
    ${blockDots('s', 'k', 'qOwn', S, R, D4)}
    ${blockDots('gv', 'v', 'gOwn', S, R, D4)}
${range(S).map((ii) => `    let qOn${ii} = subgroupBroadcast(qOnOwn, ${ii}u) > 0.5;
    let lse${ii} = subgroupBroadcast(lseOwn, ${ii}u); let D${ii} = subgroupBroadcast(dOwn, ${ii}u);
    ${range(R).map((r) => `let p${r}_${ii} = select(0.0, exp(s${r}_${ii} * u.scale - lse${ii}), on${r} && qOn${ii});
    let z${r}_${ii} = zfac(b, h, i0 + ${ii}u, j${r});
    let pz${r}_${ii} = p${r}_${ii} * z${r}_${ii}; let ds${r}_${ii} = p${r}_${ii} * (z${r}_${ii} * gv${r}_${ii} - D${ii});`).join('\n    ')}`).join('\n')}
    ${blockUpdate([{ accum: 'dv', weight: 'pz', own: 'gOwn' }, { accum: 'dk', weight: 'ds', own: 'qOwn' }], S, R, D4)}
  }
${keyGradStores(R, D4)}
}`,
  };
  const uni = uniforms(d, !!mask);
  const m = (mask ?? q).buffer;
  dev.backend.dispatch(queryRows, [q.buffer, k.buffer, v.buffer, m, lse.buffer, dO.buffer, o.buffer, dq.buffer, delta.buffer], uni, grid1d(d.B * d.heads * Math.ceil(d.Lq / block), 1));
  dev.backend.dispatch(keyRows, [q.buffer, k.buffer, v.buffer, m, lse.buffer, dO.buffer, delta.buffer, dk.buffer, dv.buffer], uni, grid1d(d.B * d.heads * Math.ceil(d.Lk / block), 1));
}

export function launchAttention(dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, o: Tensor, lse: Tensor, d: AttentionDims, variant = attentionVariant(dev, 'forward', d.dh)): void {
  if (variant.kind === 'subgroup') { launchAttentionSubgroup(dev, q, k, v, mask, o, lse, d, variant.S, variant.R); return; }
  const D4 = d.dh / 4, { R } = variant;
  const nq = Math.ceil(d.Lq / R);
  const spec = {
    key: `attention_fwd:${d.dh}:${R}`,
    name: 'attention_forward',
    code: () => `${HEADER}
${FORWARD_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let nq = (u.Lq + ${R - 1}u) / ${R}u;
  if (idx >= u.B * u.H * nq) { return; }
  let iStart = (idx % nq) * ${R}u; let h = (idx / nq) % u.H; let b = idx / (nq * u.H);
  let E4 = u.E / 4u;
${forwardRows(R, D4)}
  for (var j = 0u; j < u.Lk; j++) {
    if (!keyOn(b, j)) { continue; }
    let kBase = (b * u.Lk + j) * E4 + h * ${D4}u;
    ${loadRow('k', 'K', 'kBase', D4)}
    ${loadRow('v', 'V', 'kBase', D4)}
${range(R).map((r) => `    {
      let s = (${dotRows(`q${r}_`, 'k', D4)}) * u.scale;
      let mNew = max(m${r}, s);
      let corr = exp(m${r} - mNew);
      let p = exp(s - mNew);
      l${r} = l${r} * corr + p;
      let pz = p * zfac(b, h, i${r}, j);
      ${range(D4).map((t) => `acc${r}_${t} = acc${r}_${t} * corr + pz * v${t};`).join(' ')}
      m${r} = mNew;
    }`).join('\n')}
  }
${forwardStores(R, D4)}
}`,
  };
  // Without a mask, MASK is bound to q and never read (binding the written LSE there is invalid).
  dev.backend.dispatch(spec, [q.buffer, k.buffer, v.buffer, (mask ?? q).buffer, o.buffer, lse.buffer], uniforms(d, !!mask), grid1d(d.B * d.heads * nq));
}

export function launchAttentionBackward(
  dev: GpuDevice, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, o: Tensor, lse: Tensor, dO: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, delta: Tensor, d: AttentionDims, variant = attentionVariant(dev, 'backward', d.dh),
): void {
  if (variant.kind === 'subgroup') { launchAttentionBackwardSubgroup(dev, q, k, v, mask, o, lse, dO, dq, dk, dv, delta, d, variant.S, variant.R); return; }
  const D4 = d.dh / 4, { R } = variant;
  const nq = Math.ceil(d.Lq / R), nk = Math.ceil(d.Lk / R);
  const inputs = `
${BACKWARD_INPUT_BINDINGS}`;
  const queryRows = {
    key: `attention_bwd_q:${d.dh}:${R}`,
    name: 'attention_backward_dq',
    code: () => `${HEADER}${inputs}
${DQ_OUTPUT_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let nq = (u.Lq + ${R - 1}u) / ${R}u;
  if (idx >= u.B * u.H * nq) { return; }
  let iStart = (idx % nq) * ${R}u; let h = (idx / nq) % u.H; let b = idx / (nq * u.H);
  let E4 = u.E / 4u;
${queryGradRows(R, D4)}
  for (var j = 0u; j < u.Lk; j++) {
    if (!keyOn(b, j)) { continue; }
    let kBase = (b * u.Lk + j) * E4 + h * ${D4}u;
    ${loadRow('k', 'K', 'kBase', D4)}
    ${loadRow('v', 'V', 'kBase', D4)}
${range(R).map((r) => `    {
      let p = exp((${dotRows(`q${r}_`, 'k', D4)}) * u.scale - lse${r});
      let ds = p * (zfac(b, h, i${r}, j) * (${dotRows(`g${r}_`, 'v', D4)}) - D${r});
      ${range(D4).map((t) => `dq${r}_${t} += ds * k${t};`).join(' ')}
    }`).join('\n')}
  }
${queryGradStores(R, D4)}
}`,
  };
  const keyRows = {
    key: `attention_bwd_kv:${d.dh}:${R}`,
    name: 'attention_backward_dkdv',
    code: () => `${HEADER}${inputs}
${DKDV_OUTPUT_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let nk = (u.Lk + ${R - 1}u) / ${R}u;
  if (idx >= u.B * u.H * nk) { return; }
  let jStart = (idx % nk) * ${R}u; let h = (idx / nk) % u.H; let b = idx / (nk * u.H);
  let E4 = u.E / 4u;
${keyGradRows(R, D4)}
  for (var i = 0u; i < u.Lq; i++) {
    let row = (b * u.H + h) * u.Lq + i;
    let qBase = (b * u.Lq + i) * E4 + h * ${D4}u;
    ${loadRow('q', 'Q', 'qBase', D4)}
    ${loadRow('g', 'DO', 'qBase', D4)}
    let lse = LSE[row]; let D = DELTA[row];
${range(R).map((r) => `    {
      let p = select(0.0, exp((${dotRows('q', `k${r}_`, D4)}) * u.scale - lse), on${r});
      let z = zfac(b, h, i, j${r});
      let ds = p * (z * (${dotRows('g', `v${r}_`, D4)}) - D);
      ${range(D4).map((t) => `dv${r}_${t} += (p * z) * g${t}; dk${r}_${t} += ds * q${t};`).join(' ')}
    }`).join('\n')}
  }
${keyGradStores(R, D4)}
}`,
  };
  const uni = uniforms(d, !!mask);
  const m = (mask ?? q).buffer; // unused when there is no mask; any read-only buffer will do
  dev.backend.dispatch(queryRows, [q.buffer, k.buffer, v.buffer, m, lse.buffer, dO.buffer, o.buffer, dq.buffer, delta.buffer], uni, grid1d(d.B * d.heads * nq));
  dev.backend.dispatch(keyRows, [q.buffer, k.buffer, v.buffer, m, lse.buffer, dO.buffer, delta.buffer, dk.buffer, dv.buffer], uni, grid1d(d.B * d.heads * nk));
}

/** Plain reference of the fused forward (any precision). */
export function cpuAttention(q: TypedArray, k: TypedArray, v: TypedArray, mask: TypedArray | null, o: TypedArray, lse: TypedArray, d: AttentionDims): void {
  const E = d.heads * d.dh;
  const s = new Float64Array(d.Lk);
  for (let b = 0; b < d.B; b++) for (let h = 0; h < d.heads; h++) for (let i = 0; i < d.Lq; i++) {
    const qb = (b * d.Lq + i) * E + h * d.dh;
    let m = -Infinity;
    for (let j = 0; j < d.Lk; j++) {
      if (mask && mask[b * d.Lk + j] === 0) { s[j] = -Infinity; continue; }
      const kb = (b * d.Lk + j) * E + h * d.dh;
      let acc = 0;
      for (let t = 0; t < d.dh; t++) acc += q[qb + t] * k[kb + t];
      s[j] = acc * d.scale;
      m = Math.max(m, s[j]);
    }
    let l = 0;
    for (let j = 0; j < d.Lk; j++) if (s[j] !== -Infinity) l += Math.exp(s[j] - m);
    const row = (b * d.heads + h) * d.Lq + i;
    lse[row] = l > 0 ? m + Math.log(l) : NEG;
    for (let t = 0; t < d.dh; t++) o[qb + t] = 0;
    if (l === 0) continue;
    for (let j = 0; j < d.Lk; j++) {
      if (s[j] === -Infinity) continue;
      const w = (Math.exp(s[j] - m) / l) * dropoutFactor(d, b, h, i, j);
      const vb = (b * d.Lk + j) * E + h * d.dh;
      for (let t = 0; t < d.dh; t++) o[qb + t] += w * v[vb + t];
    }
  }
}

/** Plain reference of the fused backward. */
export function cpuAttentionBackward(
  q: TypedArray, k: TypedArray, v: TypedArray, mask: TypedArray | null, o: TypedArray, lse: TypedArray, dO: TypedArray,
  dq: TypedArray, dk: TypedArray, dv: TypedArray, d: AttentionDims,
): void {
  const E = d.heads * d.dh;
  dq.fill(0); dk.fill(0); dv.fill(0);
  for (let b = 0; b < d.B; b++) for (let h = 0; h < d.heads; h++) for (let i = 0; i < d.Lq; i++) {
    const qb = (b * d.Lq + i) * E + h * d.dh;
    const row = (b * d.heads + h) * d.Lq + i;
    let D = 0;
    for (let t = 0; t < d.dh; t++) D += dO[qb + t] * o[qb + t];
    for (let j = 0; j < d.Lk; j++) {
      if (mask && mask[b * d.Lk + j] === 0) continue;
      const kb = (b * d.Lk + j) * E + h * d.dh;
      let s = 0, gv = 0;
      for (let t = 0; t < d.dh; t++) { s += q[qb + t] * k[kb + t]; gv += dO[qb + t] * v[kb + t]; }
      const p = Math.exp(s * d.scale - lse[row]);
      const z = dropoutFactor(d, b, h, i, j);
      const ds = p * (z * gv - D);
      for (let t = 0; t < d.dh; t++) {
        dq[qb + t] += ds * k[kb + t] * d.scale;
        dk[kb + t] += ds * q[qb + t] * d.scale;
        dv[kb + t] += p * z * dO[qb + t];
      }
    }
  }
}
