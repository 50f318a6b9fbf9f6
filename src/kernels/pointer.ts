/**
 * DiffusionNER's boundary pointer (spec §1.5 step 5, DESIGN.md) without the (B, K, M, H) tensor:
 *   z[b,k,j] = Σ_h w[h] · relu(U[b,j,h] + V[b,k,h]) + bias,   z = −1e25 where word j is padding
 *   U = H_S W_Sᵀ + b_S (B, M, H) and V = H̄_X W_Xᵀ + b_X (B, K, H) come from two ordinary matmuls.
 * Backward, with g = dz (zero at padding) and s = U + V:
 *   dU[b,j,h] = w[h] Σ_k g[b,k,j] 1[s > 0];  dV[b,k,h] = w[h] Σ_j g[b,k,j] 1[s > 0]
 *   dw[h] = Σ_{b,k,j} g relu(s) (per-(b,k) partials, then a sum);  dbias = Σ g
 * Each forward invocation owns R = 4 words of one (b, k) so the V and w loads serve four outputs.
 * On software adapters with subgroups (DNER_POINTER=rows|subgroup forces a variant) the subgroup variant
 * has the S lanes of a subgroup share loads through subgroupBroadcast: forward, lanes are S spans of one
 * sentence and lane l loads U of word j0 + l for all of them; backward, lanes are S slices of H and the
 * gradient row of g is loaded once per S words (or spans) instead of once per lane.
 */
