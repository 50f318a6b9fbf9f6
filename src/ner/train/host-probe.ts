/**
 * How fast the host computes when a run starts: an n³ f32 matmul on the training device (n 512 on webgpu,
 * 128 on the plain-TypeScript cpu device, where 512 would cost seconds), timed over a few repetitions
 * (median), in GFLOP/s. Recorded with each epoch (metrics.json), so that runs on a busy or a
 * different machine can be read against each other. No random numbers: the run's generator is untouched.
 */
import { full, matmul } from '../../ops/index.js';
import type { Device } from '../../tensor/device.js';

const REPS = 7;

export async function matmulProbe(device: Device): Promise<{ n: number; gflops: number }> {
  const N = device.kind === 'webgpu' ? 512 : 128;
  const a = full([N, N], 0.5, { device }), b = full([N, N], 0.25, { device });
  const times: number[] = [];
  for (let i = 0; i <= REPS; i++) {
    const t0 = performance.now();
    const c = matmul(a, b);
    await c.data(); // the readback waits for the device
    c.dispose();
    if (i > 0) times.push(performance.now() - t0); // the first compiles the kernel
  }
  a.dispose(); b.dispose();
  const median = times.sort((x, y) => x - y)[REPS >> 1];
  return { n: N, gflops: (2 * N ** 3) / (median / 1000) / 1e9 };
}
