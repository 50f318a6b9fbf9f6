/**
 * The recurrent part of one LSTM layer in one direction (torch gate order i, f, g, o), fused per step.
 * The input projection for all timesteps is one matmul done before (xw = x W_ihᵀ + b_ih + b_hh).
 *   forward step s:  for (b, j): t = s (forward) or len_b − 1 − s (reverse); skipped when s >= len_b
 *     a_k = xw[b, t, kH + j] + h[b, t_prev] · W_hh[kH + j]       (t_prev = t ∓ 1; no h term at s = 0)
 *     i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g);  c = f c_prev + i g;  h = o tanh(c)
 *     writes gates (activated) G (B, L, 4H), cell C (B, L, H), output Hs (B, L, H)
 *   backward step s (s from max length − 1 down to 0): dh = dHs[b, t] + Σ_r dA[b, t_next, r] W_hh[r, j]
 *     dc = dh o (1 − tanh²c) + dc_next f_next;  dA = (di, df, dg, do) through the activations -> dA (B, L, 4H)
 * Padded positions keep h = c = 0 in Hs and C and get dA = 0, so state never crosses padding.
 * The weight gradients are ordinary matmuls over dA afterwards (see src/ops/lstm.ts).
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, range, subgroupEntry, subgroupVariantSize, UniformWriter, WG } from './common.js';
import { WGSL_MATH } from './math.js';

export interface LstmDims { B: number; L: number; H: number; reverse: boolean }

const HEADER = /* wgsl */ `${WGSL_MATH}
struct Params { B: u32, L: u32, H: u32, step: u32, reverse: u32 }
${FLAT_INDEX}
fn timeOf(s: u32, len: u32) -> u32 { return select(s, len - 1u - s, u.reverse != 0u); }
fn prevOf(t: u32) -> u32 { return select(t - 1u, t + 1u, u.reverse != 0u); }`;

/** Bindings of the forward kernel, shared by both variants. */
const FORWARD_BINDINGS = /* wgsl */ `@group(0) @binding(0) var<storage, read> XW: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> WHH: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> LEN: array<i32>;
@group(0) @binding(3) var<storage, read_write> HS: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> G: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> u: Params;`;

/** Bindings of the backward step (H % 4 = 0), shared by both variants. */
const BACKWARD_BINDINGS = /* wgsl */ `@group(0) @binding(0) var<storage, read> WHH: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> LEN: array<i32>;
@group(0) @binding(2) var<storage, read> C: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> DHS: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> DA: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> DC: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> u: Params;
// Gate gradients of units 4 j4 .. 4 j4 + 3 at (b, t) from dh and the carried dc; writes DA, returns dc.
fn gateGradients(b: u32, t: u32, j4: u32, H4: u32, dh: vec4<f32>, dcNext: vec4<f32>) -> vec4<f32> {
  let row = (b * u.L + t) * 4u * H4;
  let ig = G[row + j4]; let fg = G[row + H4 + j4]; let gg = G[row + 2u * H4 + j4]; let og = G[row + 3u * H4 + j4];
  let cv = C[(b * u.L + t) * H4 + j4];
  var tc: vec4<f32>;
  for (var e = 0u; e < 4u; e++) { tc[e] = tanh_f32(cv[e]); }
  let dc = dh * og * (1.0 - tc * tc) + dcNext;
  var cPrev = vec4<f32>(0.0);
  if (u.step > 0u) { cPrev = C[(b * u.L + prevOf(t)) * H4 + j4]; }
  DA[row + j4] = dc * gg * ig * (1.0 - ig);
  DA[row + H4 + j4] = dc * cPrev * fg * (1.0 - fg);
  DA[row + 2u * H4 + j4] = dc * ig * (1.0 - gg * gg);
  DA[row + 3u * H4 + j4] = dh * tc * og * (1.0 - og);
  return dc;
}`;

function uni(d: LstmDims, step: number): ArrayBuffer {
  return new UniformWriter().u32(d.B, d.L, d.H, step, d.reverse ? 1 : 0).build();
}

/**
 * With H % 4 == 0 each invocation computes four consecutive units j .. j+3 with vec4 loads: one load of
 * h_prev serves 16 weight rows, and the backward's column of W_hh becomes rows of vec4 (lavapipe pays
 * per load instruction, so this is about 5x fewer loads).
 */
