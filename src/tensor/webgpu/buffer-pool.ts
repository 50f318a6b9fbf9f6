/**
 * Size-bucketed free lists of GPU buffers, in two tiers:
 *  - `free`: released before the last submit. Safe for anything, including queue.writeBuffer uploads,
 *    which run on the queue timeline ahead of work still unsubmitted and could clobber data it reads.
 *  - `recent`: released since the last submit. Safe only as the output of a later kernel in the same
 *    batch: WebGPU orders dispatches (Dawn inserts the barriers), so a write cannot overtake an earlier read.
 * A submit moves `recent` into `free`.
 * A buffer the pool will not keep is destroyed only after the next submit: the unsubmitted batch may still
 * use it, and Dawn refuses a submit that uses a destroyed buffer.
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
  liveBuffers: number;
  pooledBuffers: number;
  /** Pooled bytes released since the last submit (part of pooledBytes). */
  recentBytes: number;
  buffersCreated: number;
  /** The most liveBytes has been since the pool was made or resetPeak() was called. */
  peakLiveBytes: number;
}

type Lists = Map<number, GPUBuffer[]>;

/**
 * Which free buffer an acquire gets depends only on the set of free buffers, not on the order they
 * were released in: the oldest (lowest serial) first. So a run of the same work (every DDIM step,
 * every inference batch) gets the same buffers in the same roles, and the backend's bind groups, cached
 * by buffer, are found again instead of re-created (44 µs each on an H100 host: docs/ENGINE.md).
 */
const serials = new WeakMap<GPUBuffer, number>();
let nextSerial = 0;

/**
 * A free buffer of `size`'s bucket; with `reuseLarger`, else of the next larger buckets up to twice
 * `size` (kernels bound their own indices, so a larger buffer serves).
 */
function take(lists: Lists, size: number, reuseLarger: boolean): GPUBuffer | undefined {
  for (let s = size; s <= (reuseLarger ? 2 * size : size); s = bucketSize(s + 1)) {
    const buf = lists.get(s)?.pop();
    if (buf) return buf;
  }
  return undefined;
}
/** Keeps each list in descending serial order, so pop() takes the oldest. */
function put(lists: Lists, buf: GPUBuffer): void {
  let list = lists.get(buf.size);
  if (!list) lists.set(buf.size, (list = []));
  const serial = serials.get(buf)!;
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (serials.get(list[mid])! > serial) lo = mid + 1; else hi = mid;
  }
  list.splice(lo, 0, buf);
}

export class BufferPool {
  private free: Lists = new Map();
  private recent: Lists = new Map();
  /** Buffers to destroy right after the next submit. */
  private doomed: GPUBuffer[] = [];
  readonly counters: PoolCounters = { liveBytes: 0, pooledBytes: 0, liveBuffers: 0, pooledBuffers: 0, recentBytes: 0, buffersCreated: 0, peakLiveBytes: 0 };
  /**
   * Let a request take a free buffer up to twice its size. Without it, a process fed ever new shapes (a
   * server's batches) keeps creating buffers until it has met every combination of sizes, and its memory
   * grows for thousands of requests; with it, what larger work left behind serves the smaller. Off by
   * default: repeated work settles on the same buffers (and so on cached bind groups) more slowly with it
   * (the same DiffusionNER batch tagged eight times in a row still created 9 bind groups the eighth time,
   * against none from the sixth time without it), and training repeats its work.
   */
  reuseLarger = false;

  /** `beforeDestroy` hears of each buffer the pool destroys (the backend drops its cached bind groups). */
  constructor(private device: GPUDevice, private maxPooledBytes: number, private beforeDestroy: (buf: GPUBuffer) => void = () => {}) {}

  /** `forUpload`: the buffer will be written with queue.writeBuffer, so it must not be in the pending batch. */
  acquire(bytes: number, forUpload: boolean, label: string): GPUBuffer {
    const size = bucketSize(bytes);
    let buf = forUpload ? undefined : take(this.recent, size, this.reuseLarger);
    if (buf) {
      this.counters.recentBytes -= buf.size;
      this.counters.pooledBytes -= buf.size;
      this.counters.pooledBuffers--;
    } else if ((buf = take(this.free, size, this.reuseLarger))) {
      this.counters.pooledBytes -= buf.size;
      this.counters.pooledBuffers--;
    } else {
      const max = this.device.limits.maxStorageBufferBindingSize;
      if (size > max) {
        throw new Error(`a tensor of ${(bytes / 2 ** 20).toFixed(1)} MiB is larger than this adapter's largest storage buffer ` +
          `(${(max / 2 ** 20).toFixed(0)} MiB): lower the batch size, K (proposals) or the sentence length (--max-words)`);
      }
      buf = this.device.createBuffer({ size, usage: TENSOR_USAGE, label });
      serials.set(buf, nextSerial++);
      this.counters.buffersCreated++;
    }
    this.counters.liveBytes += buf.size;
    this.counters.liveBuffers++;
    if (this.counters.liveBytes > this.counters.peakLiveBytes) this.counters.peakLiveBytes = this.counters.liveBytes;
    return buf;
  }

  resetPeak(): void {
    this.counters.peakLiveBytes = this.counters.liveBytes;
  }

  release(buf: GPUBuffer): void {
    this.counters.liveBytes -= buf.size;
    this.counters.liveBuffers--;
    if (this.counters.pooledBytes + buf.size > this.maxPooledBytes) {
      this.doom(buf);
      return;
    }
    this.counters.pooledBytes += buf.size;
    this.counters.pooledBuffers++;
    this.counters.recentBytes += buf.size;
    put(this.recent, buf);
  }

  private doom(buf: GPUBuffer): void {
    this.beforeDestroy(buf);
    this.doomed.push(buf);
  }

  /** Buffers waiting for the next submit to be destroyed (not counted as pooled). */
  get doomedCount(): number {
    return this.doomed.length;
  }

  /**
   * Called right after a submit: everything released before it may now be reused for uploads too, and
   * buffers the pool gave up can go (destroy() after a submit waits for the GPU work that uses them).
   */
  afterSubmit(): void {
    for (const buf of this.doomed) buf.destroy();
    this.doomed = [];
    for (const list of this.recent.values()) for (const buf of list) put(this.free, buf);
    this.recent.clear();
    this.counters.recentBytes = 0;
  }

  /** Destroys every pooled buffer (live ones are untouched); those released since the last submit after the next one. */
  emptyCache(): void {
    for (const list of this.free.values()) for (const b of list) { this.beforeDestroy(b); b.destroy(); }
    for (const list of this.recent.values()) for (const b of list) this.doom(b);
    this.free.clear();
    this.recent.clear();
    this.counters.pooledBytes = 0;
    this.counters.pooledBuffers = 0;
    this.counters.recentBytes = 0;
  }
}
