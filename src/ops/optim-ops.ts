/** In-place optimiser updates on the fused AdamW kernel (no autograd). */
import { type AdamWParams, cpuAdamW, launchAdamW } from '../kernels/adamw.js';
import { shapeEq } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor, requireFloat, sameDevice, sameDType } from './core.js';

export type { AdamWParams };

/** Updates p, m and v in place from g (see src/kernels/adamw.ts for the exact rule). */
export function adamwUpdate(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWParams): void {
  for (const [t, w] of [[p, 'param'], [g, 'grad'], [m, 'exp_avg'], [v, 'exp_avg_sq']] as const) checkTensor('adamw', t, w);
  requireFloat('adamw', p);
  const device = sameDevice('adamw', p, g, m, v);
  sameDType('adamw', p, g, m, v);
  if (![g, m, v].every((t) => shapeEq(t.shape, p.shape))) throw new Error(`adamw: grad and moments must match ${p.describe()}`);
  if (device.kind === 'cpu') cpuAdamW(p.array, g.array, m.array, v.array, h);
  else launchAdamW(device, p, g, m, v, h);
}
