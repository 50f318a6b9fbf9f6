import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as D from '../../src/diffusion/index.js';
import * as T from '../../src/index.js';
import { roundHalfEven } from '../../src/kernels/math.js';
import { sinusoidalEmbedding } from '../../src/nn/sinusoid.js';
import { assertClose, assertProperty, DEVICES, runs } from '../helpers.js';

const s = suite('diffusion core (spec §1.4, §1.5)');

function meanAndVariance(xs: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i];
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2;
  return [m, v / (xs.length - 1)];
}

s('ᾱ reference values of the spec for both schedules (T = 1000)', () => {
  const ts = [0, 199, 399, 599, 799, 999];
  const want = {
    cosine: [0.99995872, 0.89870592, 0.64747821, 0.34080964, 0.09404561, 2.4288e-09],
    linear: [0.9999, 0.65903851, 0.19514644, 0.02587939, 0.00153209, 4.0358e-05],
  };
  for (const kind of ['cosine', 'linear'] as const) {
    const sch = D.NoiseSchedule.create(kind, 1000);
    ts.forEach((t, i) => {
      const got = sch.alphaBar(t), w = want[kind][i];
      // The spec's table carries 8 decimals or 5 significant digits.
      if (Math.abs(got - w) > Math.max(6e-9, 6e-5 * w)) throw new Error(`${kind} ᾱ[${t}] = ${got}, spec ${w}`);
    });
  }
});

s('(σ, c) at η = 1 for every step pair of the spec (γ = 5)', () => {
  const want = {
    cosine: [[999, 799, 0.9518, 0.00015], [799, 599, 0.7258, 0.3638], [599, 399, 0.5033, 0.3150], [399, 199, 0.2834, 0.1448]],
    linear: [[999, 799, 0.9860, 0.1621], [799, 599, 0.9580, 0.2372], [599, 399, 0.8466, 0.2970], [399, 199, 0.5461, 0.2068]],
  };
  for (const kind of ['cosine', 'linear'] as const) {
    const sch = D.NoiseSchedule.create(kind, 1000);
    const pairs = D.ddimTimesteps(1000, 5);
    if (JSON.stringify(pairs) !== '[[999,799],[799,599],[599,399],[399,199],[199,-1]]') throw new Error(`steps ${JSON.stringify(pairs)}`);
    want[kind].forEach(([t, tn, sigma, c], i) => {
      if (pairs[i][0] !== t || pairs[i][1] !== tn) throw new Error(`pair ${i}`);
      const got = D.ddimCoefficients(sch, t, tn, 1);
      if (Math.abs(got.sigma - sigma) > 6e-5 || Math.abs(got.c - c) > 6e-5) {
        throw new Error(`${kind} (${t}, ${tn}): σ ${got.sigma} c ${got.c}, spec σ ${sigma} c ${c}`);
      }
    });
  }
});

s('ᾱ is strictly decreasing and inside (0, 1) for any T', async () => {
  await assertProperty([fc.constantFrom('linear', 'cosine'), fc.integer({ min: 21, max: 3000 })], async (kind, T_) => {
    const a = D.NoiseSchedule.create(kind as D.ScheduleKind, T_).alphasCumprod;
    for (let t = 0; t < T_; t++) {
      if (!(a[t] > 0 && a[t] < 1)) throw new Error(`${kind} T=${T_}: ᾱ[${t}] = ${a[t]}`);
      if (t > 0 && !(a[t] < a[t - 1])) throw new Error(`${kind} T=${T_}: ᾱ[${t}] >= ᾱ[${t - 1}]`);
    }
  }, 30);
});

