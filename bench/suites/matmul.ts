/**
 * fp32 matmul in GFLOP/s: every WGSL variant on the WebGPU adapter, the plain-TypeScript cpu
 * reference, and peers on the same machine in the same run (tfjs-webgpu on the same adapter, tfjs-wasm);
 * and the machine's compute ceiling measured in the same run: PyTorch's matmul (OpenBLAS sgemm on every core)
 * when Debian's python3-torch is installed, with each shape's best kernel as a fraction of it.
 */
import { join } from 'node:path';
import * as T from '../../src/index.js';
import { launchMatmul, type MatmulDims, type MatmulPlan } from '../../src/kernels/matmul.js';
import { benchDir, type PeerRow, runPeer, type SuiteContext, timeIt } from '../common.js';

const SHAPES: [string, number, number, number][] = [
  ['256^3', 256, 256, 256],
  ['1024^3', 1024, 1024, 1024],
  ['128x768 . 768x3072', 128, 768, 3072],
  ['480x256 . 256x256', 480, 256, 256],
  ['480x256 . 256x1024', 480, 256, 1024],
];

function plans(dev: T.GpuDevice): [string, MatmulPlan][] {
  const out: [string, MatmulPlan][] = [];
  const S = dev.backend.report.subgroupSize;
  if (S && dev.backend.hasSubgroups) {
    out.push(['regblock 32x4/lane', { variant: 'regblock', regblock: { S, TM: 4 * S, TNV: 1, KS: 4 } }]);
  }
  out.push(['tiled 64x64', { variant: 'tiled', tiled: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } }]);
  out.push(['tiled 128x128', { variant: 'tiled', tiled: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 } }]);
  out.push(['tiled 32x32', { variant: 'tiled', tiled: { BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 } }]);
  out.push(['naive', { variant: 'naive' }]);
  return out;
}

export async function run(ctx: SuiteContext): Promise<void> {
  const best = new Map<string, number>();
  const record = ctx.record;
  ctx = { ...ctx, record: (r) => {
    record(r);
    if (r.device === 'webgpu' && !r.variant.startsWith('tfjs')) best.set(r.name, Math.max(best.get(r.name) ?? 0, r.value));
    if (r.variant === 'tfjs-webgpu' && best.has(r.name)) {
      record({ name: r.name, variant: 'best engine kernel / tfjs-webgpu', device: 'webgpu', value: best.get(r.name)! / r.value, unit: 'x' });
    }
  } };
  const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
  const be = dev.backend;
  const soft = be.report.isSoftware;
  // Work per timed call: enough that one synchronisation does not dominate on this kind of adapter.
  const flopsPerCall = soft ? 3e8 : 4e11;
  const shapes = soft ? SHAPES : [...SHAPES, ['4096^3', 4096, 4096, 4096] as [string, number, number, number]];
  for (const [name, M, K, N] of shapes) {
    const flops = 2 * M * N * K;
    const a = T.randn([M, K], { device: dev }), b = T.randn([K, N], { device: dev });
    const c = T.Tensor.empty(dev, 'f32', [M, N]);
    const d: MatmulDims = { batch: 1, M, N, K, transA: false, transB: false, aStride: M * K, bStride: K * N, act: 'none' };
    for (const [variant, plan] of plans(dev)) {
      if (variant === 'naive' && ((ctx.quick && flops > 1e9) || flops > 1e11)) continue;
      const reps = Math.min(400, Math.max(1, Math.ceil(flopsPerCall / flops / (variant === 'naive' ? 20 : 1))));
      const secs = await timeIt(async () => {
        for (let r = 0; r < reps; r++) launchMatmul(dev, a, b, null, c, d, plan);
        await be.sync();
      }, { quick: ctx.quick, minIterations: flops > 1e9 && variant === 'naive' ? 1 : undefined });
      ctx.record({ name, variant, device: 'webgpu', value: (flops * reps) / secs / 1e9, unit: 'GFLOP/s' });
    }
    const picked = T.matmul(a, b); // the op-level default, for the record
    await picked.data();
    picked.dispose();
    if (flops < 3e9 && (!ctx.quick || flops < 1e9)) {
      const ac = T.randn([M, K], { device: 'cpu' }), bc = T.randn([K, N], { device: 'cpu' });
      const secs = await timeIt(() => T.matmul(ac, bc).dispose(), { quick: true, minIterations: 1 });
      ctx.record({ name, variant: 'cpu reference (plain TS)', device: 'cpu', value: flops / secs / 1e9, unit: 'GFLOP/s' });
    }
    a.dispose(); b.dispose(); c.dispose();
  }
  await tfjsPeers(ctx);
  ceiling(ctx, shapes, best, soft);
}

