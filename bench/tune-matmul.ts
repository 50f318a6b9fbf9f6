/**
 * Tuning probe for the matmul tile configurations: GPU time (timestamp queries) of each on three shapes.
 * Usage:
 *   CFGS='[[8,32,1,4],[8,16,2,8]]' TR='[false,true]' npx tsx bench/tune-matmul.ts
 * where each regblock config (lavapipe) is [subgroup size S, rows per lane TM, vec4 column blocks TNV,
 * k per iteration KS], and with VARIANT=tiled (real GPUs) each is [BM, BN, BK, TM, TN];
 * TR gives [transA, transB]; SHAPES='[[M,K,N],...]' replaces the three default shapes.
 */
import * as T from '../src/index.js';
import { launchMatmul, type MatmulPlan } from '../src/kernels/matmul.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const tiled = process.env.VARIANT === 'tiled';
const configs: number[][] = JSON.parse(process.env.CFGS ?? (tiled ? '[[128,128,8,8,8],[64,64,16,4,4],[32,32,8,4,4]]' : '[[8,32,1,4]]'));
const tr = JSON.parse(process.env.TR ?? '[false,false]');
const shapes: number[][] = JSON.parse(process.env.SHAPES ?? '[[1024,1024,1024],[128,768,3072],[480,256,1024]]');
for (const [M, K, N] of shapes) {
  const a = T.randn(tr[0] ? [K, M] : [M, K], { device: 'webgpu' }), b = T.randn(tr[1] ? [N, K] : [K, N], { device: 'webgpu' });
  const c = T.zeros([M, N], { device: 'webgpu' });
  const d = { batch: 1, M, N, K, transA: tr[0], transB: tr[1], aStride: M*K, bStride: K*N, act: 'none' as const };
  for (const cfg of configs) {
    const plan: MatmulPlan = tiled
      ? { variant: 'tiled', tiled: { BM: cfg[0], BN: cfg[1], BK: cfg[2], TM: cfg[3], TN: cfg[4] } }
      : { variant: 'regblock', regblock: { S: cfg[0], TM: cfg[1], TNV: cfg[2], KS: cfg[3] } };
    launchMatmul(gpu, a, b, null, c, d, plan); await c.data();
    const times = [];
    const reps = Number(process.env.REPS ?? 4);
    for (let r = 0; r < 3; r++) times.push((await be.timeGpu(() => { for (let i = 0; i < reps; i++) launchMatmul(gpu, a, b, null, c, d, plan); }))! / reps);
    const dt = Math.min(...times);
    console.log(JSON.stringify(tr), JSON.stringify(cfg), M, K, N, (2*M*N*K/dt/1e6).toFixed(1), 'GFLOP/s');
  }
}