function vectorised(d: LstmDims): boolean {
  return d.H % 4 === 0;
}

/**
 * Which step kernel runs (DNER_LSTM=rows|subgroup|split forces one, split:W also the workgroup width, a
 * power of two; the vec4 variants need H % 4 == 0).
 *   rows      one invocation per (batch element, 4 units), the whole h_prev · W_hh dot products in a loop.
 *   subgroup  lavapipe's default: a step is load-bound there, since every invocation of `rows` reloads
 *             its 16 rows of W_hh for its one batch element. A lane owns four units for S batch elements
 *             at once, so each W_hh load serves S of them, and lane l loads h_prev of batch element l and
 *             hands it to the others with subgroupBroadcast.
 *   split     real GPUs' default: `rows` gives only B·H/4 invocations, a few workgroups on a GPU with
 *             a hundred SMs, each a serial chain of H/4 iterations (80 µs a step on an H100). Here a
 *             workgroup of W threads owns one (batch element, 4 units) and splits the reduction over H
 *             among its threads, then sums the partials in workgroup memory.
 */
export type LstmVariant = { kind: 'rows' } | { kind: 'subgroup'; S: number } | { kind: 'split'; W: number };

export function lstmVariant(dev: GpuDevice, d: LstmDims): LstmVariant {
  if (!vectorised(d)) return { kind: 'rows' };
  const forced = process.env.DNER_LSTM;
  const width = /^split:(\d+)$/.exec(forced ?? '');
  if (forced !== undefined && !width && !['rows', 'subgroup', 'split'].includes(forced)) {
    throw new Error(`DNER_LSTM must be rows, subgroup, split or split:W, got '${forced}'`);
  }
  if (width) {
    const W = Number(width[1]);
    if (W < 1 || W > 256 || (W & (W - 1)) !== 0) throw new Error(`DNER_LSTM=split:W needs a power of two up to 256, got ${W}`);
    return { kind: 'split', W };
  }
  if (forced === 'split' || (forced === undefined && !dev.backend.report.isSoftware)) return { kind: 'split', W: splitWidth(d) };
  const S = subgroupVariantSize(dev, 'DNER_LSTM', 'lstm');
  return S ? { kind: 'subgroup', S } : { kind: 'rows' };
}

/** Threads per workgroup of the split variant: one pass over the forward's H/4 vec4s where it can, 32 to 128. */
function splitWidth(d: LstmDims): number {
  let W = 32;
  while (W < 128 && W < d.H / 4) W *= 2;
  return W;
}

/** WGSL: the W threads' vec4 partials part[4 lid + k] (k < kinds) summed into part[k] by a tree. */
function treeSum(W: number, kinds: number): string {
  const lines: string[] = [];
  for (let half = W / 2; half >= 1; half /= 2) {
    lines.push(`  workgroupBarrier();
  if (lid < ${half}u) { ${range(kinds).map((k) => `part[${kinds}u * lid + ${k}u] += part[${kinds}u * (lid + ${half}u) + ${k}u];`).join(' ')} }`);
  }
  return lines.join('\n') + '\n  workgroupBarrier();';
}

/** Entry of the split variant: workgroup g owns batch element b and units 4 j4 .. 4 j4 + 3. */
function splitPrologue(W: number, kinds: number): string {
  return `var<workgroup> part: array<vec4<f32>, ${kinds * W}>;
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let H4 = u.H / 4u;
  let b = min(g / H4, u.B - 1u); let j4 = g % H4;
  let len = u32(max(LEN[b], 0));
  // Every thread reaches every barrier; only the work is skipped where the step does not run.
  let runs = g < u.B * H4 && u.step < len;
  let t = timeOf(min(u.step, max(len, 1u) - 1u), max(len, 1u));`;
}

