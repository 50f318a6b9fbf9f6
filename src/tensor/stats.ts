/** One snapshot of the engine's memory and dispatch counters (flat across training steps = no leak). */
import type { Device } from './device.js';
import { liveTensorCount } from './tensor.js';

export interface MemoryStats {
  liveTensors: number;
  liveBytes: number;
  pooledBytes: number;
  /** GPU buffers held by tensors, and kept by the pool for reuse. */
  liveBuffers: number;
  pooledBuffers: number;
  recentBytes: number;
  buffersCreated: number;
  peakLiveBytes: number;
  dispatches: number;
  submits: number;
  pipelinesCompiled: number;
  readbacks: number;
}

export function memoryStats(device: Device): MemoryStats {
  const base = { liveTensors: liveTensorCount(), liveBytes: 0, pooledBytes: 0, liveBuffers: 0, pooledBuffers: 0, recentBytes: 0, buffersCreated: 0, peakLiveBytes: 0, dispatches: 0, submits: 0, pipelinesCompiled: 0, readbacks: 0 };
  if (device.kind === 'cpu') return base;
  const b = device.backend;
  return { ...base, ...b.pool.counters, ...b.counters };
}

/**
 * Lets the engine's buffer pool serve a request with a free buffer up to twice its size (no-op on cpu), so
 * that a long-running process fed work of ever new shapes (a server's batches) stops growing soon after
 * warm-up. See BufferPool.reuseLarger for why it is not the default.
 */
export function reuseLargerPooledBuffers(device: Device, on = true): void {
  if (device.kind === 'webgpu') device.backend.pool.reuseLarger = on;
}
