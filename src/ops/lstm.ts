/**
 * One LSTM layer in one direction as a differentiable op on the fused step kernels, and the same layer
 * written with ordinary ops (the reference). Weights in torch's layout and gate order (i, f, g, o).
 *   x (B, L, I), w_ih [4H, I], w_hh [4H, H], b_ih [4H], b_hh [4H], lengths (host, B) -> (B, L, H)
 * Outputs at padded positions (t >= length) are 0 and padding never feeds the state; the reverse
 * direction starts at each sequence's own last word.
 */
import { cpuLstmBackward, cpuLstmForward, launchLstmBackward, launchLstmForward, type LstmDims } from '../kernels/lstm.js';
import { fmtShape, shapeEq } from '../tensor/shape.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';
import { checkTensor, empty, record, sameDevice } from './core.js';
import { tensor, zeros } from './creation.js';
import { add, affine, mul, sigmoid, tanh } from './elementwise.js';
import { linear, matmul } from './nn.js';
import { sum } from './reduce.js';
import { clone, concat, reshape, slice, stack } from './shape-ops.js';

export interface LstmWeights { wih: Tensor; whh: Tensor; bih: Tensor; bhh: Tensor }

function check(x: Tensor, w: LstmWeights, lengths: readonly number[], op: string): LstmDims & { I: number; steps: number } {
  checkTensor(op, x);
  sameDevice(op, x, w.wih, w.whh, w.bih, w.bhh);
  if (x.rank !== 3) throw new Error(`${op}: input must be (B, L, features), got ${fmtShape(x.shape)}`);
  const [B, L, I] = x.shape, H = w.whh.shape[1];
  if (!shapeEq(w.wih.shape, [4 * H, I]) || !shapeEq(w.whh.shape, [4 * H, H]) || !shapeEq(w.bih.shape, [4 * H]) || !shapeEq(w.bhh.shape, [4 * H])) {
    throw new Error(`${op}: weights ${fmtShape(w.wih.shape)}, ${fmtShape(w.whh.shape)}, ${fmtShape(w.bih.shape)}, ${fmtShape(w.bhh.shape)} do not fit input size ${I} and hidden size ${H}`);
  }
  if (lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 0 || n > L)) {
    throw new Error(`${op}: lengths [${lengths.join(', ')}] must be ${B} integers in 0..${L}`);
  }
  return { B, L, H, I, reverse: false, steps: Math.max(0, ...lengths) };
}

export function lstmLayer(x: Tensor, w: LstmWeights, lengths: readonly number[], reverse = false): Tensor {
  const d = { ...check(x, w, lengths, 'lstm'), reverse };
  const lens = tensor(Int32Array.from(lengths), { device: x.device });
  const hs = zeros([d.B, d.L, d.H], { device: x.device, dtype: x.dtype });
  const c = zeros([d.B, d.L, d.H], { device: x.device, dtype: x.dtype });
  const g = zeros([d.B, d.L, 4 * d.H], { device: x.device, dtype: x.dtype });
  noGrad(() => {
    const xw = linear(x, w.wih, add(w.bih, w.bhh));
    if (x.device.kind === 'cpu') cpuLstmForward(xw.array, w.whh.array, lens.array, hs.array, c.array, g.array, d);
    else launchLstmForward(x.device, xw, w.whh, lens, hs, c, g, d, d.steps);
    xw.dispose();
  });
  return record(hs, 'lstm', [x, w.wih, w.whh, w.bih, w.bhh], [hs, c, g, lens], { d });
}

/** Gradients of one layer-direction from dL/d(outputs). */
export function lstmLayerBackward(x: Tensor, w: LstmWeights, hs: Tensor, c: Tensor, g: Tensor, lens: Tensor, dhs: Tensor, d: LstmDims & { I: number; steps: number }): Tensor[] {
  const da = zeros([d.B, d.L, 4 * d.H], { device: x.device, dtype: x.dtype });
  if (x.device.kind === 'cpu') cpuLstmBackward(w.whh.array, lens.array, c.array, g.array, dhs.array, da.array, d);
  else {
    const dc = zeros([d.B, d.H], { device: x.device, dtype: x.dtype });
    launchLstmBackward(x.device, w.whh, lens, c, g, dhs, da, dc, d, d.steps);
    dc.dispose();
  }
  // h_{t−1} in processing order: shifted outputs (padding is already 0 there).
  const zero = zeros([d.B, 1, d.H], { device: x.device, dtype: x.dtype });
  const hPrev = d.L < 2 ? zeros([d.B, d.L, d.H], { device: x.device, dtype: x.dtype })
    : d.reverse ? concat([slice(hs, 1, 1), zero], 1) : concat([zero, slice(hs, 1, 0, d.L - 1)], 1);
  const da2 = reshape(da, [d.B * d.L, 4 * d.H]);
  const db = sum(da2, 0);
  return [
    matmul(da, w.wih),
    matmul(da2, reshape(x, [d.B * d.L, d.I]), { transA: true }),
    matmul(da2, reshape(hPrev, [d.B * d.L, d.H]), { transA: true }),
    db,
    clone(db), // the same values, but its own tensor: each parameter owns its gradient
  ];
}

/** The same layer from ordinary ops, one step at a time (the reference for the fused kernels). */
export function lstmLayerUnfused(x: Tensor, w: LstmWeights, lengths: readonly number[], reverse = false): Tensor {
  const d = check(x, w, lengths, 'lstmUnfused');
  const xw = linear(x, w.wih, add(w.bih, w.bhh));
  let h = zeros([d.B, d.H], { device: x.device, dtype: x.dtype });
  let c = zeros([d.B, d.H], { device: x.device, dtype: x.dtype });
  const outs: Tensor[] = [];
  const f = x.dtype === 'f64' ? 'f64' : 'f32';
  for (let s = 0; s < d.L; s++) {
    // Per sequence: the time index of step s, and whether the step is real (1) or padding (0).
    const times = lengths.map((n) => (reverse ? n - 1 - s : s));
    const live = tensor(lengths.map((n) => (s < n ? 1 : 0)), { shape: [d.B, 1], device: x.device, dtype: f });
    const rows = stack(times.map((t, b) => slice(slice(xw, 0, b, b + 1), 1, Math.max(0, t), Math.max(0, t) + 1)), 0);
    const a = add(reshape(rows, [d.B, 4 * d.H]), matmul(h, w.whh, { transB: true }));
    const gate = (k: number) => slice(a, 1, k * d.H, (k + 1) * d.H);
    const cNew = add(mul(sigmoid(gate(1)), c), mul(sigmoid(gate(0)), tanh(gate(2))));
    const hNew = mul(sigmoid(gate(3)), tanh(cNew));
    // Padding steps keep the state and output 0.
    const keepOld = affine(live, -1, 1);
    c = add(mul(cNew, live), mul(c, keepOld));
    h = add(mul(hNew, live), mul(h, keepOld));
    outs.push(mul(hNew, live));
  }
  const steps = stack(outs, 1); // (B, L, H) in step order
  if (!reverse) return steps;
  const perB = lengths.map((n, b) => {
    const row = slice(steps, 0, b, b + 1);
    if (n === 0) return row;
    const idx = Array.from({ length: d.L }, (_, t) => (t < n ? n - 1 - t : t));
    return concat(idx.map((i) => slice(row, 1, i, i + 1)), 1);
  });
  return concat(perB, 0);
}