function splitForwardSource(W: number): string {
  return `${HEADER}
${FORWARD_BINDINGS}
${splitPrologue(W, 4)}
  let row = (b * u.L + t) * 4u * H4;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  if (runs && u.step > 0u) {
    let hp = (b * u.L + prevOf(t)) * H4;
    for (var m4 = lid; m4 < H4; m4 += ${W}u) {
      let h = HS[hp + m4];
${range(4).map((k) => `      a${k} += vec4<f32>(${range(4).map((e) => `dot(h, WHH[(${k}u * u.H + 4u * j4 + ${e}u) * H4 + m4])`).join(', ')});`).join('\n')}
    }
  }
${range(4).map((k) => `  part[4u * lid + ${k}u] = a${k};`).join('\n')}
${treeSum(W, 4)}
  if (lid != 0u || !runs) { return; }
  let ai = XW[row + j4] + part[0]; let af = XW[row + H4 + j4] + part[1];
  let ag = XW[row + 2u * H4 + j4] + part[2]; let ao = XW[row + 3u * H4 + j4] + part[3];
  var cPrev = vec4<f32>(0.0);
  if (u.step > 0u) { cPrev = C[(b * u.L + prevOf(t)) * H4 + j4]; }
  var ig: vec4<f32>; var fg: vec4<f32>; var gg: vec4<f32>; var og: vec4<f32>; var hv: vec4<f32>; var cc: vec4<f32>;
  for (var e = 0u; e < 4u; e++) {
    ig[e] = sigmoid_f32(ai[e]); fg[e] = sigmoid_f32(af[e]); gg[e] = tanh_f32(ag[e]); og[e] = sigmoid_f32(ao[e]);
    cc[e] = fg[e] * cPrev[e] + ig[e] * gg[e];
    hv[e] = og[e] * tanh_f32(cc[e]);
  }
  let o = (b * u.L + t) * H4 + j4;
  C[o] = cc; HS[o] = hv;
  G[row + j4] = ig; G[row + H4 + j4] = fg; G[row + 2u * H4 + j4] = gg; G[row + 3u * H4 + j4] = og;
}`;
}

function splitBackwardSource(W: number): string {
  return `${HEADER}
${BACKWARD_BINDINGS}
fn nextOf(t: u32) -> u32 { return select(t + 1u, t - 1u, u.reverse != 0u); }
${splitPrologue(W, 1)}
  let hasNext = runs && u.step + 1u < len;
  let rn = (b * u.L + min(nextOf(t), u.L - 1u)) * 4u * H4;
  // This thread's share of dA_next W_hh over columns 4 j4 .. 4 j4 + 3.
  var dh = vec4<f32>(0.0);
  if (hasNext) {
    for (var r4 = lid; r4 < 4u * H4; r4 += ${W}u) {
      let da = DA[rn + r4];
      dh += da.x * WHH[(4u * r4) * H4 + j4] + da.y * WHH[(4u * r4 + 1u) * H4 + j4] + da.z * WHH[(4u * r4 + 2u) * H4 + j4] + da.w * WHH[(4u * r4 + 3u) * H4 + j4];
    }
  }
  part[lid] = dh;
${treeSum(W, 1)}
  if (lid != 0u || !runs) { return; }
  let dhTotal = DHS[(b * u.L + t) * H4 + j4] + part[0];
  let dcNext = select(vec4<f32>(0.0), DC[b * H4 + j4] * G[rn + H4 + j4], hasNext);
  DC[b * H4 + j4] = gateGradients(b, t, j4, H4, dhTotal, dcNext);
}`;
}

/**
 * WGSL shared by the subgroup steps: workgroup g covers units block (g % nJ) and batch elements
 * bBase .. bBase + P − 1 (P ≤ S); per batch element bb: its length, whether this step runs for it, and its time t.
 */
function subgroupPrologue(S: number, P: number): string {
  return `${subgroupEntry(S)}
  let H4 = u.H / 4u;
  let nJ = (H4 + ${S - 1}u) / ${S}u;
  if (g >= nJ * ((u.B + ${P - 1}u) / ${P}u)) { return; }
  let jOk = (g % nJ) * ${S}u + lane < H4;
  let j4 = min((g % nJ) * ${S}u + lane, H4 - 1u);
  let bBase = (g / nJ) * ${P}u;
${range(P).map((bb) => `  let b${bb} = min(bBase + ${bb}u, u.B - 1u); let len${bb} = u32(max(LEN[b${bb}], 0));
  let act${bb} = bBase + ${bb}u < u.B && u.step < len${bb};
  let t${bb} = timeOf(min(u.step, max(len${bb}, 1u) - 1u), max(len${bb}, 1u));`).join('\n')}`;
}