s('the step list is strictly decreasing, starts at T − 1, has γ pairs and ends at −1', async () => {
  await assertProperty([fc.integer({ min: 1, max: 2000 }).chain((T_) => fc.tuple(fc.constant(T_), fc.integer({ min: 1, max: T_ })))], async ([T_, gamma]) => {
    const pairs = D.ddimTimesteps(T_, gamma);
    if (pairs.length !== gamma) throw new Error(`T=${T_} γ=${gamma}: ${pairs.length} pairs`);
    if (pairs[0][0] !== T_ - 1 || pairs[gamma - 1][1] !== -1) throw new Error(`T=${T_} γ=${gamma}: ${JSON.stringify(pairs)}`);
    for (const [t, tn] of pairs) if (!(tn < t)) throw new Error(`T=${T_} γ=${gamma}: not decreasing at (${t}, ${tn})`);
    for (let i = 1; i < gamma; i++) if (pairs[i][0] !== pairs[i - 1][1]) throw new Error('pairs do not chain');
  }, 200);
});

/** Runs the DDIM loop with an oracle that always predicts the true x0. */
function ddimWithOracle(sch: D.NoiseSchedule, x0: T.Tensor, xT: T.Tensor, gamma: number, eta: number, seed: number) {
  const rng = new T.RNG(seed);
  let x = xT;
  const epsHats: Float64Array[] = [];
  for (const [t, tn] of D.ddimTimesteps(sch.T, gamma)) {
    const z = T.randn(x.shape, { device: x.device, dtype: x.dtype, rng });
    const step = D.ddimStep(sch, x, x0, t, tn, eta, z);
    epsHats.push(Float64Array.from(step.epsHat.array));
    x = step.x;
  }
  return { x, epsHats };
}

s('η = 0 with a perfect x0 predictor returns x0 for any γ, T and x_T, keeps ε̂ fixed, and ignores the seed', async () => {
  await assertProperty([
    fc.constantFrom('linear', 'cosine'), fc.integer({ min: 21, max: 1000 }).chain((T_) => fc.tuple(fc.constant(T_), fc.integer({ min: 1, max: Math.min(T_, 50) }))),
    fc.integer({ min: 1, max: 1e6 }),
  ], async (kind, [T_, gamma], seed) => {
    const sch = D.NoiseSchedule.create(kind as D.ScheduleKind, T_);
    const rng = new T.RNG(seed);
    const x0 = T.rand([3, 7, 2], { device: T.cpu, dtype: 'f64', rng, low: -1, high: 1 });
    const xT = T.randn([3, 7, 2], { device: T.cpu, dtype: 'f64', rng });
    const a = ddimWithOracle(sch, x0, xT, gamma, 0, seed);
    const b = ddimWithOracle(sch, x0, xT, gamma, 0, seed + 1);
    assertClose(a.x.array, x0.array, { rtol: 0, atol: 1e-12 }, 'final x');
    assertClose(b.x.array, a.x.array, { rtol: 0, atol: 0 }, 'another seed');
    // Deterministic DDIM moves along one noise direction: ε̂ is the same at every step.
    for (const e of a.epsHats) assertClose(e, a.epsHats[0], { rtol: 1e-6, atol: 1e-8 }, 'ε̂ along the trajectory');
  }, 40);
});

s('η = 1 injects noise of variance σ² (and a wrong σ would fail the bound)', () => {
  const sch = D.NoiseSchedule.create('cosine', 1000);
  const n = 20000;
  const x0 = T.full([n, 2], 0.3, { device: T.cpu, dtype: 'f64' });
  const xt = T.full([n, 2], -0.7, { device: T.cpu, dtype: 'f64' });
  const z = T.randn([n, 2], { device: T.cpu, dtype: 'f64', rng: new T.RNG(11) });
  for (const [t, tn] of [[999, 799], [599, 399], [399, 199]]) {
    const { sigma } = D.ddimCoefficients(sch, t, tn, 1);
    const x = D.ddimStep(sch, xt, x0, t, tn, 1, z).x.array;
    const [mean, variance] = meanAndVariance(x);
    // Standard error of a variance estimate from 40000 normals is about 0.7 %; 4 % catches a σ off by 2 %.
    if (Math.abs(variance / (sigma * sigma) - 1) > 0.04) throw new Error(`(${t}, ${tn}): variance ${variance}, σ² ${sigma * sigma}`);
    const noiseless = D.ddimStep(sch, xt, x0, t, tn, 1, T.zerosLike(z)).x.array[0];
    if (Math.abs(mean - noiseless) > 5 * sigma / Math.sqrt(x.length)) throw new Error(`(${t}, ${tn}): mean ${mean} vs ${noiseless} without noise`);
  }
});