/**
 * The ceiling: with a software adapter the WebGPU kernels run on the same cores, so native sgemm (torch on
 * OpenBLAS) is the ceiling; with a GPU adapter it is cuBLAS fp32 through torch on that GPU, and a CPU
 * figure would mean nothing.
 */
function ceiling(ctx: SuiteContext, shapes: [string, number, number, number][], best: Map<string, number>, soft: boolean): void {
  const r = runPeer<(PeerRow & { name: string; value: number })[]>('torch_matmul.py', shapes, 'compute ceiling');
  if (r?.[0]?.device === 'cpu' && !soft) { console.warn('compute ceiling skipped: torch sees no GPU here'); return; }
  for (const p of r ?? []) {
    ctx.record({ name: p.name, variant: `ceiling: ${p.label}`, device: p.device, value: p.value, unit: 'GFLOP/s' });
    const b = best.get(p.name);
    if (b) ctx.record({ name: p.name, variant: 'best engine kernel / ceiling', device: 'webgpu', value: b / p.value, unit: 'x' });
  }
}

async function tfjsPeers(ctx: SuiteContext): Promise<void> {
  let tf: typeof import('@tensorflow/tfjs-core');
  try {
    tf = await import('@tensorflow/tfjs-core');
  } catch (e) {
    console.warn(`tfjs peers skipped: ${(e as Error).message}`);
    return;
  }
  const backends: [string, () => Promise<void>][] = [
    ['tfjs-webgpu', async () => {
      const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
      const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
      g.navigator ??= {};
      g.navigator.gpu ??= dev.backend.gpu;
      await import('@tensorflow/tfjs-backend-webgpu');
    }],
    ['tfjs-wasm', async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(join(benchDir, '..', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
    }],
  ];
  for (const [peer, load] of backends) {
    try {
      await load();
      const ok = await tf.setBackend(peer.slice(5));
      if (!ok) throw new Error('setBackend failed');
      await tf.ready();
    } catch (e) {
      console.warn(`${peer} skipped: ${(e as Error).message}`);
      continue;
    }
    for (const [name, M, K, N] of SHAPES) {
      const flops = 2 * M * N * K;
      const a = tf.randomNormal([M, K]), b = tf.randomNormal([K, N]);
      const reps = Math.max(1, Math.ceil((peer === 'tfjs-wasm' || (await T.getDevice('webgpu') as T.GpuDevice).backend.report.isSoftware ? 1e8 : 4e10) / flops));
      const secs = await timeIt(async () => {
        let c: ReturnType<typeof tf.matMul> | null = null;
        for (let r = 0; r < reps; r++) { c?.dispose(); c = tf.matMul(a, b); }
        await c!.data();
        c!.dispose();
      }, { quick: ctx.quick, minIterations: 2 });
      ctx.record({ name, variant: peer, device: peer === 'tfjs-wasm' ? 'cpu (wasm, 1 thread)' : 'webgpu', value: (flops * reps) / secs / 1e9, unit: 'GFLOP/s' });
      a.dispose(); b.dispose();
    }
  }
}
