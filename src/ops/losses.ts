/**
 * Losses with PyTorch's exact semantics. Binary cross-entropy (torch.nn.functional.binary_cross_entropy):
 *   loss = −(y · max(log p, −100) + (1 − y) · max(log(1 − p), −100))     elementwise
 *   dloss/dp = (p − y) / max(p (1 − p), 1e−12)
 * The log clamp keeps a probability of exactly 0 or 1 (a −1e25 padding logit) finite.
 */
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../tensor/tensor.js';
import { cpuCrossEntropy, cpuCrossEntropyBackward, type CrossEntropyDims, launchCrossEntropy, launchCrossEntropyBackward } from '../kernels/cross-entropy.js';
import { checkTensor, empty, record, sameDevice } from './core.js';
import { full } from './creation.js';
import { add, affine, clamp, div, log, maximum, mul, sub } from './elementwise.js';
import { indexSelect } from './nn.js';
import { sum } from './reduce.js';
import { reshape, slice, stack } from './shape-ops.js';
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

export interface CrossEntropyOptions {
  /** Class weights (C): the weighted mean of torch's `weight`. */
  weight?: Tensor;
  /** ε: (1 − ε) · NLL + ε · mean over classes of −log p (torch's label_smoothing). Default 0. */
  labelSmoothing?: number;
  /** Per row 1 (counted) or 0 (left out, as torch's ignore_index) (N). */
  rowMask?: Tensor;
  /** Per logit 1 or 0 (N, C): log(mask + tiny) is added to the logits (BINDER's masking). */
  logitMask?: Tensor;
  /** The tiny of log(mask + tiny): 1e-13 (fp32, the default) or 1e-4 (the official fp16 runs). */
  tiny?: number;
}

/**
 * Cross-entropy of logits (N, C) against class targets (N, i32), mean-reduced with torch's semantics
 * (torch.nn.functional.cross_entropy with weight, ignore_index and label_smoothing), on the fused
 * kernels of src/kernels/cross-entropy.ts:
 *   nll    = Σ_i m_i w_{y_i} nll_i / Σ_i m_i w_{y_i}
 *   smooth = Σ_i m_i smooth_i / Σ_i m_i w_{y_i}        (w = 1 without weights; torch 1.13 divides so too)
 *   loss   = (1 − ε) nll + (ε / C) smooth
 */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  checkTensor('crossEntropy', logits, 'logits');
  checkTensor('crossEntropy', target, 'targets');
  const [N, C] = logits.shape, eps = o.labelSmoothing ?? 0;
  if (logits.rank !== 2 || !shapeEq(target.shape, [N]) || target.dtype !== 'i32') throw new Error(`crossEntropy: logits ${fmtShape(logits.shape)} and targets ${fmtShape(target.shape)} (${target.dtype}) must be (N, C) and (N) i32`);
  if (o.weight && !shapeEq(o.weight.shape, [C])) throw new Error(`crossEntropy: weight ${fmtShape(o.weight.shape)} must be (${C})`);
  if (o.rowMask && !shapeEq(o.rowMask.shape, [N])) throw new Error(`crossEntropy: rowMask ${fmtShape(o.rowMask.shape)} must be (${N})`);
  if (o.logitMask && !shapeEq(o.logitMask.shape, [N, C])) throw new Error(`crossEntropy: logitMask ${fmtShape(o.logitMask.shape)} must be (${N}, ${C})`);
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  sameDevice('crossEntropy', logits, target, ...[o.weight, o.rowMask, o.logitMask].filter((t): t is Tensor => !!t));
  const d: CrossEntropyDims = { N, C, hasMask: !!o.logitMask, hasWeight: !!o.weight, tiny: o.tiny ?? 1e-13 };
  const lse = empty(logits.device, logits.dtype, [N]), row = empty(logits.device, logits.dtype, [N, 2]);
  const mask = o.logitMask ?? null, w = o.weight ?? null;
  if (logits.device.kind === 'cpu') cpuCrossEntropy(logits.array, mask?.array ?? null, target.array, w?.array ?? null, lse.array, row.array, d);
  else launchCrossEntropy(logits.device, logits, mask, target, w, lse, row, d);
  const { scale, m } = noGrad(() => {
    const m = o.rowMask ?? full([N], 1, { device: logits.device, dtype: logits.dtype });
    return { m, scale: w ? mul(m, indexSelect(w, 0, target)) : m };
  });
  const out = noGrad(() => {
    const [nll, smooth] = [slice(row, 1, 0, 1), slice(row, 1, 1, 2)].map((x) => reshape(x, [N]));
    const denominator = sum(scale);
    return add(affine(div(sum(mul(scale, nll)), denominator), 1 - eps), affine(div(sum(mul(m, smooth)), denominator), eps / C));
  });
  return record(out, 'crossEntropy', [logits], [target, lse, scale, m, ...(mask ? [mask] : []), ...(w ? [w] : [])], { d, eps });
}

/** d loss / d logits for the upstream gradient g (a scalar), from what the forward saved. */
export function crossEntropyBackward(logits: Tensor, g: Tensor, saved: Tensor[], d: CrossEntropyDims, eps: number): Tensor {
  const [target, lse, scale, m] = saved;
  const mask = d.hasMask ? saved[4] : null, w = d.hasWeight ? saved[d.hasMask ? 5 : 4] : null;
  const denominator = sum(scale);
  const a = mul(scale, div(affine(g, 1 - eps), denominator));
  const b = mul(m, div(affine(g, eps / d.C), denominator));
  const coef = stack([a, b], 1); // (N, 2)
  const dz = empty(logits.device, logits.dtype, logits.shape);
  if (logits.device.kind === 'cpu') cpuCrossEntropyBackward(logits.array, mask?.array ?? null, target.array, w?.array ?? null, lse.array, coef.array, dz.array, d);
  else launchCrossEntropyBackward(logits.device, logits, mask, target, w, lse, coef, dz, d);
  return dz;
}