s('qSample has mean sqrt(ᾱ)·x0 and variance 1 − ᾱ over many samples, on every device', async () => {
  const sch = D.NoiseSchedule.create('cosine', 1000);
  for (const dev of DEVICES) {
    const n = 20000, ts = [0, 500, 999];
    const x0v = [0.8, -0.4, 0.1];
    const x0 = T.tensor(x0v.flatMap((v) => Array(n).fill(v)), { shape: [3, n], device: dev });
    const eps = T.randn([3, n], { device: dev, rng: new T.RNG(5) });
    const xt = await D.qSample(sch, x0, ts, eps).data();
    ts.forEach((t, b) => {
      const row = xt.subarray(b * n, (b + 1) * n);
      const [mean, variance] = meanAndVariance(row);
      const a = sch.alphaBar(t);
      if (Math.abs(mean - Math.sqrt(a) * x0v[b]) > 5 * Math.sqrt((1 - a) / n) + 1e-6) throw new Error(`${dev.name} t=${t}: mean ${mean}`);
      if (Math.abs(variance - (1 - a)) > 0.04 * (1 - a) + 1e-9) throw new Error(`${dev.name} t=${t}: variance ${variance} vs ${1 - a}`);
    });
  }
});

s('qSample on the f64 cpu device applies float64 coefficients (no float32 rounding on the way)', async () => {
  const schedule = D.NoiseSchedule.create('cosine', 1000);
  const x0 = T.tensor([[0.3, -0.7]], { device: T.cpu, dtype: 'f64' }), eps = T.tensor([[1.1, 0.2]], { device: T.cpu, dtype: 'f64' });
  const a = schedule.alphaBar(417);
  const want = [0.3, -0.7].map((x, i) => Math.sqrt(a) * x + Math.sqrt(1 - a) * [1.1, 0.2][i]);
  assertClose(await D.qSample(schedule, x0, [417], eps).data(), want, { rtol: 1e-15, atol: 1e-16 });
});

s('x̂0 <-> ε̂ conversions are inverse', async () => {
  const sch = D.NoiseSchedule.create('linear', 1000);
  const rng = new T.RNG(3);
  const xt = T.randn([4, 5, 2], { device: T.cpu, dtype: 'f64', rng });
  const x0 = T.randn([4, 5, 2], { device: T.cpu, dtype: 'f64', rng });
  for (const t of [0, 10, 500, 999]) {
    const eps = D.predictNoiseFromStart(sch, xt, t, x0);
    assertClose(D.predictStartFromNoise(sch, xt, t, eps).array, x0.array, { rtol: 1e-9, atol: 1e-9 }, `t=${t}`);
  }
});

s('rounding sends ties to even (torch.round), on every device', async () => {
  const v = [0.5, 1.5, 2.5, -0.5, -1.5, 3.5, 2.4999, 2.5001, -2.5];
  const want = [0, 2, 2, -0, -2, 4, 2, 3, -2];
  for (const dev of DEVICES) assertClose(await T.round(T.tensor(v, { device: dev })).data(), want, { atol: 0 }, dev.name);
  want.forEach((w, i) => { if (roundHalfEven(v[i]) !== w && !(w === 0 && roundHalfEven(v[i]) === 0)) throw new Error(`host ${v[i]}`); });
});

