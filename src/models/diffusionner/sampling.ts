/**
 * DiffusionNER's inference defaults, one source for the trainer, eval, predict, trace and the API: DDIM
 * steps γ = 5, η = 1 (the official sampler), φ = 2.5 (every official config). K_eval defaults to the
 * model's own K (config `proposals`).
 */
export const SAMPLING_DEFAULTS = { steps: 5, eta: 1, threshold: 2.5 } as const;
