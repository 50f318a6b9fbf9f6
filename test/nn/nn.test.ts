import * as fc from 'fast-check';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { assertClose, assertProperty, assertThrows, DEVICES, randomValues } from '../helpers.js';

const s = suite('nn: modules, layers, attention vs torch, optimiser, safetensors');
const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures');

class Block extends nn.Module {
  readonly dense: nn.Linear;
  readonly LayerNorm: nn.LayerNorm;
  constructor(dev: T.Device) {
    super();
    this.dense = this.child('dense', new nn.Linear(4, 3, { device: dev }));
    this.LayerNorm = this.child('LayerNorm', new nn.LayerNorm(3, 1e-12, { device: dev }));
  }
}

s('modules name parameters with dotted Hugging Face paths, count them, freeze and switch modes', () => {
  const m = new Block(T.cpu);
  const names = [...m.namedParameters()].map(([n]) => n);
  if (names.join() !== 'dense.weight,dense.bias,LayerNorm.weight,LayerNorm.bias') throw new Error(names.join());
  if (m.parameterCount() !== 4 * 3 + 3 + 3 + 3) throw new Error(`count ${m.parameterCount()}`);
  m.dense.freeze();
  if (m.parameterCount(true) !== 6) throw new Error('freeze');
  m.eval();
  if (m.training || m.dense.training) throw new Error('eval');
  const groups = nn.decayGroups(m.namedParameters(), 0.01);
  if (groups[0].params.length !== 1 || groups[1].params.length !== 3) throw new Error('decay groups: only dense.weight decays');
});

s('loadStateDict copies values and reports every missing, unexpected and mis-shaped entry at once', async () => {
  for (const dev of DEVICES) {
    const a = new Block(dev), b = new Block(dev);
    await b.loadStateDict(a.stateDict());
    assertClose(await b.dense.weight.data(), await a.dense.weight.data(), { atol: 0 });
    const bad = new Map(a.stateDict());
    bad.delete('dense.bias');
    bad.set('extra.weight', T.zeros([1], { device: dev }));
    bad.set('LayerNorm.weight', T.zeros([4], { device: dev }));
    await assertThrows(() => b.loadStateDict(bad),
      /loadStateDict: missing: dense\.bias; unexpected: extra\.weight; LayerNorm\.weight: shape \[4\] in the state dict, \[3\] in the model/);
  }
});

s('Dropout: hashed mask, scaled by 1/(1−p), the same on every device, backward uses the same mask, identity in eval', async () => {
  const masks: Float32Array[] = [];
  for (const dev of DEVICES) {
    const d = new nn.Dropout(0.2, new T.RNG(4));
    const x = T.ones([10001], { device: dev, requiresGrad: true });
    const y = d.forward(x);
    const yv = Float32Array.from(await y.data());
    const kept = yv.filter((v) => v !== 0);
    if (Math.abs(kept.length / 10001 - 0.8) > 0.02 || kept.some((v) => Math.abs(v - 1.25) > 1e-6)) throw new Error(`dropout statistics on ${dev.name}`);
    T.sum(y).backward();
    assertClose(await x.grad!.data(), yv, { atol: 0 }, `gradient is the mask on ${dev.name}`);
    masks.push(yv);
    d.eval();
    if (d.forward(x) !== x) throw new Error('eval dropout is not the identity');
  }
  for (const m of masks.slice(1)) assertClose(m, masks[0], { atol: 0 }, 'mask differs between devices');
});

s('MultiHeadAttention matches torch.nn.MultiheadAttention (outputs and all gradients, cross and self, with padding)', async () => {
  const fx = nn.readSafetensors(join(fixtures, 'mha.safetensors'));
  const get = (k: string) => fx.get(k) ?? (() => { throw new Error(`fixture has no ${k}`); })();
  for (const dev of DEVICES) {
    const mha = new nn.MultiHeadAttention(16, 4, 0, { device: dev });
    await mha.loadStateDict(new Map([...mha.stateDict().keys()].map((k) => [k, get(`param.${k}`)])));
    const t = (k: string, grad = false) => T.tensor(get(k).data, { shape: get(k).shape, device: dev, requiresGrad: grad });
    for (const c of ['cross', 'self']) {
      mha.zeroGrad();
      let y: T.Tensor;
      const inputs: Record<string, T.Tensor> = {};
      if (c === 'cross') {
        inputs.query = t('cross.input.query', true);
        inputs.keyvalue = t('cross.input.keyvalue', true);
        y = mha.forward(inputs.query, inputs.keyvalue, inputs.keyvalue, { keyPaddingMask: t('mask') });
      } else {
        inputs.x = t('self.input.x', true);
        const qk = T.add(inputs.x, t('self.pos'));
        y = mha.forward(qk, qk, inputs.x);
      }
      const tol = { rtol: 1e-4, atol: 2e-5 };
      assertClose(await y.data(), get(`${c}.out`).data, tol, `${dev.name} ${c} output`);
      T.sum(T.mul(y, t(`${c}.w`))).backward();
      for (const [k, x] of Object.entries(inputs)) assertClose(await x.grad!.data(), get(`${c}.grad.${k}`).data, tol, `${dev.name} ${c} d${k}`);
      for (const [k, p] of mha.namedParameters()) assertClose(await p.grad!.data(), get(`${c}.grad.${k}`).data, tol, `${dev.name} ${c} d${k}`);
    }
  }
});

