/**
 * Variance schedules, in float64 like the official code (spec §1.4.2). Timesteps are 0-indexed:
 * alphasCumprod[t] is ᾱ_t for t in 0..T-1.
 */
export const SCHEDULE_KINDS = ['linear', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export class NoiseSchedule {
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;

  private constructor(readonly kind: ScheduleKind, readonly betas: Float64Array) {
    const T = betas.length;
    this.alphas = betas.map((b) => 1 - b);
    this.alphasCumprod = new Float64Array(T);
    let acc = 1;
    for (let t = 0; t < T; t++) this.alphasCumprod[t] = acc *= this.alphas[t];
  }

  get T(): number {
    return this.betas.length;
  }

  static create(kind: ScheduleKind, T: number): NoiseSchedule {
    if (!Number.isInteger(T) || T < 1) throw new Error(`diffusion schedule: T must be a positive integer, got ${T}`);
    return new NoiseSchedule(kind, kind === 'linear' ? linearBetas(T) : cosineBetas(T));
  }

  /** ᾱ_t, checking t is a valid timestep. */
  alphaBar(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.T) throw new Error(`timestep ${t} is outside 0..${this.T - 1}`);
    return this.alphasCumprod[t];
  }
}

/** β = linspace(s·1e-4, s·0.02, T) with s = 1000 / T, both ends included (torch.linspace in float64). */
export function linearBetas(T: number): Float64Array {
  const s = 1000 / T;
  const lo = s * 0.0001, hi = s * 0.02;
  const out = new Float64Array(T);
  if (T === 1) { out[0] = lo; return out; }
  const step = (hi - lo) / (T - 1);
  // torch.linspace fills the second half from the end, so both endpoints are exact.
  const half = Math.floor(T / 2);
  for (let i = 0; i < T; i++) out[i] = i < half ? lo + step * i : hi - step * (T - 1 - i);
  return out;
}

/** Nichol & Dhariwal: f(i) = cos(((i/T) + s)/(1 + s) · π/2)², β_t = 1 − f(t+1)/f(t), clipped to [0, 0.999]. */
export function cosineBetas(T: number, s = 0.008): Float64Array {
  const f = (i: number) => Math.cos((((i / T) + s) / (1 + s)) * Math.PI * 0.5) ** 2;
  const f0 = f(0);
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const b = 1 - (f(t + 1) / f0) / (f(t) / f0);
    out[t] = Math.min(0.999, Math.max(0, b));
  }
  return out;
}
