/**
 * `diffusionner kernel <name> --shape a,b,c`: one kernel family alone. Random inputs go to the chosen
 * device and to the cpu reference; the command prints the largest error against the reference and the
 * kernel's time (GPU timestamps where the adapter has them, else wall time with a sync), so a student can
 * poke at any WGSL kernel: change the shape, read src/kernels/<file>.ts, run again.
 */
import * as T from '../ops/index.js';
import type { Device } from '../tensor/device.js';
import { RNG } from '../tensor/random.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';

interface KernelEntry {
  file: string;
  dims: string[];
  defaults: number[];
  /** Builds inputs on the cpu, and the op applied to inputs moved to a device. */
  make: (s: number[], rng: RNG) => { inputs: Tensor[]; run: (xs: Tensor[]) => Tensor; flops?: number; bytes?: number };
}

const rand = (shape: number[], rng: RNG, lo = -1, hi = 1) => T.rand(shape, { device: 'cpu', rng, low: lo, high: hi });
const ints = (n: number, max: number, rng: RNG) => T.tensor(Int32Array.from({ length: n }, () => rng.int(max)), { device: 'cpu' });

export const KERNELS: Record<string, KernelEntry> = {
  matmul: {
    file: 'matmul.ts', dims: ['M', 'N', 'K'], defaults: [480, 256, 256],
    make: ([M, N, K], r) => ({ inputs: [rand([M, K], r), rand([N, K], r), rand([N], r)], run: ([a, b, bias]) => T.linear(a, b, bias), flops: 2 * M * N * K }),
  },
  softmax: {
    file: 'softmax.ts', dims: ['rows', 'cols'], defaults: [4096, 512],
    make: ([R, C], r) => ({ inputs: [rand([R, C], r, -4, 4)], run: ([x]) => T.softmax(x, -1), bytes: 8 * R * C }),
  },
  layernorm: {
    file: 'layernorm.ts', dims: ['rows', 'cols'], defaults: [4096, 256],
    make: ([R, C], r) => ({ inputs: [rand([R, C], r), rand([C], r), rand([C], r)], run: ([x, w, b]) => T.layerNorm(x, w, b, 1e-5), bytes: 8 * R * C }),
  },
  attention: {
    file: 'attention.ts', dims: ['B', 'heads', 'Lq', 'Lk', 'headDim'], defaults: [8, 8, 60, 30, 32],
    make: ([B, H, Lq, Lk, D], r) => ({
      inputs: [rand([B, Lq, H * D], r), rand([B, Lk, H * D], r), rand([B, Lk, H * D], r)],
      run: ([q, k, v]) => T.attention(q, k, v, { heads: H }), flops: 4 * B * H * Lq * Lk * D,
    }),
  },
  lstm: {
    file: 'lstm.ts', dims: ['B', 'L', 'input', 'hidden'], defaults: [8, 30, 128, 128],
    make: ([B, L, I, H], r) => ({
      inputs: [rand([B, L, I], r), rand([4 * H, I], r, -0.1, 0.1), rand([4 * H, H], r, -0.1, 0.1), rand([4 * H], r), rand([4 * H], r)],
      run: ([x, wih, whh, bih, bhh]) => T.lstmLayer(x, { wih, whh, bih, bhh }, Array.from({ length: B }, (_, b) => L - (b % Math.max(1, L)))),
      flops: 2 * B * L * 4 * H * (I + H),
    }),
  },
  pointer: {
    file: 'pointer.ts', dims: ['B', 'K', 'M', 'H'], defaults: [8, 60, 30, 256],
    make: ([B, K, M, H], r) => ({
      inputs: [rand([B, M, H], r), rand([B, K, H], r), rand([H], r), rand([1], r), T.ones([B, M], { device: 'cpu' })],
      run: ([u, v, w, b, m]) => T.boundaryPointer(u, v, w, b, m), flops: 4 * B * K * M * H,
    }),
  },
  conv3d: {
    file: 'conv3d.ts', dims: ['B', 'channels', 'D1', 'D2', 'D3', 'dilation'], defaults: [8, 10, 5, 60, 60, 2],
    make: ([B, C, D1, D2, D3, d], r) => ({
      inputs: [rand([B, C, D1, D2, D3], r), rand([C, 1, 3, 3, 3], r), rand([C], r)],
      run: ([x, w, b]) => T.depthwiseConv3d(x, w, b, d), flops: 54 * B * C * D1 * D2 * D3,
    }),
  },
  'cln-grid': {
    file: 'cln-grid.ts', dims: ['B', 'n', 'H', 'E'], defaults: [16, 31, 256, 20],
    make: ([B, n, H, E], r) => ({
      inputs: [rand([B, n, H], r), rand([B, n, H], r), rand([B, n, H], r), rand([20, E], r), T.reshape(ints(B * n * n, 20, r), [B, n, n]), rand([3, E], r), T.reshape(ints(B * n * n, 3, r), [B, n, n])],
      run: ([x, s, t, d, di, g, gi]) => T.clnGrid(x, s, t, d, di, g, gi), bytes: 4 * (B * n * n * (H + 2 * E + 2) + 3 * B * n * H),
    }),
  },
  'cross-entropy': {
    file: 'cross-entropy.ts', dims: ['rows', 'classes'], defaults: [4096, 32],
    make: ([R, C], r) => ({
      inputs: [rand([R, C], r, -4, 4), ints(R, C, r), rand([C], r, 0.5, 2)],
      run: ([z, y, w]) => T.reshape(T.crossEntropy(z, y, { weight: w, labelSmoothing: 0.1 }), [1]), bytes: 4 * R * C,
    }),
  },
  gelu: {
    file: 'elementwise.ts', dims: ['n'], defaults: [1 << 20],
    make: ([n], r) => ({ inputs: [rand([n], r, -4, 4)], run: ([x]) => T.gelu(x), bytes: 8 * n }),
  },
  add: {
    file: 'elementwise.ts', dims: ['rows', 'cols'], defaults: [1024, 1024],
    make: ([R, C], r) => ({ inputs: [rand([R, C], r), rand([C], r)], run: ([x, y]) => T.add(x, y), bytes: 8 * R * C }),
  },
  sum: {
    file: 'reduce.ts', dims: ['rows', 'cols'], defaults: [1024, 1024],
    make: ([R, C], r) => ({ inputs: [rand([R, C], r)], run: ([x]) => T.sum(x, -1), bytes: 4 * R * C }),
  },
  transpose: {
    file: 'copy.ts', dims: ['rows', 'cols'], defaults: [1024, 768],
    make: ([R, C], r) => ({ inputs: [rand([R, C], r)], run: ([x]) => T.transpose(x), bytes: 8 * R * C }),
  },
  'index-select': {
    file: 'gather.ts', dims: ['rows', 'cols', 'count'], defaults: [12000, 128, 256],
    make: ([R, C, N], r) => ({ inputs: [rand([R, C], r), ints(N, R, r)], run: ([x, i]) => T.indexSelect(x, 0, i), bytes: 8 * N * C }),
  },
  'index-add': {
    file: 'gather.ts', dims: ['rows', 'cols', 'count'], defaults: [12000, 128, 256],
    make: ([R, C, N], r) => ({ inputs: [rand([R, C], r), ints(N, R, r), rand([N, C], r)], run: ([x, i, s]) => T.indexAdd(x, 0, i, s), bytes: 8 * R * C }),
  },
  dropout: {
    file: 'dropout.ts', dims: ['n'], defaults: [1 << 20],
    make: ([n], r) => ({ inputs: [rand([n], r)], run: ([x]) => T.dropout(x, 0.1, 1234), bytes: 8 * n }),
  },
};

