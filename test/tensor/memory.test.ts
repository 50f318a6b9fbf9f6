import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DEVICES } from '../helpers.js';

const s = suite('memory stays flat in a training loop');

/**
 * A two-layer MLP fit to a fixed regression target with the fused AdamW update, 200 steps, every
 * step inside tidy. After a warm-up the counters must not move: no tensor, byte or buffer leaks.
 */
async function fit(dev: T.Device, steps: number) {
  T.manualSeed(3);
  const opts = { device: dev, requiresGrad: true };
  const params = [
    T.keep(T.randn([16, 8], { ...opts, std: 0.3 })), T.keep(T.zeros([16], opts)),
    T.keep(T.randn([1, 16], { ...opts, std: 0.3 })), T.keep(T.zeros([1], opts)),
  ];
  const moments = params.map((p) => [T.keep(T.zerosLike(p)), T.keep(T.zerosLike(p))]);
  const x = T.keep(T.randn([32, 8], { device: dev }));
  const y = T.keep(T.tidy(() => T.sin(T.sum(x, -1, true))));
  const snapshots: T.MemoryStats[] = [];
  const bindGroupsCreated: number[] = [];
  const losses: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const loss = T.tidy(() => {
      const h = T.linear(x, params[0], params[1], 'gelu');
      const pred = T.linear(h, params[2], params[3]);
      const l = T.mean(T.square(T.sub(pred, y)));
      l.backward();
      params.forEach((p, i) => {
        T.adamwUpdate(p, p.grad!, moments[i][0], moments[i][1], {
          lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, bc1: 1 - 0.9 ** step, bc2: 1 - 0.999 ** step, gradScale: 1, decayAfter: false,
        });
        p.grad!.dispose();
        p.grad = null;
      });
      return T.noGrad(() => T.clone(l));
    });
    if (step % 20 === 0) losses.push(await loss.item());
    loss.dispose();
    if (step === 20 || step === steps) {
      snapshots.push(T.memoryStats(dev));
      if (dev.kind === 'webgpu') bindGroupsCreated.push(dev.backend.bindGroups.misses);
    }
  }
  [...params, ...moments.flat(), x, y].forEach((t) => t.dispose());
  return { snapshots, losses, bindGroupsCreated };
}

for (const dev of DEVICES) {
  s(`200 steps on ${dev.name}: live tensors, bytes, pooled buffers, pipelines and bind groups stay flat`, async () => {
    // Poisoning forces upload-safe buffers everywhere; measure the pool as it runs in real use.
    T.allocationPolicy.poison = false;
    const { snapshots: [early, late], losses, bindGroupsCreated } = await fit(dev, 200).finally(() => { T.allocationPolicy.poison = true; });
    for (const k of ['liveTensors', 'liveBytes', 'pooledBytes', 'buffersCreated', 'pipelinesCompiled'] as const) {
      if (early[k] !== late[k]) throw new Error(`${k} grew from ${early[k]} (step 20) to ${late[k]} (step 200)`);
    }
    // Each step binds the same pooled buffers in the same roles, so its bind groups come from the cache
    // (a few are new where a readback every 20 steps moves a submit).
    const created = bindGroupsCreated[1] - bindGroupsCreated[0], dispatched = late.dispatches - early.dispatches;
    if (bindGroupsCreated.length && created > dispatched / 100) {
      throw new Error(`${created} bind groups created for ${dispatched} dispatches between step 20 and step 200`);
    }
    if (!(losses[losses.length - 1] < 0.5 * losses[0])) throw new Error(`the MLP did not learn: losses ${losses.map((l) => l.toFixed(4))}`);
    const submits = late.submits - early.submits, dispatches = late.dispatches - early.dispatches;
    if (dev.kind === 'webgpu' && submits > dispatches / 10) {
      throw new Error(`${submits} submits for ${dispatches} dispatches: dispatches are not batched`);
    }
  });
}

s('backward outside any tidy leaves only the gradients: none for inputs that need none, none when accumulating', () => {
  for (const dev of DEVICES) {
    const w = T.randn([4, 3], { device: dev, requiresGrad: true }), x = T.randn([4, 3], { device: dev });
    const grew: number[] = [];
    for (let i = 0; i < 2; i++) {
      const m = T.mul(w, x), y = T.sum(m); // the caller owns these two
      const before = T.memoryStats(dev).liveTensors;
      y.backward();
      grew.push(T.memoryStats(dev).liveTensors - before);
      y.dispose(); m.dispose();
    }
    [w, x].forEach((t) => t.dispose());
    if (grew.join() !== '1,0') throw new Error(`${dev.name}: backward left ${grew.join(' then ')} tensors, want 1 (w.grad) then 0`);
  }
});

s('a forward pass whose backward never runs frees its graph with releaseGraph (a skipped training step)', () => {
  for (const dev of DEVICES) {
    const w = T.keep(T.randn([4, 3], { device: dev, requiresGrad: true }));
    const before = T.memoryStats(dev).liveTensors;
    for (let i = 0; i < 3; i++) {
      // tidy keeps the intermediates the returned tensors' backward needs; both share them.
      const { a, b } = T.tidy(() => { const h = T.exp(T.mul(T.exp(w), 2)); return { a: T.sum(h), b: T.mean(T.square(h)) }; });
      T.releaseGraph(a, b);
      a.dispose(); b.dispose();
    }
    const after = T.memoryStats(dev).liveTensors;
    w.dispose();
    if (after !== before) throw new Error(`${dev.name}: ${after - before} tensors left behind by three released forward passes`);
  }
});

s('a tensor larger than the adapter allows is a clear error that says what to lower, and the device stays usable', async () => {
  const gpu = DEVICES.find((d) => d.kind === 'webgpu');
  if (!gpu || gpu.kind !== 'webgpu') return;
  const max = gpu.backend.device.limits.maxStorageBufferBindingSize;
  let msg = '';
  try { T.zeros([Math.floor(max / 4) + 1024], { device: gpu }); } catch (e) { msg = (e as Error).message; }
  if (!/larger than this adapter's largest storage buffer .*: lower the batch size, K \(proposals\) or the sentence length/.test(msg)) throw new Error(`message: ${msg}`);
  const ok = T.ones([4], { device: gpu });
  if ((await ok.data())[3] !== 1) throw new Error('device unusable after the refusal');
  ok.dispose();
});

s('a lost device and a driver out-of-memory report are one message saying what to do', async () => {
  const gpu = DEVICES.find((d) => d.kind === 'webgpu');
  if (!gpu || gpu.kind !== 'webgpu') return;
  // Neither can be provoked on purpose, so the backend's record of them is set as Dawn's callbacks would.
  const be = gpu.backend as unknown as { errors: string[]; lostReason: string | null };
  const messageOf = () => { try { T.ones([4], { device: gpu }).add(1).dispose(); return ''; } catch (e) { return (e as Error).message; } };
  be.errors.push('Out of memory\n - While calling [Device].CreateBuffer');
  const oom = messageOf();
  if (!/^GPU out of memory \(Out of memory\)\. Lower the batch size \(train\.batch, eval\.batch\), K \(proposals\) or the sentence length/.test(oom)) throw new Error(oom);
  be.lostReason = 'unknown: the driver reset the device';
  const lost = messageOf();
  be.lostReason = null;
  if (!/^WebGPU device lost \(unknown: the driver reset the device\)\. Restart the process; .*lower the batch size or check the GPU driver/.test(lost)) throw new Error(lost);
  const ok = T.ones([2], { device: gpu });
  if ((await ok.data())[1] !== 1) throw new Error('device unusable afterwards');
  ok.dispose();
});

s.run();
