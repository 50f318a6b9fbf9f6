/**
 * Every backward rule, in one table. A rule gets the upstream gradient g (shaped like the op's output),
 * the recorded node and the output, and returns one gradient per input (null where none flows).
 * Rules are written with ordinary ops, so they run on whatever device the forward ran on.
 */
import type { Activation } from '../kernels/matmul.js';
import type { AxisView } from '../kernels/softmax.js';
import { shapeEq } from '../tensor/shape.js';
import type { GradNode, Tensor } from '../tensor/tensor.js';
import { zeros } from './creation.js';
import { add, affine, cos, div, eq, ge, gt, le, log, lt, mul, neg, pow, sin, square, sub, unary, where } from './elementwise.js';
import { dropout, indexAdd, indexSelect, layerNormBackward, matmul, softmaxBackward } from './nn.js';
import { attentionBackward } from './attention.js';
import { lstmLayerBackward } from './lstm.js';
import { boundaryPointerBackward } from './pointer.js';
import { binaryCrossEntropyGrad, crossEntropyBackward } from './losses.js';
import type { CrossEntropyDims } from '../kernels/cross-entropy.js';
import type { Conv3dDims } from '../kernels/conv3d.js';
import { depthwiseConv3dBackward } from './conv3d.js';
import type { ClnGridDims } from '../kernels/cln-grid.js';
import { clnGridBackward } from './cln-grid.js';
import type { PointerDims } from '../kernels/pointer.js';
import type { LstmDims } from '../kernels/lstm.js';
import type { AttentionDims } from '../kernels/attention.js';
import { sum } from './reduce.js';
import { cast, expand, permute, reshape, slice, sliceBackward } from './shape-ops.js';

type Grads = (Tensor | null)[];
type Rule = (g: Tensor, node: GradNode, out: Tensor) => Grads;

/** Sums a broadcast gradient back down to `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapeEq(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

const broadcastBack = (g: Tensor, node: GradNode): Tensor => expand(reshape(g, node.attrs.keptShape as number[]), node.inputs[0].shape);

/** For max/min: the gradient is shared equally among tied extremes (like torch.amax). */
function extremumRule(g: Tensor, node: GradNode, out: Tensor): Grads {
  const x = node.inputs[0];
  const kept = node.attrs.keptShape as number[];
  const mask = eq(x, expand(reshape(out, kept), x.shape));
  const axes = kept.flatMap((d, i) => (d === 1 && x.shape[i] !== 1 ? [i] : []));
  const count = sum(mask, axes, true);
  return [mul(broadcastBack(g, node), div(mask, count))];
}

const p = (node: GradNode, k: 'p0' | 'p1') => node.attrs[k] as number;
const [X, Y] = [(n: GradNode) => n.inputs[0], (n: GradNode) => n.inputs[1]];

