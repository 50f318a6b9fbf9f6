/** Reference-counted backing memory shared by a tensor and its reshaped views. */
import { allocArray, BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import type { Device } from './device.js';

export class Storage {
  refs = 1;
  array: TypedArray | null = null;
  buffer: GPUBuffer | null = null;

  constructor(readonly device: Device, readonly dtype: DType, readonly length: number) {
    if (device.kind === 'cpu') {
      this.array = allocArray(dtype, length);
    } else {
      if (dtype === 'f64') throw new Error("dtype 'f64' exists only on the cpu device");
      // Round up to 16 bytes so kernels may view any buffer as array<vec4<f32>>.
      const bytes = Math.max(16, Math.ceil((length * BYTES_PER_ELEMENT[dtype]) / 16) * 16);
      this.buffer = device.backend.pool.acquire(bytes, 'tensor');
    }
  }

  get byteLength(): number {
    return this.length * BYTES_PER_ELEMENT[this.dtype];
  }

  release(): void {
    if (--this.refs > 0) return;
    if (this.buffer && this.device.kind === 'webgpu') this.device.backend.pool.release(this.buffer);
    this.buffer = null;
    this.array = null;
  }
}
