/**
 * Binary cross-entropy with PyTorch's exact semantics (torch.nn.functional.binary_cross_entropy):
 *   loss = −(y · max(log p, −100) + (1 − y) · max(log(1 − p), −100))     elementwise
 *   dloss/dp = (p − y) / max(p (1 − p), 1e−12)
 * The log clamp keeps a probability of exactly 0 or 1 (a −1e25 padding logit) finite.
 */
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/tensor.js';
import { checkTensor, record, sameDevice } from './core.js';
import { add, affine, clamp, div, log, maximum, mul, sub } from './elementwise.js';
import { broadcastShapes, fmtShape, shapeEq } from '../tensor/shape.js';

export function binaryCrossEntropy(p: Tensor, y: Tensor): Tensor {
  checkTensor('binaryCrossEntropy', p, 'probabilities');
  checkTensor('binaryCrossEntropy', y, 'targets');
  sameDevice('binaryCrossEntropy', p, y);
  if (!shapeEq(broadcastShapes('binaryCrossEntropy', p.shape, y.shape), p.shape)) {
    throw new Error(`binaryCrossEntropy: targets ${fmtShape(y.shape)} must broadcast to ${fmtShape(p.shape)}`);
  }
  const out = noGrad(() => {
    const lp = clamp(log(p), -100, Infinity);
    const lq = clamp(log(affine(p, -1, 1)), -100, Infinity);
    return affine(add(mul(y, lp), mul(affine(y, -1, 1), lq)), -1);
  });
  return record(out, 'binaryCrossEntropy', [p, y]);
}

/** dloss/dp, used by the backward rule. */
export function binaryCrossEntropyGrad(p: Tensor, y: Tensor): Tensor {
  return div(sub(p, y), maximum(mul(p, affine(p, -1, 1)), 1e-12));
}