export const GRAD_RULES: Record<string, Rule> = {
  // unary (out = f(x))
  neg: (g) => [neg(g)],
  abs: (g, n) => [mul(g, sub(gt(X(n), 0), lt(X(n), 0)))],
  affine: (g, n) => [affine(g, p(n, 'p0'))],
  divScalar: (g, n) => [unary('divScalar', g, p(n, 'p0'))],
  exp: (g, _n, y) => [mul(g, y)],
  log: (g, n) => [div(g, X(n))],
  sqrt: (g, _n, y) => [div(affine(g, 0.5), y)],
  rsqrt: (g, _n, y) => [mul(g, affine(mul(y, square(y)), -0.5))],
  reciprocal: (g, _n, y) => [neg(mul(g, square(y)))],
  square: (g, n) => [mul(g, affine(X(n), 2))],
  sin: (g, n) => [mul(g, cos(X(n)))],
  cos: (g, n) => [neg(mul(g, sin(X(n))))],
  tanh: (g, _n, y) => [mul(g, affine(square(y), -1, 1))],
  sigmoid: (g, _n, y) => [mul(g, mul(y, affine(y, -1, 1)))],
  relu: (g, n) => [mul(g, unary('step', X(n)))],
  step: () => [null],
  round: () => [null],
  gelu: (g, n) => [mul(g, unary('geluGrad', X(n)))],
  erf: (g, n) => [mul(g, affine(unary('exp', neg(square(X(n)))), 2 / Math.sqrt(Math.PI)))],
  clamp: (g, n) => [mul(g, mul(ge(X(n), p(n, 'p0')), le(X(n), p(n, 'p1'))))],
  powScalar: (g, n) => [mul(g, affine(pow(X(n), p(n, 'p0') - 1), p(n, 'p0')))],

  // binary, with broadcasting
  add: (g, n) => [sumToShape(g, X(n).shape), sumToShape(g, Y(n).shape)],
  sub: (g, n) => [sumToShape(g, X(n).shape), sumToShape(neg(g), Y(n).shape)],
  mul: (g, n) => [sumToShape(mul(g, Y(n)), X(n).shape), sumToShape(mul(g, X(n)), Y(n).shape)],
  div: (g, n) => [
    sumToShape(div(g, Y(n)), X(n).shape),
    sumToShape(neg(div(mul(g, X(n)), square(Y(n)))), Y(n).shape),
  ],
  pow: (g, n, y) => [
    sumToShape(mul(g, mul(Y(n), pow(X(n), sub(Y(n), 1)))), X(n).shape),
    sumToShape(mul(g, mul(y, log(X(n)))), Y(n).shape),
  ],
  maximum: (g, n) => {
    const share = add(gt(X(n), Y(n)), affine(eq(X(n), Y(n)), 0.5));
    return [sumToShape(mul(g, share), X(n).shape), sumToShape(mul(g, affine(share, -1, 1)), Y(n).shape)];
  },
  minimum: (g, n) => {
    const share = add(lt(X(n), Y(n)), affine(eq(X(n), Y(n)), 0.5));
    return [sumToShape(mul(g, share), X(n).shape), sumToShape(mul(g, affine(share, -1, 1)), Y(n).shape)];
  },
  where: (g, n) => {
    const [cond, a, b] = n.inputs;
    return [null, sumToShape(where(cond, g, 0), a.shape), sumToShape(where(cond, 0, g), b.shape)];
  },

  // shape
  reshape: (g, n) => [reshape(g, n.attrs.from as number[])],
  permute: (g, n) => {
    const dims = n.attrs.dims as number[];
    const inv = dims.map((_, i) => dims.indexOf(i));
    return [permute(g, inv)];
  },
  slice: (g, n) => [sliceBackward(g, X(n).shape, n.attrs.axis as number, n.attrs.start as number, n.attrs.step as number)],
  sliceBackward: (g, n) => {
    const { axis, start, step } = n.attrs as { axis: number; start: number; step: number };
    return [slice(g, axis, start, start + X(n).shape[axis] * step, step)];
  },
  concat: (g, n) => {
    const axis = n.attrs.axis as number;
    let offset = 0;
    return (n.attrs.sizes as number[]).map((s) => slice(g, axis, offset, (offset += s)));
  },
  expand: (g, n) => [sumToShape(g, n.attrs.from as number[])],
  clone: (g) => [g],
  cast: (g, n) => [cast(g, n.attrs.from as 'f32' | 'f64')],

  // reductions
  sum: (g, n) => [broadcastBack(g, n)],
  mean: (g, n) => [affine(broadcastBack(g, n), 1 / (n.attrs.count as number))],
  max: extremumRule,
  min: extremumRule,

  // nn
  softmax: (g, n, y) => [softmaxBackward(y, g, n.attrs.view as AxisView, false)],
  logSoftmax: (g, n, y) => [softmaxBackward(y, g, n.attrs.view as AxisView, true)],
  layerNorm: (g, n) => {
    const [x, gamma] = n.inputs;
    const [meanT, rstdT] = n.saved;
    return layerNormBackward(x, gamma, meanT, rstdT, g, n.attrs.rows as number, n.attrs.d as number);
  },
  matmul: (g, n, y) => {
    const [a, b, bias] = n.inputs;
    const { transA, transB, act } = n.attrs as { transA: boolean; transB: boolean; act: Activation };
    const dz = act === 'relu' ? mul(g, unary('step', y)) : g;
    // C = op(A) op(B): each case is the textbook pair, written for the stored layouts.
    const da = transA ? matmul(b, dz, { transA: transB, transB: true }) : matmul(dz, b, { transB: !transB });
    const db = transB ? matmul(dz, a, { transA: true, transB: transA }) : matmul(a, dz, { transA: !transA });
    const grads: Grads = [sumToShape(da, a.shape), sumToShape(db, b.shape)];
    if (bias) grads.push(sumToShape(dz, bias.shape));
    return grads;
  },
  indexSelect: (g, n) => {
    const x = X(n);
    return [indexAdd(zeros(x.shape, { dtype: x.dtype, device: x.device }), n.attrs.axis as number, n.saved[0], g)];
  },
  dropout: (g, n) => [dropout(g, n.attrs.p as number, n.attrs.seed as number)],
  indexAdd: (g, n) => [g, indexSelect(g, n.attrs.axis as number, n.saved[0])],
  depthwiseConv3d: (g, n) => depthwiseConv3dBackward(X(n), Y(n), g, n.attrs.d as Conv3dDims),
  clnGrid: (g, n) => clnGridBackward(n.inputs, n.saved, g, n.attrs.d as ClnGridDims),
  crossEntropy: (g, n) => [crossEntropyBackward(X(n), g, n.saved, n.attrs.d as CrossEntropyDims, n.attrs.eps as number)],
  binaryCrossEntropy: (g, n) => [sumToShape(mul(g, binaryCrossEntropyGrad(X(n), Y(n))), X(n).shape), null],
  boundaryPointer: (g, n) => {
    const [u, v, w, bias] = n.inputs;
    return boundaryPointerBackward(u, v, w, bias, n.saved[0], g, n.attrs.d as PointerDims);
  },
  lstm: (g, n) => {
    const [x, wih, whh, bih, bhh] = n.inputs;
    const [hs, c, gates, lens] = n.saved;
    return lstmLayerBackward(x, { wih, whh, bih, bhh }, hs, c, gates, lens, g, n.attrs.d as LstmDims & { I: number; steps: number });
  },
  attention: (g, n) => {
    const [q, k, v] = n.inputs;
    const [out, lse, mask] = n.saved;
    return attentionBackward(q, k, v, mask ?? null, out, lse, g, n.attrs.dims as AttentionDims);
  },
};