function subgroupForwardSource(S: number, P: number): string {
  return `enable subgroups;
${HEADER}
${FORWARD_BINDINGS}
${subgroupPrologue(S, P)}
${range(P).map((bb) => `  let row${bb} = (b${bb} * u.L + t${bb}) * 4u * H4;
  ${range(4).map((k) => `var a${bb}_${k} = XW[row${bb} + ${k}u * H4 + j4];`).join(' ')}`).join('\n')}
  if (u.step > 0u) {
    // This lane's batch element supplies its h_prev row; its previous time is clamped into range when
    // the step does not run for it (the row is then zero and unused).
    let bOwn = min(bBase + lane, u.B - 1u); let lenOwn = max(u32(max(LEN[bOwn], 0)), 1u);
    let ownRuns = bBase + lane < u.B && u.step < u32(max(LEN[bOwn], 0));
    let hpOwn = (bOwn * u.L + min(prevOf(timeOf(min(u.step, lenOwn - 1u), lenOwn)), u.L - 1u)) * H4;
    for (var m4 = 0u; m4 < H4; m4++) {
      let hOwn = select(vec4<f32>(0.0), HS[hpOwn + m4], ownRuns);
      ${range(4).map((k) => range(4).map((e) => `let w${k}${e} = WHH[(${k}u * u.H + 4u * j4 + ${e}u) * H4 + m4];`).join(' ')).join('\n      ')}
${range(P).map((bb) => `      { let h = subgroupBroadcast(hOwn, ${bb}u);
        ${range(4).map((k) => `a${bb}_${k} += vec4<f32>(dot(h, w${k}0), dot(h, w${k}1), dot(h, w${k}2), dot(h, w${k}3));`).join(' ')} }`).join('\n')}
    }
  }
${range(P).map((bb) => `  if (act${bb} && jOk) {
    var cPrev = vec4<f32>(0.0);
    if (u.step > 0u) { cPrev = C[(b${bb} * u.L + prevOf(t${bb})) * H4 + j4]; }
    var ig: vec4<f32>; var fg: vec4<f32>; var gg: vec4<f32>; var og: vec4<f32>; var hv: vec4<f32>; var cc: vec4<f32>;
    for (var e = 0u; e < 4u; e++) {
      ig[e] = sigmoid_f32(a${bb}_0[e]); fg[e] = sigmoid_f32(a${bb}_1[e]); gg[e] = tanh_f32(a${bb}_2[e]); og[e] = sigmoid_f32(a${bb}_3[e]);
      cc[e] = fg[e] * cPrev[e] + ig[e] * gg[e];
      hv[e] = og[e] * tanh_f32(cc[e]);
    }
    let o = (b${bb} * u.L + t${bb}) * H4 + j4;
    C[o] = cc; HS[o] = hv;
    ${['ig', 'fg', 'gg', 'og'].map((gate, k) => `G[row${bb} + ${k}u * H4 + j4] = ${gate};`).join(' ')}
  }`).join('\n')}
}`;
}