export interface PlaygroundResult { kernel: string; shape: Record<string, number>; device: string; maxAbsError: number; /** maxAbsError / max |reference|. */
  maxRelError: number; ms: number; timing: 'gpu timestamps' | 'wall'; rate: string }

export async function runKernel(name: string, shape: number[] | undefined, device: Device, seed = 0): Promise<PlaygroundResult> {
  const k = KERNELS[name];
  if (!k) throw new Error(`unknown kernel '${name}'; kernels: ${Object.keys(KERNELS).join(', ')}`);
  const s = shape ?? k.defaults;
  if (s.length !== k.dims.length || s.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`kernel ${name} takes --shape ${k.dims.join(',')} (positive whole numbers), e.g. --shape ${k.defaults.join(',')}`);
  }
  const { inputs, run, flops, bytes } = k.make(s, new RNG(seed));
  const ref = noGrad(() => run(inputs));
  const onDev = await Promise.all(inputs.map((x) => x.to(device)));
  const out = noGrad(() => run(onDev));
  const [got, want] = [await out.data(), ref.array];
  let abs = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    abs = Math.max(abs, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  // Relative to the largest reference value: elementwise ratios explode where outputs are near 0.
  const rel = scale ? abs / scale : abs;
  out.dispose();
  let ms = Infinity, timing: PlaygroundResult['timing'] = 'wall';
  for (let rep = 0; rep < 5; rep++) {
    if (device.kind === 'webgpu' && device.backend.hasTimestamps) {
      let o: Tensor | null = null;
      const gpuMs = await device.backend.timeGpu(() => { o = noGrad(() => run(onDev)); }).catch(() => null);
      (o as Tensor | null)?.dispose();
      if (gpuMs !== null) { ms = Math.min(ms, gpuMs); timing = 'gpu timestamps'; continue; }
    }
    const t0 = performance.now();
    const o = noGrad(() => run(onDev));
    await o.data();
    ms = Math.min(ms, performance.now() - t0);
    o.dispose();
  }
  [...inputs, ...onDev, ref].forEach((x) => x.dispose());
  const rate = flops ? `${(flops / ms / 1e6).toFixed(2)} GFLOP/s` : bytes ? `${(bytes / ms / 1e6).toFixed(2)} GB/s` : '';
  return { kernel: name, shape: Object.fromEntries(k.dims.map((d, i) => [d, s[i]])), device: device.name, maxAbsError: abs, maxRelError: rel, ms, timing, rate };
}

export function kernelHelp(): string {
  return Object.entries(KERNELS).map(([n, k]) => `  ${n.padEnd(13)} --shape ${k.dims.join(',').padEnd(24)} (src/kernels/${k.file}; default ${k.defaults.join(',')})`).join('\n');
}
