/**
 * BOPN's conditional-layer-norm grid with its distance and region embeddings as one differentiable op
 * on the kernels of src/kernels/cln-grid.ts. It computes what these composed ops do, without the
 * (B, n, n, H) intermediates, the broadcast multiplies and adds, the concat's copies and, backward,
 * the reductions of the broadcast gradients:
 *   v    = add(mul(unsqueeze(norm, 2), unsqueeze(scale, 1)), unsqueeze(shift, 1))                 (B, n, n, H)
 *   grid = concat([v, indexSelect(distTable, 0, distance), indexSelect(regionTable, 0, region)], -1)
 *   norm, scale, shift (B, n, H); distTable (K1, E1); regionTable (K2, E2); distance, region (B, n, n) i32
 *   -> grid (B, n, n, H + E1 + E2)
 * Differentiable in norm, scale, shift and both tables; an id outside a table's rows reads zeros.
 */
import { type ClnGridDims, cpuClnGrid, cpuClnGridBackward, launchClnGrid, launchClnGridBackward } from '../kernels/cln-grid.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, requireDType, requireFloat, sameDevice, sameDType } from './core.js';
import { sum } from './reduce.js';

const NAMES = ['norm', 'scale', 'shift', 'distTable', 'distance', 'regionTable', 'region'];

export function clnGrid(norm: Tensor, scale: Tensor, shift: Tensor, distTable: Tensor, distance: Tensor, regionTable: Tensor, region: Tensor): Tensor {
  const all = [norm, scale, shift, distTable, distance, regionTable, region];
  all.forEach((t, i) => checkTensor('clnGrid', t, NAMES[i]));
  sameDevice('clnGrid', ...all);
  requireFloat('clnGrid', norm);
  sameDType('clnGrid', norm, scale, shift, distTable, regionTable);
  requireDType('clnGrid', distance, 'i32', 'distance');
  requireDType('clnGrid', region, 'i32', 'region');
  const [B, n, H] = norm.shape;
  if (norm.rank !== 3 || !shapeEq(scale.shape, norm.shape) || !shapeEq(shift.shape, norm.shape)) {
    throw new Error(`clnGrid: norm ${fmtShape(norm.shape)}, scale ${fmtShape(scale.shape)}, shift ${fmtShape(shift.shape)} must all be (B, n, H)`);
  }
  if (!shapeEq(distance.shape, [B, n, n]) || !shapeEq(region.shape, [B, n, n])) {
    throw new Error(`clnGrid: distance ${fmtShape(distance.shape)} and region ${fmtShape(region.shape)} must be (B, n, n) = ${fmtShape([B, n, n])} for norm ${fmtShape(norm.shape)}`);
  }
  if (distTable.rank !== 2 || regionTable.rank !== 2) {
    throw new Error(`clnGrid: distTable ${fmtShape(distTable.shape)} and regionTable ${fmtShape(regionTable.shape)} must be (rows, E)`);
  }
  const d: ClnGridDims = { B, n, H, K1: distTable.shape[0], E1: distTable.shape[1], K2: regionTable.shape[0], E2: regionTable.shape[1] };
  const out = empty(norm.device, norm.dtype, [B, n, n, H + d.E1 + d.E2]);
  if (norm.device.kind === 'cpu') cpuClnGrid(norm.array, scale.array, shift.array, distTable.array, distance.array, regionTable.array, region.array, out.array, d);
  else launchClnGrid(norm.device, norm, scale, shift, distTable, distance, regionTable, region, out, d);
  return record(out, 'clnGrid', [norm, scale, shift, distTable, regionTable], [distance, region], { d });
}

/**
 * Gradients of norm, scale, shift, distTable and regionTable for the upstream gradient g (B, n, n, G),
 * each null where its input needs none (scale's and shift's come from one kernel, so both or neither).
 */
export function clnGridBackward(inputs: Tensor[], ids: Tensor[], g: Tensor, d: ClnGridDims): (Tensor | null)[] {
  const [norm, scale, shift, distTable, regionTable] = inputs, [distance, region] = ids;
  const want = inputs.map((t) => t.requiresGrad);
  const like = (t: Tensor, i: number) => (want[i] ? empty(t.device, t.dtype, t.shape) : null);
  const dNorm = like(norm, 0);
  const [dScale, dShift] = want[1] || want[2] ? [empty(norm.device, norm.dtype, scale.shape), empty(norm.device, norm.dtype, shift.shape)] : [null, null];
  if (norm.device.kind === 'cpu') {
    const [dDist, dReg] = [like(distTable, 3), like(regionTable, 4)];
    cpuClnGridBackward(norm.array, scale.array, distance.array, region.array, g.array,
      { dNorm: dNorm?.array ?? null, dScale: dScale?.array ?? null, dShift: dShift?.array ?? null, dDist: dDist?.array ?? null, dReg: dReg?.array ?? null }, d);
    return [dNorm, dScale, dShift, dDist, dReg];
  }
  const part = (i: number, K: number, E: number) => (want[i] ? empty(norm.device, norm.dtype, [d.B, K, E]) : null);
  const [dDistPart, dRegPart] = [part(3, d.K1, d.E1), part(4, d.K2, d.E2)];
  launchClnGridBackward(norm.device, norm, scale, distance, region, g, { dNorm, dScaleShift: dScale && dShift ? [dScale, dShift] : null, dDistPart, dRegPart }, d);
  return [dNorm, dScale, dShift, dDistPart && sum(dDistPart, 0), dRegPart && sum(dRegPart, 0)];
}