function subgroupBackwardSource(S: number): string {
  return `enable subgroups;
${HEADER}
${BACKWARD_BINDINGS}
fn nextOf(t: u32) -> u32 { return select(t + 1u, t - 1u, u.reverse != 0u); }
${subgroupPrologue(S, S)}
${range(S).map((bb) => `  let hasNext${bb} = act${bb} && u.step + 1u < len${bb};
  let rn${bb} = (b${bb} * u.L + min(nextOf(t${bb}), u.L - 1u)) * 4u * H4;
  var dh${bb} = select(vec4<f32>(0.0), DHS[(b${bb} * u.L + t${bb}) * H4 + j4], act${bb});`).join('\n')}
  {
    // dh += dA_next W_hh over this lane's four columns; lane l loads dA_next of batch element l.
    let bOwn = min(bBase + lane, u.B - 1u); let lenOwn = u32(max(LEN[bOwn], 0));
    let ownNext = bBase + lane < u.B && u.step + 1u < lenOwn;
    let rnOwn = (bOwn * u.L + min(nextOf(timeOf(min(u.step, max(lenOwn, 1u) - 1u), max(lenOwn, 1u))), u.L - 1u)) * 4u * H4;
    for (var r4 = 0u; r4 < 4u * H4; r4++) {
      let daOwn = select(vec4<f32>(0.0), DA[rnOwn + r4], ownNext);
      ${range(4).map((e) => `let w${e} = WHH[(4u * r4 + ${e}u) * H4 + j4];`).join(' ')}
${range(S).map((bb) => `      { let da = subgroupBroadcast(daOwn, ${bb}u); dh${bb} += da.x * w0 + da.y * w1 + da.z * w2 + da.w * w3; }`).join('\n')}
    }
  }
${range(S).map((bb) => `  if (act${bb} && jOk) {
    let dcNext = select(vec4<f32>(0.0), DC[b${bb} * H4 + j4] * G[rn${bb} + H4 + j4], hasNext${bb});
    let row = (b${bb} * u.L + t${bb}) * 4u * H4;
    let ig = G[row + j4]; let fg = G[row + H4 + j4]; let gg = G[row + 2u * H4 + j4]; let og = G[row + 3u * H4 + j4];
    let cv = C[(b${bb} * u.L + t${bb}) * H4 + j4];
    var tc: vec4<f32>;
    for (var e = 0u; e < 4u; e++) { tc[e] = tanh_f32(cv[e]); }
    let dc = dh${bb} * og * (1.0 - tc * tc) + dcNext;
    var cPrev = vec4<f32>(0.0);
    if (u.step > 0u) { cPrev = C[(b${bb} * u.L + prevOf(t${bb})) * H4 + j4]; }
    DA[row + j4] = dc * gg * ig * (1.0 - ig);
    DA[row + H4 + j4] = dc * cPrev * fg * (1.0 - fg);
    DA[row + 2u * H4 + j4] = dc * ig * (1.0 - gg * gg);
    DA[row + 3u * H4 + j4] = dh${bb} * tc * og * (1.0 - og);
    DC[b${bb} * H4 + j4] = dc;
  }`).join('\n')}
}`;
}

function subgroupGroups(d: LstmDims, S: number, P: number): [number, number] {
  return grid1d(Math.ceil(d.H / 4 / S) * Math.ceil(d.B / P), 1);
}

/**
 * Batch elements per workgroup of the subgroup forward step: S, or the power of two that covers a
 * smaller batch. The step's code is unrolled over them, so lavapipe compiles the P = 8 step in ~4.8 s
 * (a sixth of a cold `npm start`, which tags 4 sentences, then traces one) and a P = 1 step far faster;
 * a small batch also wastes no lanes on absent elements. The sums run in the same order for every P.
 */
function forwardBatchPerGroup(d: LstmDims, S: number): number {
  let P = 1;
  while (P < S && P < d.B) P *= 2;
  return P;
}

