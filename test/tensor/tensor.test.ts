import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { philox4x32 } from '../../src/tensor/random.js';
import { assertClose, assertThrows, DEVICES } from '../helpers.js';

const s = suite('tensors, RNG, autograd semantics, scopes, errors');

s('Philox4x32-10 matches the Random123 known-answer vectors', () => {
  const hex = (xs: number[]) => xs.map((x) => x.toString(16).padStart(8, '0')).join(' ');
  const kat: [number[], number[], string][] = [
    [[0, 0, 0, 0], [0, 0], '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], 'd16cfe09 94fdcceb 5001e420 24126ea1'],
  ];
  for (const [ctr, key, want] of kat) {
    const got = hex(philox4x32(ctr as [number, number, number, number], key as [number, number]));
    if (got !== want) throw new Error(`philox(${hex(ctr)}; ${hex(key)}) = ${got}, want ${want}`);
  }
});

s('a seed gives the same rand/randn stream on every device, and a different seed another', async () => {
  const draws: number[][] = [];
  for (const dev of DEVICES) {
    T.manualSeed(42);
    const a = await T.randn([5, 7], { device: dev }).data();
    const b = await T.rand([3], { device: dev, low: -1, high: 1 }).data();
    draws.push([...a, ...b]);
  }
  for (const d of draws) assertClose(d, draws[0], { rtol: 0, atol: 0 }, 'streams');
  T.manualSeed(43);
  const other = await T.randn([5, 7], { device: 'cpu' }).data();
  if (other[0] === draws[0][0]) throw new Error('seed 43 repeated seed 42');
  const rng = new T.RNG(7);
  let sum = 0, sq = 0;
  for (let i = 0; i < 20000; i++) { const x = rng.normal(); sum += x; sq += x * x; }
  if (Math.abs(sum / 20000) > 0.03 || Math.abs(sq / 20000 - 1) > 0.04) throw new Error(`normal moments ${sum / 20000}, ${sq / 20000}`);
});

s('creation: nested arrays, typed arrays, full/zeros/ones, arange, item, toArray, toString', async () => {
  for (const dev of DEVICES) {
    const t = T.tensor([[1, 2, 3], [4, 5, 6]], { device: dev });
    if (t.shape.join() !== '2,3' || t.dtype !== 'f32') throw new Error('nested shape');
    if (JSON.stringify(await t.toArray()) !== '[[1,2,3],[4,5,6]]') throw new Error('toArray');
    if ((await T.sum(t).item()) !== 21) throw new Error('item');
    assertClose(await T.arange(2, 11, 3, { device: dev }).data(), [2, 5, 8], { atol: 0 });
    assertClose(await T.ones([2, 2], { device: dev, dtype: 'i32' }).data(), [1, 1, 1, 1], { atol: 0 });
    if (!(await t.format()).includes('[[1, 2, 3],')) throw new Error(await t.format());
  }
  const c = T.tensor([1.5, -2], { device: 'cpu' });
  if (!c.toString().includes('[1.5000, -2]')) throw new Error(c.toString());
  await assertThrows(() => T.tensor([[1, 2], [3]], { device: 'cpu' }), /ragged nested array at \[1\]/);
  await assertThrows(() => T.tensor([1, 2, 3], { shape: [2, 2], device: 'cpu' }), /3 values do not fill shape \[2, 2\]/);
  await assertThrows(() => T.zeros([2], { device: 'webgpu', dtype: 'f64' }), /f64' exists only on the cpu device/);
});

s('clear errors on every device: shape mismatch, wrong dtype, disposed tensor, backward of a non-scalar', async () => {
  for (const device of DEVICES) {
    const a = T.ones([2, 3], { device }), b = T.ones([4], { device });
    await assertThrows(() => T.add(a, b), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    await assertThrows(() => T.add(a, T.ones([3], { device, dtype: 'i32' })), /add: dtype mismatch \(f32 vs i32\)/);
    await assertThrows(() => T.log(T.ones([2], { device, dtype: 'i32' })), /log: needs a floating-point tensor/);
    await assertThrows(() => T.indexSelect(a, 0, T.ones([2], { device })), /index must be i32/);
    const d = T.ones([2], { device });
    d.dispose();
    await assertThrows(() => T.exp(d), /exp: input Tensor #\d+ \(\[2\]\) was disposed/);
    await assertThrows(() => d.data(), /was disposed and cannot be used/);
    const x = T.ones([3], { device, requiresGrad: true });
    await assertThrows(() => T.mul(x, 2).backward(), new RegExp(`backward\\(\\) of a non-scalar Tensor #\\d+ \\(f32\\[3\\] on ${device.name}\\) needs an explicit gradient`));
    await assertThrows(() => T.sum(T.ones([3], { device })).backward(), /does not require grad/);
    await assertThrows(() => T.slice(a, 5, 0), /slice: axis 5 is out of range for a tensor of rank 2/);
    a.dispose(); b.dispose(); x.dispose();
  }
  if (DEVICES.length > 1) await assertThrows(() => T.add(T.ones([3], { device: 'cpu' }), T.ones([3], { device: 'webgpu' })), /different devices \(cpu, webgpu\)/);
});

s('a kernel that WebGPU rejects surfaces as a WebGPUError naming the kernel', async () => {
  const gpu = DEVICES.find((d) => d.kind === 'webgpu');
  if (!gpu || gpu.kind !== 'webgpu') return;
  const out = T.zeros([4], { device: gpu });
  gpu.backend.dispatch({ key: 'test:broken', name: 'deliberately_broken_kernel', code: () => '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_name; }' },
    [], null, [1]);
  let error: unknown;
  try { await out.data(); await gpu.backend.sync(); } catch (e) { error = e; }
  if (!(error instanceof T.WebGPUError) || !error.message.includes('deliberately_broken_kernel')) throw new Error(`got ${String(error)}`);
  // Reports of the same failure may trail in; drain them so the next test starts clean.
  for (let i = 0; i < 5; i++) { try { await gpu.backend.sync(); break; } catch { /* a trailing report */ } }
  // The failed batch's work is lost (out was never filled); new work runs.
  out.dispose();
  assertClose(await T.add(T.zeros([4], { device: gpu }), 1).data(), [1, 1, 1, 1], { atol: 0 }, 'the device works after the error');
});

s('autograd: accumulation across calls, shared inputs, noGrad, detach, explicit upstream gradient', async () => {
  for (const dev of DEVICES) {
    const x = T.tensor([1, 2, 3], { device: dev, requiresGrad: true });
    T.sum(T.mul(x, x)).backward(); // d/dx = 2x
    T.sum(T.mul(x, 3)).backward(); // accumulates + 3
    assertClose(await x.grad!.data(), [5, 7, 9], { atol: 1e-6 }, `${dev.name} accumulated grad`);
    const y = T.noGrad(() => T.mul(x, 2));
    if (y.requiresGrad || y.node) throw new Error('noGrad recorded an op');
    const z = T.mul(x.detach(), 2);
    if (z.requiresGrad) throw new Error('detach kept the graph');
    x.grad!.dispose(); x.grad = null;
    const w = T.mul(x, 2);
    w.backward(T.tensor([1, 0, -1], { device: dev }));
    assertClose(await x.grad!.data(), [2, 0, -2], { atol: 1e-6 }, `${dev.name} upstream grad`);
  }
});

s('tidy keeps every tensor its result reaches through arrays, Sets, Maps and plain objects: deep nesting, cycles', () => {
  const before = T.liveTensorCount();
  const r = T.tidy(() => {
    const deep = { a: { b: { c: { d: { e: { f: [T.ones([2])] } } } } } };
    const cyclic: Record<string, unknown> = { t: T.ones([3]) };
    cyclic.me = cyclic;
    T.ones([4]); // not returned: disposed
    const bare = Object.create(null) as Record<string, T.Tensor>;
    bare.t = T.ones([1]);
    return { bare, set: new Set([T.ones([5])]), map: new Map([['k', T.ones([6])]]), deep, cyclic, raw: new Float32Array(3) };
  });
  const all = [r.bare.t, [...r.set][0], r.map.get('k')!, r.deep.a.b.c.d.e.f[0], r.cyclic.t as T.Tensor];
  const dead = all.filter((t) => t.isDisposed).map((t) => t.describe());
  if (dead.length) throw new Error(`disposed although returned: ${dead.join(', ')}`);
  if (T.liveTensorCount() !== before + 5) throw new Error(`${T.liveTensorCount() - before} tensors alive, want the 5 returned`);
  all.forEach((t) => t.dispose());
});

s('tidy disposes intermediates, keeps results, kept tensors and the graph a result still needs', async () => {
  for (const dev of DEVICES) {
    const before = T.liveTensorCount();
    const x = T.keep(T.tensor([1, 2, 3], { device: dev, requiresGrad: true }));
    let kept: T.Tensor | null = null;
    const loss = T.tidy(() => {
      kept = T.keep(T.exp(x));
      const h = T.tanh(T.mul(x, 2));
      return T.sum(T.mul(h, h));
    });
    loss.backward();
    if (!x.grad) throw new Error('no grad through tidy');
    loss.dispose(); kept!.dispose(); x.dispose();
    if (T.liveTensorCount() !== before) throw new Error(`${dev.name}: ${T.liveTensorCount() - before} tensors leaked`);
    await assertThrows(() => T.tidy(async () => 1 as never), /synchronous function/);
  }
});

s.run();
