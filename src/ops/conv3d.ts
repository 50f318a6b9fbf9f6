/**
 * Depthwise 3-D convolution (3×3×3 kernel, dilation d, padding d, a bias per channel) as one
 * differentiable op on the kernels of src/kernels/conv3d.ts, with torch's layout and semantics:
 *   x (B, C, D1, D2, D3), weight (C, 1, 3, 3, 3), bias (C) -> (B, C, D1, D2, D3)
 */
import { type Conv3dDims, cpuConv3d, cpuConv3dBackward, launchConv3d, launchConv3dBackward } from '../kernels/conv3d.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, sameDevice } from './core.js';
import { sum } from './reduce.js';
import { reshape } from './shape-ops.js';

export function depthwiseConv3d(x: Tensor, weight: Tensor, bias: Tensor, dilation = 1): Tensor {
  [x, weight, bias].forEach((t, i) => checkTensor('depthwiseConv3d', t, ['input', 'weight', 'bias'][i]));
  sameDevice('depthwiseConv3d', x, weight, bias);
  const [B, C, D1, D2, D3] = x.shape;
  if (x.rank !== 5 || !shapeEq(weight.shape, [C, 1, 3, 3, 3]) || !shapeEq(bias.shape, [C])) {
    throw new Error(`depthwiseConv3d: input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}, bias ${fmtShape(bias.shape)} must be (B, C, D1, D2, D3), (C, 1, 3, 3, 3), (C)`);
  }
  if (!(Number.isInteger(dilation) && dilation >= 1)) throw new Error(`depthwiseConv3d: dilation must be a whole number >= 1, got ${dilation}`);
  const d: Conv3dDims = { B, C, D1, D2, D3, dilation };
  const y = empty(x.device, x.dtype, x.shape);
  if (x.device.kind === 'cpu') cpuConv3d(x.array, weight.array, bias.array, y.array, d);
  else launchConv3d(x.device, x, weight, bias, y, d);
  return record(y, 'depthwiseConv3d', [x, weight, bias], [], { d });
}

/** Gradients of input, weight and bias for the upstream gradient g. */
export function depthwiseConv3dBackward(x: Tensor, weight: Tensor, g: Tensor, d: Conv3dDims): Tensor[] {
  const dx = empty(x.device, x.dtype, x.shape), dwPart = empty(x.device, x.dtype, [d.B, d.C, 27]);
  if (x.device.kind === 'cpu') cpuConv3dBackward(x.array, weight.array, g.array, dx.array, dwPart.array, d);
  else launchConv3dBackward(x.device, x, weight, g, dx, dwPart, d);
  return [dx, reshape(sum(dwPart, 0), weight.shape), sum(g, [0, 2, 3, 4])];
}