/** Runs all steps; Hs and C must be zero-filled by the caller (padding stays 0). */
export function launchLstmForward(dev: GpuDevice, xw: Tensor, whh: Tensor, lens: Tensor, hs: Tensor, c: Tensor, g: Tensor, d: LstmDims, steps: number, variant = lstmVariant(dev, d)): void {
  if (variant.kind === 'split') {
    const { W } = variant;
    const spec = { key: `lstm_fwd_split:${W}`, name: 'lstm_forward_step', code: () => splitForwardSource(W) };
    for (let s = 0; s < steps; s++) dev.backend.dispatch(spec, [xw.buffer, whh.buffer, lens.buffer, hs.buffer, c.buffer, g.buffer], uni(d, s), grid1d(d.B * (d.H / 4), 1));
    return;
  }
  if (variant.kind === 'subgroup') {
    const { S } = variant, P = forwardBatchPerGroup(d, S);
    const spec = { key: `lstm_fwd_sg:${S}:${P}`, name: 'lstm_forward_step', code: () => subgroupForwardSource(S, P) };
    for (let s = 0; s < steps; s++) dev.backend.dispatch(spec, [xw.buffer, whh.buffer, lens.buffer, hs.buffer, c.buffer, g.buffer], uni(d, s), subgroupGroups(d, S, P));
    return;
  }
  const V = vectorised(d);
  const spec = {
    key: `lstm_fwd:${V}`,
    name: 'lstm_forward_step',
    code: () => V ? `${HEADER}
${FORWARD_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let H4 = u.H / 4u;
  if (idx >= u.B * H4) { return; }
  let b = idx / H4; let j4 = idx % H4;
  let len = u32(max(LEN[b], 0));
  if (u.step >= len) { return; }
  let t = timeOf(u.step, len);
  let row = (b * u.L + t) * 4u * H4;
  // Pre-activations of gate k for units 4 j4 .. 4 j4 + 3.
  var ai = XW[row + j4]; var af = XW[row + H4 + j4]; var ag = XW[row + 2u * H4 + j4]; var ao = XW[row + 3u * H4 + j4];
  var cPrev = vec4<f32>(0.0);
  if (u.step > 0u) {
    let hp = (b * u.L + prevOf(t)) * H4;
    cPrev = C[hp + j4];
    for (var m4 = 0u; m4 < H4; m4++) {
      let h = HS[hp + m4];
${[0, 1, 2, 3].map((k) => `      ${['ai', 'af', 'ag', 'ao'][k]} += vec4<f32>(${[0, 1, 2, 3].map((e) => `dot(h, WHH[(${k}u * u.H + 4u * j4 + ${e}u) * H4 + m4])`).join(', ')});`).join('\n')}
    }
  }
  var ig: vec4<f32>; var fg: vec4<f32>; var gg: vec4<f32>; var og: vec4<f32>; var hv: vec4<f32>;
  var cc: vec4<f32>;
  for (var e = 0u; e < 4u; e++) {
    ig[e] = sigmoid_f32(ai[e]); fg[e] = sigmoid_f32(af[e]); gg[e] = tanh_f32(ag[e]); og[e] = sigmoid_f32(ao[e]);
    cc[e] = fg[e] * cPrev[e] + ig[e] * gg[e];
    hv[e] = og[e] * tanh_f32(cc[e]);
  }
  let o = (b * u.L + t) * H4 + j4;
  C[o] = cc;
  HS[o] = hv;
  G[row + j4] = ig; G[row + H4 + j4] = fg; G[row + 2u * H4 + j4] = gg; G[row + 3u * H4 + j4] = og;
}` : `${HEADER}
@group(0) @binding(0) var<storage, read> XW: array<f32>;
@group(0) @binding(1) var<storage, read> WHH: array<f32>;
@group(0) @binding(2) var<storage, read> LEN: array<i32>;
@group(0) @binding(3) var<storage, read_write> HS: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
@group(0) @binding(5) var<storage, read_write> G: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  if (idx >= u.B * u.H) { return; }
  let b = idx / u.H; let j = idx % u.H;
  let len = u32(max(LEN[b], 0));
  if (u.step >= len) { return; }
  let t = timeOf(u.step, len);
  let H4 = 4u * u.H;
  let row = (b * u.L + t) * H4;
  var a = vec4<f32>(XW[row + j], XW[row + u.H + j], XW[row + 2u * u.H + j], XW[row + 3u * u.H + j]);
  var cPrev = 0.0;
  if (u.step > 0u) {
    let tp = prevOf(t);
    let hp = (b * u.L + tp) * u.H;
    cPrev = C[hp + j];
    for (var m = 0u; m < u.H; m++) {
      let h = HS[hp + m];
      a += h * vec4<f32>(WHH[j * u.H + m], WHH[(u.H + j) * u.H + m], WHH[(2u * u.H + j) * u.H + m], WHH[(3u * u.H + j) * u.H + m]);
    }
  }
  let ig = sigmoid_f32(a.x); let fg = sigmoid_f32(a.y); let gg = tanh_f32(a.z); let og = sigmoid_f32(a.w);
  let cc = fg * cPrev + ig * gg;
  let o = (b * u.L + t) * u.H + j;
  C[o] = cc;
  HS[o] = og * tanh_f32(cc);
  G[row + j] = ig; G[row + u.H + j] = fg; G[row + 2u * u.H + j] = gg; G[row + 3u * u.H + j] = og;
}`,
  };
  const n = V ? d.B * (d.H / 4) : d.B * d.H;
  for (let s = 0; s < steps; s++) {
    dev.backend.dispatch(spec, [xw.buffer, whh.buffer, lens.buffer, hs.buffer, c.buffer, g.buffer], uni(d, s), grid1d(n));
  }
}

