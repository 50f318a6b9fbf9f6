/** Reference-counted backing memory shared by a tensor and its reshaped views. */
import { allocArray, BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import type { Device } from './device.js';

/**
 * Test switch: fill every new allocation with NaN (i32: a sentinel) so a kernel that leaves an output
 * element unwritten fails its comparison instead of passing on a zeroed or recycled buffer.
 */
export const allocationPolicy = { poison: false };
export const POISON_I32 = -1234567891;
const poisonCache = new Map<number, Uint32Array>();

function poisonWords(words: number, dtype: DType): Uint32Array {
  const key = dtype === 'i32' ? -words : words;
  let a = poisonCache.get(key);
  if (!a) {
    a = new Uint32Array(words).fill(dtype === 'i32' ? POISON_I32 >>> 0 : 0x7fc00000);
    poisonCache.clear();
    poisonCache.set(key, a);
  }
  return a;
}

export class Storage {
  refs = 1;
  array: TypedArray | null = null;
  buffer: GPUBuffer | null = null;

  /** `forUpload`: the caller will fill it with queue.writeBuffer (see BufferPool). */
  constructor(readonly device: Device, readonly dtype: DType, readonly length: number, forUpload = false) {
    if (device.kind === 'cpu') {
      this.array = allocArray(dtype, length);
      if (allocationPolicy.poison) this.array.fill(dtype === 'i32' ? POISON_I32 : NaN);
    } else {
      if (dtype === 'f64') throw new Error("dtype 'f64' exists only on the cpu device");
      // Round up to 16 bytes so kernels may view any buffer as array<vec4<f32>>.
      const bytes = Math.max(16, Math.ceil((length * BYTES_PER_ELEMENT[dtype]) / 16) * 16);
      const poison = allocationPolicy.poison;
      this.buffer = device.backend.pool.acquire(bytes, forUpload || poison, 'tensor');
      if (poison) device.backend.upload(this.buffer, poisonWords(this.buffer.size / 4, dtype));
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