s('gold spans map back as the spec documents (normalised by M, read back by M − 1): i -> i when 2i < M, i − 1 when 2i > M', async () => {
  for (let M = 1; M <= 40; M++) {
    for (let l = 0; l < M; l++) {
      for (let r = l; r < M; r++) {
        const [gl, gr] = D.roundTripGold([l, r], M);
        // At 2i = M the exact value is i − 0.5, a tie torch.round sends to the even side; the float
        // arithmetic before it may land either side, so both neighbours are accepted there.
        const ok = (i: number, got: number) => (2 * i < M ? got === i : 2 * i > M ? got === i - 1 : got === i || got === i - 1);
        if (!ok(l, gl) || !ok(r, gr)) throw new Error(`M=${M} (${l}, ${r}) -> (${gl}, ${gr})`);
      }
    }
  }
  // The same path on tensors, on every device (f32: ties may be perturbed, so they are skipped there).
  for (const dev of DEVICES) {
    for (const M of [1, 2, 5, 7, 16, 33]) {
      const spans: D.Span[] = [];
      for (let l = 0; l < M; l++) for (let r = l; r < M; r++) spans.push([l, r]);
      const x0 = T.tensor(D.spansToX0(spans, M, 1), { shape: [1, spans.length, 2], dtype: 'f32', device: dev });
      const words = await D.pairsToWords(D.xToPairs(x0, 1), M).data();
      spans.forEach(([l, r], k) => {
        for (const [i, got] of [[l, words[2 * k]], [r, words[2 * k + 1]]]) {
          if (2 * i === M) continue;
          const want = 2 * i < M ? i : i - 1;
          if (got !== want) throw new Error(`${dev.name} M=${M} (${l}, ${r}): ${i} -> ${got}, want ${want}`);
        }
      });
    }
  }
});

s('the x̂0 path (boundaries / (M − 1)) round-trips every integer span for every length, on every device', async () => {
  for (const dev of DEVICES) {
    for (const scale of [1, 2.5]) {
      for (const M of [1, 2, 3, 8, 21, 64]) {
        const ls: number[] = [], rs: number[] = [];
        for (let l = 0; l < M; l++) for (let r = l; r < M; r++) { ls.push(l); rs.push(r); }
        const L = T.tensor(Int32Array.from(ls), { shape: [1, ls.length], device: dev });
        const R = T.tensor(Int32Array.from(rs), { shape: [1, rs.length], device: dev });
        const lengths = T.tensor([M], { device: dev });
        const words = await D.pairsToWords(D.xToPairs(D.boundariesToX0(L, R, lengths, scale), scale), lengths).data();
        ls.forEach((l, k) => {
          if (words[2 * k] !== l || words[2 * k + 1] !== rs[k]) throw new Error(`${dev.name} λ=${scale} M=${M}: (${l}, ${rs[k]}) -> (${words[2 * k]}, ${words[2 * k + 1]})`);
        });
      }
    }
  }
});

s('a decoded noisy span always has 0 <= left <= right <= 1', async () => {
  await assertProperty([fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 0.5, max: 3, noNaN: true })], async (seed, scale) => {
    for (const dev of DEVICES) {
      const x = T.randn([2, 9, 2], { device: dev, rng: new T.RNG(seed), std: 2 });
      const p = await D.xToPairs(x, scale).data();
      for (let k = 0; k < p.length; k += 2) if (!(0 <= p[k] && p[k] <= p[k + 1] && p[k + 1] <= 1)) throw new Error(`${dev.name}: (${p[k]}, ${p[k + 1]})`);
    }
  }, runs(10));
});

s('sinusoidal embedding: sines then cosines with freq_k = exp(−k ln(10000)/(half − 1))', async () => {
  const dim = 16, half = 8, taus = [0, 1, 199, 999];
  for (const dev of DEVICES) {
    const e = await sinusoidalEmbedding(T.tensor(Int32Array.from(taus), { device: dev }), dim).data();
    taus.forEach((tau, i) => {
      for (let k = 0; k < half; k++) {
        const f = Math.exp((-k * Math.log(10000)) / (half - 1));
        const [sv, cv] = [e[i * dim + k], e[i * dim + half + k]];
        if (Math.abs(sv - Math.sin(tau * f)) > 2e-4 || Math.abs(cv - Math.cos(tau * f)) > 2e-4) {
          throw new Error(`${dev.name} τ=${tau} k=${k}: (${sv}, ${cv}) vs (${Math.sin(tau * f)}, ${Math.cos(tau * f)})`);
        }
      }
    });
  }
});

s.run();