s('AdamW updates like the textbook rule, respects groups and frozen parameters; clipping and schedules', async () => {
  for (const dev of DEVICES) {
    const p = T.tensor([1, -2, 3], { device: dev, requiresGrad: true });
    const frozen = T.tensor([5], { device: dev });
    const opt = new nn.AdamW([{ params: [p], weightDecay: 0.1 }, { params: [frozen] }], { lr: 0.1, correctBias: false, decayAfter: true, eps: 1e-6 });
    p.grad = T.keep(T.tensor([0.5, 0.5, -1], { device: dev }));
    const { norm, scale } = await nn.clipGradNorm([p], 1);
    if (Math.abs(norm - Math.sqrt(1.5)) > 1e-6 || Math.abs(scale - 1 / (Math.sqrt(1.5) + 1e-6)) > 1e-6) throw new Error(`clip ${norm} ${scale}`);
    opt.step(scale);
    const want = [1, -2, 3].map((x, i) => {
      const g = [0.5, 0.5, -1][i] * scale;
      const m = 0.1 * g, v = 0.001 * g * g;
      const y = x - (0.1 * m) / (Math.sqrt(v) + 1e-6);
      return y - 0.1 * 0.1 * y;
    });
    assertClose(await p.data(), want, { rtol: 1e-5, atol: 1e-6 }, `${dev.name} AdamW`);
    assertClose(await frozen.data(), [5], { atol: 0 });
    opt.zeroGrad();
    opt.dispose();
  }
  const f = (s_: number) => nn.twoStageSchedule(s_, 100, 200);
  const pts: [number, number][] = [[0, 0], [5, 0.5], [10, 2.0], [55, 1.0], [100, 0], [110, 0.5], [120, 1], [210, 0.5], [300, 0]];
  for (const [x, y] of pts) if (Math.abs(f(x) - y) > 1e-12) throw new Error(`two-stage(${x}) = ${f(x)}, want ${y}`);
  if (nn.linearWarmupDecay(5, 10, 110) !== 0.5 || nn.linearWarmupDecay(60, 10, 110) !== 0.5) throw new Error('linear schedule');
});

s('AdamW bias correction counts each parameter\'s own updates (torch, Hugging Face), with either decay order\'s eps', async () => {
  for (const dev of DEVICES) {
    for (const decayAfter of [false, true]) {
      const early = T.tensor([1, -2], { device: dev, requiresGrad: true }), late = T.tensor([3, 4], { device: dev, requiresGrad: true });
      const eps = 1e-2; // large, so where it is added shows
      const opt = new nn.AdamW([early, late], { lr: 0.1, correctBias: true, decayAfter, eps });
      // `late` is frozen (no gradient) for the first 4 steps, as BERT is before splitEpoch.
      for (let step = 1; step <= 5; step++) {
        early.grad = T.keep(T.tensor([0.5, -0.25], { device: dev }));
        if (step === 5) late.grad = T.keep(T.tensor([0.2, -0.4], { device: dev }));
        opt.step();
        opt.zeroGrad();
      }
      if (opt.updatesOf(early) !== 5 || opt.updatesOf(late) !== 1 || opt.stepCount !== 5) throw new Error(`update counts ${opt.updatesOf(early)} ${opt.updatesOf(late)} ${opt.stepCount}`);
      // The late parameter's first update is step 1's: m̂ = g, v̂ = g²; torch divides by |g| + eps, Hugging
      // Face by |g| + eps / √(1 − β2) (eps added to √v before v's correction).
      const want = [3, 4].map((x, i) => {
        const g = [0.2, -0.4][i];
        return x - (0.1 * g) / (Math.abs(g) + (decayAfter ? eps / Math.sqrt(1 - 0.999) : eps));
      });
      assertClose(await late.data(), want, { rtol: 1e-5, atol: 1e-6 }, `${dev.name} decayAfter ${decayAfter}`);
      opt.dispose();
    }
  }
});