/** dA must be zero-filled by the caller; dcCarry (B, H) is scratch. */
export function launchLstmBackward(dev: GpuDevice, whh: Tensor, lens: Tensor, c: Tensor, g: Tensor, dhs: Tensor, da: Tensor, dcCarry: Tensor, d: LstmDims, steps: number, variant = lstmVariant(dev, d)): void {
  if (variant.kind === 'split') {
    const { W } = variant;
    const spec = { key: `lstm_bwd_split:${W}`, name: 'lstm_backward_step', code: () => splitBackwardSource(W) };
    for (let s = steps - 1; s >= 0; s--) dev.backend.dispatch(spec, [whh.buffer, lens.buffer, c.buffer, g.buffer, dhs.buffer, da.buffer, dcCarry.buffer], uni(d, s), grid1d(d.B * (d.H / 4), 1));
    return;
  }
  if (variant.kind === 'subgroup') {
    const { S } = variant;
    const spec = { key: `lstm_bwd_sg:${S}`, name: 'lstm_backward_step', code: () => subgroupBackwardSource(S) };
    for (let s = steps - 1; s >= 0; s--) dev.backend.dispatch(spec, [whh.buffer, lens.buffer, c.buffer, g.buffer, dhs.buffer, da.buffer, dcCarry.buffer], uni(d, s), subgroupGroups(d, S, S));
    return;
  }
  const V = vectorised(d);
  const spec = {
    key: `lstm_bwd:${V}`,
    name: 'lstm_backward_step',
    code: () => V ? `${HEADER}
${BACKWARD_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let H4 = u.H / 4u;
  if (idx >= u.B * H4) { return; }
  let b = idx / H4; let j4 = idx % H4;
  let len = u32(max(LEN[b], 0));
  if (u.step >= len) { return; }
  let t = timeOf(u.step, len);
  let o = (b * u.L + t) * H4 + j4;
  var dh = DHS[o];
  var dcNext = vec4<f32>(0.0);
  if (u.step + 1u < len) {
    let tn = select(t + 1u, t - 1u, u.reverse != 0u);
    let rn = (b * u.L + tn) * 4u * H4;
    // dh += dA_next W_hh restricted to columns 4 j4 .. 4 j4 + 3: rows r of W_hh give a vec4 each.
    for (var r4 = 0u; r4 < 4u * H4; r4++) {
      let da4 = DA[rn + r4];
      dh += da4.x * WHH[(4u * r4) * H4 + j4] + da4.y * WHH[(4u * r4 + 1u) * H4 + j4]
          + da4.z * WHH[(4u * r4 + 2u) * H4 + j4] + da4.w * WHH[(4u * r4 + 3u) * H4 + j4];
    }
    dcNext = DC[idx] * G[rn + H4 + j4];
  }
  DC[idx] = gateGradients(b, t, j4, H4, dh, dcNext);
}` : `${HEADER}
@group(0) @binding(0) var<storage, read> WHH: array<f32>;
@group(0) @binding(1) var<storage, read> LEN: array<i32>;
@group(0) @binding(2) var<storage, read> C: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read> DHS: array<f32>;
@group(0) @binding(5) var<storage, read_write> DA: array<f32>;
@group(0) @binding(6) var<storage, read_write> DC: array<f32>;
@group(0) @binding(7) var<uniform> u: Params;
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  if (idx >= u.B * u.H) { return; }
  let b = idx / u.H; let j = idx % u.H;
  let len = u32(max(LEN[b], 0));
  if (u.step >= len) { return; }
  let t = timeOf(u.step, len);
  let H4 = 4u * u.H;
  let o = (b * u.L + t) * u.H + j;
  var dh = DHS[o];
  var dcNext = 0.0;
  if (u.step + 1u < len) {
    // The later step (in processing order) feeds back through W_hh and the forget gate.
    let tn = select(t + 1u, t - 1u, u.reverse != 0u);
    let rn = (b * u.L + tn) * H4;
    for (var r = 0u; r < H4; r++) { dh += DA[rn + r] * WHH[r * u.H + j]; }
    dcNext = DC[idx] * G[rn + u.H + j];
  }
  let row = (b * u.L + t) * H4;
  let ig = G[row + j]; let fg = G[row + u.H + j]; let gg = G[row + 2u * u.H + j]; let og = G[row + 3u * u.H + j];
  let tc = tanh_f32(C[o]);
  let dc = dh * og * (1.0 - tc * tc) + dcNext;
  var cPrev = 0.0;
  if (u.step > 0u) { cPrev = C[(b * u.L + prevOf(t)) * u.H + j]; }
  DA[row + j] = dc * gg * ig * (1.0 - ig);
  DA[row + u.H + j] = dc * cPrev * fg * (1.0 - fg);
  DA[row + 2u * u.H + j] = dc * ig * (1.0 - gg * gg);
  DA[row + 3u * u.H + j] = dh * tc * og * (1.0 - og);
  DC[idx] = dc;
}`,
  };
  const n = V ? d.B * (d.H / 4) : d.B * d.H;
  for (let s = steps - 1; s >= 0; s--) {
    dev.backend.dispatch(spec, [whh.buffer, lens.buffer, c.buffer, g.buffer, dhs.buffer, da.buffer, dcCarry.buffer], uni(d, s), grid1d(n));
  }
}