import type { TypedArray } from '../tensor/dtype.js';
import type { GpuDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { ENTRY, FLAT_INDEX, grid1d, range, subgroupEntry, subgroupVariantSize, UniformWriter, WG } from './common.js';

export interface PointerDims { B: number; K: number; M: number; H: number }

export const PADDING_LOGIT = -1e25;
const R = 4;

const HEADER = /* wgsl */ `struct Params { B: u32, K: u32, M: u32, H: u32 }
${FLAT_INDEX}`;

/** Bindings of the forward kernel, shared by both variants. */
const FORWARD_BINDINGS = /* wgsl */ `@group(0) @binding(0) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> BIAS: array<f32>;
@group(0) @binding(4) var<storage, read> MASK: array<f32>;
@group(0) @binding(5) var<storage, read_write> Z: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;`;

/** Bindings of the outputs of the dV/dw kernel, shared by both variants. */
const SPAN_GRADIENT_BINDINGS = /* wgsl */ `@group(0) @binding(4) var<storage, read_write> DV: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> DWP: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> u: Params;`;

/** Bindings of the outputs of the dU kernel, shared by both variants. */
const WORD_GRADIENT_BINDINGS = /* wgsl */ `@group(0) @binding(4) var<storage, read_write> DU: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> u: Params;`;

function uni(d: PointerDims): ArrayBuffer {
  return new UniformWriter().u32(d.B, d.K, d.M, d.H).build();
}

/** Forward, subgroup variant: workgroup (b, block of S spans, block of S words). */
function forwardSubgroupSource(S: number): string {
  return `enable subgroups;
${HEADER}
${FORWARD_BINDINGS}
${subgroupEntry(S)}
  let H4 = u.H / 4u;
  let nk = (u.K + ${S - 1}u) / ${S}u; let nj = (u.M + ${S - 1}u) / ${S}u;
  if (g >= u.B * nk * nj) { return; }
  let j0 = (g % nj) * ${S}u; let k0 = ((g / nj) % nk) * ${S}u; let b = g / (nj * nk);
  let kOk = k0 + lane < u.K;
  let k = min(k0 + lane, u.K - 1u);
  let jOwn = min(j0 + lane, u.M - 1u);
  ${range(S).map((jj) => `var acc${jj} = vec4<f32>(0.0);`).join(' ')}
  for (var h = 0u; h < H4; h++) {
    let vv = V[(b * u.K + k) * H4 + h];
    let ww = W[h];
    let uOwn = U[(b * u.M + jOwn) * H4 + h];
${range(S).map((jj) => `    acc${jj} += ww * max(subgroupBroadcast(uOwn, ${jj}u) + vv, vec4<f32>(0.0));`).join('\n')}
  }
  if (!kOk) { return; }
${range(S).map((jj) => `  if (j0 + ${jj}u < u.M) {
    Z[(b * u.K + k) * u.M + j0 + ${jj}u] = select(${PADDING_LOGIT.toExponential()}, dot(acc${jj}, vec4<f32>(1.0)) + BIAS[0], MASK[b * u.M + j0 + ${jj}u] != 0.0);
  }`).join('\n')}
}`;
}

/** The pointer's subgroup size (0: the per-invocation variant). */
export function pointerSubgroupSize(dev: GpuDevice): number {
  return subgroupVariantSize(dev, 'DNER_POINTER', 'boundary pointer');
}

/** Needs H % 4 == 0 (vec4 rows); the op falls back to the unfused composition otherwise. */
export function launchPointer(dev: GpuDevice, u: Tensor, v: Tensor, w: Tensor, bias: Tensor, mask: Tensor, z: Tensor, d: PointerDims, S = pointerSubgroupSize(dev)): void {
  if (S) {
    const spec = { key: `pointer_fwd_sg:${S}`, name: 'boundary_pointer_forward', code: () => forwardSubgroupSource(S) };
    dev.backend.dispatch(spec, [u.buffer, v.buffer, w.buffer, bias.buffer, mask.buffer, z.buffer], uni(d), grid1d(d.B * Math.ceil(d.K / S) * Math.ceil(d.M / S), 1));
    return;
  }
  const spec = {
    key: 'pointer_fwd',
    name: 'boundary_pointer_forward',
    code: () => `${HEADER}
${FORWARD_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let nj = (u.M + ${R - 1}u) / ${R}u;
  if (idx >= u.B * u.K * nj) { return; }
  let jStart = (idx % nj) * ${R}u; let bk = idx / nj; let b = bk / u.K;
  let H4 = u.H / 4u;
${Array.from({ length: R }, (_, r) => `  let j${r} = min(jStart + ${r}u, u.M - 1u); var acc${r} = vec4<f32>(0.0);`).join('\n')}
  for (var h = 0u; h < H4; h++) {
    let vv = V[bk * H4 + h];
    let ww = W[h];
${Array.from({ length: R }, (_, r) => `    acc${r} += ww * max(U[(b * u.M + j${r}) * H4 + h] + vv, vec4<f32>(0.0));`).join('\n')}
  }
${Array.from({ length: R }, (_, r) => `  if (jStart + ${r}u < u.M) {
    Z[bk * u.M + j${r}] = select(${PADDING_LOGIT.toExponential()}, dot(acc${r}, vec4<f32>(1.0)) + BIAS[0], MASK[b * u.M + j${r}] != 0.0);
  }`).join('\n')}
}`,
  };
  dev.backend.dispatch(spec, [u.buffer, v.buffer, w.buffer, bias.buffer, mask.buffer, z.buffer], uni(d), grid1d(d.B * d.K * Math.ceil(d.M / R)));
}

/**
 * Backward, subgroup variant: lanes are S consecutive vec4 slices of H for one span (dV, dw partials)
 * or one word (dU); lane l loads g of the block's word (or span) l and broadcasts it.
 */
function backwardSubgroupSources(S: number, binds: string): { spans: string; words: string } {
  const head = `enable subgroups;
${HEADER}${binds}`;
  return {
    spans: `${head}
${SPAN_GRADIENT_BINDINGS}
${subgroupEntry(S)}
  let H4 = u.H / 4u;
  let nh = (H4 + ${S - 1}u) / ${S}u;
  if (g >= u.B * u.K * nh) { return; }
  let hOk = (g % nh) * ${S}u + lane < H4;
  let h = min((g % nh) * ${S}u + lane, H4 - 1u); let bk = g / nh; let b = bk / u.K;
  let vv = V[bk * H4 + h];
  var dvAcc = vec4<f32>(0.0); var dwAcc = vec4<f32>(0.0);
  for (var j0 = 0u; j0 < u.M; j0 += ${S}u) {
    let gOwn = select(0.0, G[bk * u.M + min(j0 + lane, u.M - 1u)], j0 + lane < u.M);
${range(S).map((jj) => `    {
      let gj = subgroupBroadcast(gOwn, ${jj}u);
      let s = U[(b * u.M + min(j0 + ${jj}u, u.M - 1u)) * H4 + h] + vv;
      dvAcc += gj * select(vec4<f32>(0.0), vec4<f32>(1.0), s > vec4<f32>(0.0));
      dwAcc += gj * max(s, vec4<f32>(0.0));
    }`).join('\n')}
  }
  if (hOk) {
    DV[bk * H4 + h] = dvAcc * W[h];
    DWP[bk * H4 + h] = dwAcc;
  }
}`,
    words: `${head}
${WORD_GRADIENT_BINDINGS}
${subgroupEntry(S)}
  let H4 = u.H / 4u;
  let nh = (H4 + ${S - 1}u) / ${S}u;
  if (g >= u.B * u.M * nh) { return; }
  let hOk = (g % nh) * ${S}u + lane < H4;
  let h = min((g % nh) * ${S}u + lane, H4 - 1u); let bj = g / nh; let b = bj / u.M; let j = bj % u.M;
  let uu = U[bj * H4 + h];
  var acc = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.K; k0 += ${S}u) {
    let gOwn = select(0.0, G[(b * u.K + min(k0 + lane, u.K - 1u)) * u.M + j], k0 + lane < u.K);
${range(S).map((kk) => `    {
      let s = uu + V[(b * u.K + min(k0 + ${kk}u, u.K - 1u)) * H4 + h];
      acc += subgroupBroadcast(gOwn, ${kk}u) * select(vec4<f32>(0.0), vec4<f32>(1.0), s > vec4<f32>(0.0));
    }`).join('\n')}
  }
  if (hOk) { DU[bj * H4 + h] = acc * W[h]; }
}`,
  };
}

/** g: dz with padding already zeroed. Writes dU, dV and per-(b, k) partials of dw (B*K, H). */
export function launchPointerBackward(dev: GpuDevice, u: Tensor, v: Tensor, w: Tensor, g: Tensor, du: Tensor, dv: Tensor, dwPart: Tensor, d: PointerDims, S = pointerSubgroupSize(dev)): void {
  const binds = `
@group(0) @binding(0) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> V: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> G: array<f32>;`;
  const spanRows = {
    key: 'pointer_bwd_v',
    name: 'boundary_pointer_backward_dv_dw',
    code: () => `${HEADER}${binds}
${SPAN_GRADIENT_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let H4 = u.H / 4u;
  if (idx >= u.B * u.K * H4) { return; }
  let h = idx % H4; let bk = idx / H4; let b = bk / u.K;
  let vv = V[bk * H4 + h];
  var dvAcc = vec4<f32>(0.0); var dwAcc = vec4<f32>(0.0);
  for (var j = 0u; j < u.M; j++) {
    let gj = G[bk * u.M + j];
    let s = U[(b * u.M + j) * H4 + h] + vv;
    dvAcc += gj * select(vec4<f32>(0.0), vec4<f32>(1.0), s > vec4<f32>(0.0));
    dwAcc += gj * max(s, vec4<f32>(0.0));
  }
  DV[idx] = dvAcc * W[h];
  DWP[idx] = dwAcc;
}`,
  };
  const wordRows = {
    key: 'pointer_bwd_u',
    name: 'boundary_pointer_backward_du',
    code: () => `${HEADER}${binds}
${WORD_GRADIENT_BINDINGS}
${ENTRY}
  let idx = flatIndex(wid, nwg, lid, ${WG}u);
  let H4 = u.H / 4u;
  if (idx >= u.B * u.M * H4) { return; }
  let h = idx % H4; let bj = idx / H4; let b = bj / u.M; let j = bj % u.M;
  let uu = U[idx];
  var acc = vec4<f32>(0.0);
  for (var k = 0u; k < u.K; k++) {
    let s = uu + V[(b * u.K + k) * H4 + h];
    acc += G[(b * u.K + k) * u.M + j] * select(vec4<f32>(0.0), vec4<f32>(1.0), s > vec4<f32>(0.0));
  }
  DU[idx] = acc * W[h];
}`,
  };
  const H4 = d.H / 4;
  if (S) {
    const src = backwardSubgroupSources(S, binds);
    const nh = Math.ceil(H4 / S);
    dev.backend.dispatch({ key: `pointer_bwd_v_sg:${S}`, name: spanRows.name, code: () => src.spans }, [u.buffer, v.buffer, w.buffer, g.buffer, dv.buffer, dwPart.buffer], uni(d), grid1d(d.B * d.K * nh, 1));
    dev.backend.dispatch({ key: `pointer_bwd_u_sg:${S}`, name: wordRows.name, code: () => src.words }, [u.buffer, v.buffer, w.buffer, g.buffer, du.buffer], uni(d), grid1d(d.B * d.M * nh, 1));
    return;
  }
  dev.backend.dispatch(spanRows, [u.buffer, v.buffer, w.buffer, g.buffer, dv.buffer, dwPart.buffer], uni(d), grid1d(d.B * d.K * H4));
  dev.backend.dispatch(wordRows, [u.buffer, v.buffer, w.buffer, g.buffer, du.buffer], uni(d), grid1d(d.B * d.M * H4));
}

export function cpuPointer(u: TypedArray, v: TypedArray, w: TypedArray, bias: TypedArray, mask: TypedArray, z: TypedArray, d: PointerDims): void {
  const { B, K, M, H } = d;
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let j = 0; j < M; j++) {
    let acc = 0;
    for (let h = 0; h < H; h++) acc += w[h] * Math.max(u[(b * M + j) * H + h] + v[(b * K + k) * H + h], 0);
    z[(b * K + k) * M + j] = mask[b * M + j] !== 0 ? acc + bias[0] : PADDING_LOGIT;
  }
}

export function cpuPointerBackward(u: TypedArray, v: TypedArray, w: TypedArray, g: TypedArray, du: TypedArray, dv: TypedArray, dwPart: TypedArray, d: PointerDims): void {
  const { B, K, M, H } = d;
  du.fill(0); dv.fill(0); dwPart.fill(0);
  for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) for (let j = 0; j < M; j++) {
    const gj = g[(b * K + k) * M + j];
    if (gj === 0) continue;
    for (let h = 0; h < H; h++) {
      const s = u[(b * M + j) * H + h] + v[(b * K + k) * H + h];
      if (s <= 0) continue;
      du[(b * M + j) * H + h] += gj * w[h];
      dv[(b * K + k) * H + h] += gj * w[h];
      dwPart[(b * K + k) * H + h] += gj * s;
    }
  }
}
