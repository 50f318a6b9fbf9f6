/**
 * Tuning probe for the regblock matmul on lavapipe: GPU time (timestamp queries) of each tile
 * configuration on three shapes. Usage:
 *   CFGS='[[8,32,1,4],[8,16,2,8]]' TR='[false,true]' npx tsx bench/tune-matmul.ts
 * where each config is [subgroup size S, rows per lane TM, vec4 column blocks TNV, k per iteration KS]
 * and TR gives [transA, transB]; SHAPES='[[M,K,N],...]' replaces the three default shapes.
 */
import * as T from '../src/index.js';
import { launchMatmul } from '../src/kernels/matmul.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const configs = JSON.parse(process.env.CFGS ?? '[[8,32,1,4]]');
const tr = JSON.parse(process.env.TR ?? '[false,false]');
const shapes: number[][] = JSON.parse(process.env.SHAPES ?? '[[1024,1024,1024],[128,768,3072],[480,256,1024]]');
for (const [M, K, N] of shapes) {
  const a = T.randn(tr[0] ? [K, M] : [M, K], { device: 'webgpu' }), b = T.randn(tr[1] ? [N, K] : [K, N], { device: 'webgpu' });
  const c = T.zeros([M, N], { device: 'webgpu' });
  const d = { batch: 1, M, N, K, transA: tr[0], transB: tr[1], aStride: M*K, bStride: K*N, act: 'none' as const };
  for (const [S, TM, TNV, KS] of configs) {
    const plan = { variant: 'regblock' as const, regblock: { S, TM, TNV, KS } };
    launchMatmul(gpu, a, b, null, c, d, plan); await c.data();
    const times = [];
    for (let r = 0; r < 3; r++) times.push((await be.timeGpu(() => { for (let i = 0; i < 4; i++) launchMatmul(gpu, a, b, null, c, d, plan); }))! / 4);
    const dt = Math.min(...times);
    console.log(JSON.stringify(tr), JSON.stringify([S,TM,TNV,KS]), M, K, N, (2*M*N*K/dt/1e6).toFixed(1), 'GFLOP/s');
  }
}