const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function cpuLstmForward(xw: TypedArray, whh: TypedArray, lens: TypedArray, hs: TypedArray, c: TypedArray, g: TypedArray, d: LstmDims): void {
  const { B, L, H } = d;
  hs.fill(0); c.fill(0); g.fill(0);
  for (let b = 0; b < B; b++) {
    const len = Math.max(0, Math.min(L, lens[b]));
    for (let s = 0; s < len; s++) {
      const t = d.reverse ? len - 1 - s : s, tp = d.reverse ? t + 1 : t - 1;
      const row = (b * L + t) * 4 * H;
      for (let j = 0; j < H; j++) {
        const a = [0, 1, 2, 3].map((k) => xw[row + k * H + j]);
        let cPrev = 0;
        if (s > 0) {
          const hp = (b * L + tp) * H;
          cPrev = c[hp + j];
          for (let m = 0; m < H; m++) for (let k = 0; k < 4; k++) a[k] += hs[hp + m] * whh[(k * H + j) * H + m];
        }
        const [ig, fg, gg, og] = [sig(a[0]), sig(a[1]), Math.tanh(a[2]), sig(a[3])];
        const cc = fg * cPrev + ig * gg;
        c[(b * L + t) * H + j] = cc;
        hs[(b * L + t) * H + j] = og * Math.tanh(cc);
        [ig, fg, gg, og].forEach((v, k) => { g[row + k * H + j] = v; });
      }
    }
  }
}

export function cpuLstmBackward(whh: TypedArray, lens: TypedArray, c: TypedArray, g: TypedArray, dhs: TypedArray, da: TypedArray, d: LstmDims): void {
  const { B, L, H } = d;
  da.fill(0);
  for (let b = 0; b < B; b++) {
    const len = Math.max(0, Math.min(L, lens[b]));
    const dcCarry = new Float64Array(H);
    for (let s = len - 1; s >= 0; s--) {
      const t = d.reverse ? len - 1 - s : s;
      const row = (b * L + t) * 4 * H;
      const next = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let dh = dhs[(b * L + t) * H + j];
        let dcNext = 0;
        if (s + 1 < len) {
          const tn = d.reverse ? t - 1 : t + 1;
          const rn = (b * L + tn) * 4 * H;
          for (let r = 0; r < 4 * H; r++) dh += da[rn + r] * whh[r * H + j];
          dcNext = dcCarry[j] * g[rn + H + j];
        }
        const [ig, fg, gg, og] = [0, 1, 2, 3].map((k) => g[row + k * H + j]);
        const tc = Math.tanh(c[(b * L + t) * H + j]);
        const dc = dh * og * (1 - tc * tc) + dcNext;
        const cPrev = s > 0 ? c[(b * L + (d.reverse ? t + 1 : t - 1)) * H + j] : 0;
        da[row + j] = dc * gg * ig * (1 - ig);
        da[row + H + j] = dc * cPrev * fg * (1 - fg);
        da[row + 2 * H + j] = dc * ig * (1 - gg * gg);
        da[row + 3 * H + j] = dh * tc * og * (1 - og);
        next[j] = dc;
      }
      dcCarry.set(next);
    }
  }
}
