/**
 * The boundary pointer as one differentiable op on the fused kernels, and the unfused composition that
 * materialises (B, K, M, H) (the reference).
 *   U (B, M, H), V (B, K, H), w (H), bias (1), mask (B, M) -> logits (B, K, M), −1e25 at padding
 */
import { cpuPointer, cpuPointerBackward, launchPointer, launchPointerBackward, PADDING_LOGIT, type PointerDims } from '../kernels/pointer.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, sameDevice } from './core.js';
import { add, relu, where } from './elementwise.js';
import { matmul } from './nn.js';
import { sum } from './reduce.js';
import { reshape, unsqueeze } from './shape-ops.js';

function dims(u: Tensor, v: Tensor, w: Tensor, bias: Tensor, mask: Tensor): PointerDims {
  [u, v, w, bias, mask].forEach((t, i) => checkTensor('boundaryPointer', t, ['U', 'V', 'w', 'bias', 'mask'][i]));
  sameDevice('boundaryPointer', u, v, w, bias, mask);
  const [B, M, H] = u.shape, K = v.shape[1];
  if (u.rank !== 3 || v.rank !== 3 || v.shape[0] !== B || v.shape[2] !== H || !shapeEq(w.shape, [H]) || bias.size !== 1 || !shapeEq(mask.shape, [B, M])) {
    throw new Error(`boundaryPointer: U ${fmtShape(u.shape)}, V ${fmtShape(v.shape)}, w ${fmtShape(w.shape)}, bias ${fmtShape(bias.shape)}, mask ${fmtShape(mask.shape)} must be (B, M, H), (B, K, H), (H), (1), (B, M)`);
  }
  return { B, K, M, H };
}

export function boundaryPointer(u: Tensor, v: Tensor, w: Tensor, bias: Tensor, mask: Tensor): Tensor {
  const d = dims(u, v, w, bias, mask);
  if (u.device.kind === 'webgpu' && d.H % 4 !== 0) return boundaryPointerUnfused(u, v, w, bias, mask);
  const z = empty(u.device, u.dtype, [d.B, d.K, d.M]);
  if (u.device.kind === 'cpu') cpuPointer(u.array, v.array, w.array, bias.array, mask.array, z.array, d);
  else launchPointer(u.device, u, v, w, bias, mask, z, d);
  return record(z, 'boundaryPointer', [u, v, w, bias], [mask], { d });
}

export function boundaryPointerBackward(u: Tensor, v: Tensor, w: Tensor, bias: Tensor, mask: Tensor, g: Tensor, d: PointerDims): Tensor[] {
  // Padding logits are constants: no gradient flows through them.
  const gm = where(reshape(mask, [d.B, 1, d.M]), g, 0);
  const du = empty(u.device, u.dtype, u.shape), dv = empty(u.device, u.dtype, v.shape);
  const dwPart = empty(u.device, u.dtype, [d.B * d.K, d.H]);
  if (u.device.kind === 'cpu') cpuPointerBackward(u.array, v.array, w.array, gm.array, du.array, dv.array, dwPart.array, d);
  else launchPointerBackward(u.device, u, v, w, gm, du, dv, dwPart, d);
  return [du, dv, sum(dwPart, 0), reshape(sum(gm), bias.shape)];
}

export function boundaryPointerUnfused(u: Tensor, v: Tensor, w: Tensor, bias: Tensor, mask: Tensor): Tensor {
  const d = dims(u, v, w, bias, mask);
  const s = relu(add(unsqueeze(u, 1), unsqueeze(v, 2))); // (B, K, M, H)
  const z = add(reshape(matmul(reshape(s, [d.B * d.K * d.M, d.H]), reshape(w, [d.H, 1])), [d.B, d.K, d.M]), reshape(bias, [1]));
  return where(reshape(mask, [d.B, 1, d.M]), z, PADDING_LOGIT);
}