s('a model folder round-trips config, weights and extra files', async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'dner-folder-'));
  try {
    const a = new Block(T.cpu);
    await nn.saveModelFolder(dir, a, { kind: 'block', hidden: 3 }, { 'vocab.txt': 'x\ny\n' });
    const b = await nn.loadModelFolder(dir, (cfg) => { if (cfg.kind !== 'block') throw new Error('config'); return new Block(T.cpu); });
    for (const [k, p] of a.namedParameters()) assertClose(b.stateDict().get(k)!.array, p.array, { atol: 0 }, k);
    if (readFileSync(join(dir, 'vocab.txt'), 'utf8') !== 'x\ny\n') throw new Error('vocab.txt');
    await assertThrows(() => nn.loadModelFolder(join(dir, 'nope'), () => new Block(T.cpu)), /not a model folder \(no config\.json\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('f32 -> f16 rounds to the nearest half (ties to even), saturates to infinity, keeps NaN; F16 files round-trip', async () => {
  // Oracle: every finite half, sorted by value.
  const halves = Array.from({ length: 0x10000 }, (_, h) => h).filter((h) => ((h >> 10) & 0x1f) !== 31);
  const vals = halves.map((h) => [nn.f16ToF32(h), h] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const nearest = (v: number) => {
    let lo = 0, hi = vals.length - 1;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (vals[mid][0] <= v) lo = mid; else hi = mid; }
    const [a, b] = [vals[lo], vals[hi]];
    const da = Math.abs(v - a[0]), db = Math.abs(b[0] - v);
    if (da !== db) return da < db ? a[1] : b[1];
    return (a[1] & 1) === 0 ? a[1] : b[1];
  };
  await assertProperty([fc.float({ min: -65000, max: 65000, noNaN: true })], async (v) => {
    const f = Math.fround(v), got = nn.f32ToF16(f), want = nearest(f);
    // ±0 are both nearest to a zero input; compare values there.
    if (got !== want && !(nn.f16ToF32(got) === 0 && nn.f16ToF32(want) === 0)) throw new Error(`${f}: got ${got.toString(16)}, want ${want.toString(16)}`);
  }, 2000);
  if (nn.f32ToF16(1e6) !== 0x7c00 || nn.f32ToF16(-1e6) !== 0xfc00 || !Number.isNaN(nn.f16ToF32(nn.f32ToF16(NaN)))) throw new Error('saturation / NaN');
  const t = new Map([['w', { dtype: 'f32' as const, shape: [3], data: Float32Array.from([1, -2.5, 0.1]) }], ['i', { dtype: 'i32' as const, shape: [1], data: Int32Array.from([7]) }]]);
  const back = nn.parseSafetensors(nn.serializeSafetensors(t, undefined, { f16: true }));
  assertClose(back.get('w')!.data, [1, -2.5, nn.f16ToF32(nn.f32ToF16(0.1))], { atol: 0 });
  if (back.get('i')!.data[0] !== 7) throw new Error('i32 must stay I32');
});

s('safetensors: round trip, F16/BF16 decoding, and one-line errors for malformed files', async () => {
  const tensors = new Map<string, nn.RawTensor>([
    ['a.weight', { dtype: 'f32', shape: [2, 3], data: Float32Array.from(randomValues(6, 1)) }],
    ['ids', { dtype: 'i32', shape: [4], data: Int32Array.from([1, -2, 3, 4]) }],
  ]);
  const bytes = nn.serializeSafetensors(tensors, { format: 'pt' });
  const back = nn.parseSafetensors(bytes, 'x.safetensors');
  assertClose(back.get('a.weight')!.data, tensors.get('a.weight')!.data, { atol: 0 });
  if (back.get('ids')!.dtype !== 'i32' || back.get('ids')!.data[1] !== -2) throw new Error('i32');
  const mk = (header: object, data: Uint8Array) => {
    const h = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8); out.set(data, 8 + h.length);
    return out;
  };
  const half = mk({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] } },
    new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x35, 0x80, 0x3f, 0x40, 0xc0]));
  const hb = nn.parseSafetensors(half, 'half.safetensors');
  assertClose(hb.get('h')!.data, [1, -2, 0.3125], { atol: 0 }, 'f16');
  assertClose(hb.get('b')!.data, [1, -3], { atol: 0 }, 'bf16');
  await assertThrows(() => nn.parseSafetensors(new Uint8Array(4), 'f.st'), /f\.st: invalid safetensors: 4 bytes is shorter/);
  const huge = new Uint8Array(16); new DataView(huge.buffer).setBigUint64(0, 100n * 2n ** 30n, true);
  await assertThrows(() => nn.parseSafetensors(huge, 'f.st'), /header length 107374182400 at byte 0 exceeds the file/);
  await assertThrows(() => nn.parseSafetensors(mk({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8)), 'f.st'), /"t": 4 bytes for F32\[2\] \(8 needed\)/);
  await assertThrows(() => nn.parseSafetensors(mk({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), 'f.st'), /"a" and "b" overlap/);
  await assertThrows(() => nn.parseSafetensors(mk({ t: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), 'f.st'), /unsupported dtype "Q8"/);
});

s.run();
