/**
 * AdamW on the fused kernel, with parameter groups, optional bias correction, the decay order of either
 * torch (before the step) or Hugging Face (after it; the official DiffusionNER), global-norm clipping, and
 * the learning-rate schedules DiffusionNER uses (spec §1.8).
 */
import * as T from '../ops/index.js';
import { keep, tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ParamGroup {
  params: Tensor[];
  weightDecay?: number;
  /** Multiplies the optimiser's learning rate for this group. */
  lrScale?: number;
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Adam's bias correction (torch: on; the official DiffusionNER: off). */
  correctBias?: boolean;
  /** Apply weight decay after the Adam step, as Hugging Face's AdamW does. */
  decayAfter?: boolean;
}

/**
 * Splits named parameters the way the official code does: no decay for names containing `bias`,
 * `LayerNorm.bias` or `LayerNorm.weight`; `weightDecay` for the rest.
 */
export function decayGroups(named: Iterable<[string, Tensor]>, weightDecay: number): ParamGroup[] {
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [n, p] of named) (/bias|LayerNorm\.weight/.test(n) ? noDecay : decay).push(p);
  return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }];
}

export class AdamW {
  lr: number;
  /** Optimiser steps taken (the learning-rate schedules count these). */
  stepCount = 0;
  readonly groups: Required<ParamGroup>[];
  private moments = new Map<Tensor, [Tensor, Tensor]>();
  /**
   * Updates each parameter has had: bias correction counts per parameter, as torch and Hugging Face do,
   * so a parameter that first gets a gradient late (BERT after its frozen epochs) starts at step 1.
   */
  private updates = new Map<Tensor, number>();
  private readonly o: Required<AdamWOptions>;

  constructor(params: Tensor[] | ParamGroup[], opts: AdamWOptions) {
    this.o = { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, correctBias: true, decayAfter: false, ...opts };
    this.lr = opts.lr;
    const groups: ParamGroup[] = params.length && params[0] instanceof Object && 'params' in (params[0] as object)
      ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
    this.groups = groups.map((g) => ({ params: g.params, weightDecay: g.weightDecay ?? this.o.weightDecay, lrScale: g.lrScale ?? 1 }));
    const seen = new Set<Tensor>();
    for (const g of this.groups) for (const p of g.params) {
      if (seen.has(p)) throw new Error(`AdamW: ${p.describe()} is in two parameter groups`);
      seen.add(p);
    }
  }

  /**
   * One update of every parameter that has a gradient. `gradScale` multiplies all gradients first
   * (pass clipGradNorm's result to clip).
   */
  step(gradScale = 1): void {
    this.stepCount++;
    const [b1, b2] = this.o.betas;
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.grad || !p.requiresGrad) continue;
        let m = this.moments.get(p);
        if (!m) this.moments.set(p, (m = [keep(T.zerosLike(p)), keep(T.zerosLike(p))]));
        const t = (this.updates.get(p) ?? 0) + 1;
        this.updates.set(p, t);
        const bc1 = this.o.correctBias ? 1 - b1 ** t : 1;
        const bc2 = this.o.correctBias ? 1 - b2 ** t : 1;
        // Hugging Face adds eps before correcting v (m̂ / ((√v + eps) / √bc2)); torch after (m̂ / (√v̂ + eps)).
        const eps = this.o.decayAfter ? this.o.eps / Math.sqrt(bc2) : this.o.eps;
        T.adamwUpdate(p, p.grad, m[0], m[1], {
          lr: this.lr * g.lrScale, beta1: b1, beta2: b2, eps, weightDecay: g.weightDecay,
          bc1, bc2, gradScale, decayAfter: this.o.decayAfter,
        });
      }
    }
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) { p.grad?.dispose(); p.grad = null; }
  }

  /** The moments (exp_avg, exp_avg_sq) of a parameter, if it has been updated. */
  state(p: Tensor): [Tensor, Tensor] | undefined {
    return this.moments.get(p);
  }

  /** How many updates a parameter has had (0 before its first). */
  updatesOf(p: Tensor): number {
    return this.updates.get(p) ?? 0;
  }

  /** Restores a parameter's moments and update count (resuming from a checkpoint). */
  setState(p: Tensor, expAvg: Float32Array, expAvgSq: Float32Array, updates: number): void {
    if (expAvg.length !== p.size || expAvgSq.length !== p.size) {
      throw new Error(`AdamW.setState: moments of ${expAvg.length} and ${expAvgSq.length} values for ${p.describe()}`);
    }
    if (!Number.isSafeInteger(updates) || updates < 0) throw new Error(`AdamW.setState: ${updates} updates for ${p.describe()}`);
    let m = this.moments.get(p);
    if (!m) this.moments.set(p, (m = [keep(T.zerosLike(p)), keep(T.zerosLike(p))]));
    m[0].copyFrom(expAvg);
    m[1].copyFrom(expAvgSq);
    this.updates.set(p, updates);
  }

  dispose(): void {
    for (const [m, v] of this.moments.values()) { m.dispose(); v.dispose(); }
    this.moments.clear();
    this.updates.clear();
  }
}

/**
 * The factor that clips the global L2 norm of all gradients to maxNorm (torch.nn.utils.clip_grad_norm_:
 * min(1, maxNorm / (norm + 1e-6))), and the norm. One scalar readback.
 */
export async function clipGradNorm(params: Tensor[], maxNorm: number): Promise<{ norm: number; scale: number }> {
  const grads = params.filter((p) => p.grad).map((p) => p.grad!);
  if (grads.length === 0) return { norm: 0, scale: 1 };
  const sq = tidy(() => T.sum(T.sumSquaresEach(grads)));
  const norm = Math.sqrt(await sq.item());
  sq.dispose();
  return { norm, scale: Number.isFinite(norm) ? Math.min(1, maxNorm / (norm + 1e-6)) : 1 };
}

/** Hugging Face's get_linear_schedule_with_warmup: 0 -> 1 over `warmup` steps, then linearly to 0 at `total`. */
export function linearWarmupDecay(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

/**
 * The official two-stage schedule (spec §1.8): stage one (encoder frozen) warms up 0 -> 1 over W1, then
 * jumps to `stageOneScale` and decays to 0 at U1; stage two warms up again over W2 and decays to 0 at U1 + U2.
 */
export function twoStageSchedule(step: number, u1: number, u2: number, warmupFraction = 0.1, stageOneScale = 2.0): number {
  const w1 = warmupFraction * u1, w2 = warmupFraction * u2;
  if (step < u1) return step < w1 ? step / Math.max(1e-12, w1) : Math.max(0, (stageOneScale * (u1 - step)) / Math.max(1e-12, u1 - w1));
  const s = step - u1;
  return s < w2 ? s / Math.max(1e-12, w2) : Math.max(0, (u2 - s) / Math.max(1e-12, u2 - w2));
}
