/**
 * GPU time of the fused attention kernels, rows vs subgroup variant with 1, 2, 4 rows per lane, at DiffusionNER's shapes
 * (timestamp queries, median of 5). Usage: npx tsx bench/probe-attention.ts
 */
import * as T from '../src/index.js';
import { launchAttention, launchAttentionBackward, type AttentionVariant } from '../src/kernels/attention.js';
const gpu = (await T.getDevice('webgpu')) as T.GpuDevice;
const be = gpu.backend;
const S = be.report.subgroupSize ?? 8;
const variants: [string, AttentionVariant][] = [['rows', { kind: 'rows', R: 4 }], ...[1, 2, 4].map((R) => [`subgroup R=${R}`, { kind: 'subgroup', S, R }] as [string, AttentionVariant])];
for (const [label, B, Lq, Lk, dropout] of [['self-attention, inference', 13, 60, 60, 0], ['cross-attention, inference', 13, 60, 42, 0], ['self-attention, training', 8, 60, 60, 0.1]] as const) {
  const heads = 8, dh = 32, E = heads * dh;
  const q = T.randn([B, Lq, E], { device: gpu }), k = T.randn([B, Lk, E], { device: gpu }), v = T.randn([B, Lk, E], { device: gpu });
  const mask = T.ones([B, Lk], { device: gpu });
  const o = T.zeros([B, Lq, E], { device: gpu }), lse = T.zeros([B, heads, Lq], { device: gpu });
  const dq = T.zeros([B, Lq, E], { device: gpu }), dk = T.zeros([B, Lk, E], { device: gpu }), dv = T.zeros([B, Lk, E], { device: gpu }), delta = T.zeros([B, heads, Lq], { device: gpu });
  const d = { B, heads, Lq, Lk, dh, scale: 1 / Math.sqrt(dh), dropout, seed: 7 };
  const line: string[] = [];
  for (const [name, variant] of variants) {
    launchAttention(gpu, q, k, v, mask, o, lse, d, variant); launchAttentionBackward(gpu, q, k, v, mask, o, lse, o, dq, dk, dv, delta, d, variant); await o.data();
    const f: number[] = [], bw: number[] = [];
    for (let r = 0; r < 5; r++) {
      f.push((await be.timeGpu(() => launchAttention(gpu, q, k, v, mask, o, lse, d, variant)))!);
      bw.push((await be.timeGpu(() => launchAttentionBackward(gpu, q, k, v, mask, o, lse, o, dq, dk, dv, delta, d, variant)))!);
    }
    const med = (x: number[]) => x.sort((a, b) => a - b)[2].toFixed(2);
    line.push(`${name} forward ${med(f)} ms, backward ${med(bw)} ms`);
  }
  console.log(`${label} (B ${B}, Lq ${Lq}, Lk ${Lk}, 8 heads of 32):`, line.join('; '));
}
process.exit(0);
