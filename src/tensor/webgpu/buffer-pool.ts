/**
 * Size-bucketed free lists of GPU buffers. A released buffer waits in `pending` until the batch of
 * dispatches that may still use it has been submitted: only then can a reuse (a queue.writeBuffer, which
 * runs on the queue timeline ahead of unsubmitted work) no longer clobber data an earlier op reads.
 */
export const TENSOR_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */;

/** Four buckets per octave, at least 256 bytes: at most 25 % slack. */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.max(256, Math.ceil(bytes / step) * step);
}

export interface PoolCounters {
  liveBytes: number;
  pooledBytes: number;
  pendingBytes: number;
  buffersCreated: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  readonly counters: PoolCounters = { liveBytes: 0, pooledBytes: 0, pendingBytes: 0, buffersCreated: 0 };

  constructor(private device: GPUDevice, private maxPooledBytes: number) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.counters.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: TENSOR_USAGE, label });
      this.counters.buffersCreated++;
    }
    this.counters.liveBytes += size;
    return buf;
  }

  release(buf: GPUBuffer): void {
    this.counters.liveBytes -= buf.size;
    this.counters.pendingBytes += buf.size;
    this.pending.push(buf);
  }

  /** Called right after a submit: everything released before it may now be reused. */
  afterSubmit(): void {
    for (const buf of this.pending) {
      this.counters.pendingBytes -= buf.size;
      if (this.counters.pooledBytes + buf.size > this.maxPooledBytes) {
        buf.destroy();
        continue;
      }
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      list.push(buf);
      this.counters.pooledBytes += buf.size;
    }
    this.pending = [];
  }

  /** Destroys every pooled buffer (live ones are untouched). */
  emptyCache(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.counters.pooledBytes = 0;
  }
}
