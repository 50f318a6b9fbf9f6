/**
 * Dynamic batching: requests that arrive close together are tagged in one device batch. While a batch
 * runs, the requests that arrive gather into the next, which starts as soon as the device is free; with
 * the device idle, a request waits at most `maxWaitMs` for others to join it. A batch holds at most
 * `maxBatch` texts (a bigger request is a batch of its own). One batch runs at a time on the device (`DeviceLane`, shared by every
 * model the server holds); the requests that wait are bounded by `maxQueue`, and past it `submit` refuses
 * at once (the server answers 503) rather than letting latency grow without end.
 */

/** Runs device work one piece at a time, in arrival order, across every batcher that shares it. */
export class DeviceLane {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class QueueFullError extends Error {}

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
  /** Called with each batch's size in texts, as it starts. */
  onBatch?: (texts: number) => void;
}

interface Waiting<R> { texts: readonly string[]; resolve: (r: R[]) => void; reject: (e: Error) => void }

export class Batcher<R> {
  private waiting: Waiting<R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private busy = false;

  constructor(private readonly tag: (texts: string[]) => Promise<R[]>, private readonly lane: DeviceLane, private readonly o: BatcherOptions) {}

  /** Requests waiting for a batch (not yet running). */
  get queueDepth(): number { return this.waiting.length; }
  /** Requests waiting or being tagged. */
  get pending(): number { return this.waiting.length + this.inFlight; }

  /** Tags a request's texts, results in input order; a QueueFullError when `maxQueue` requests already wait. */
  submit(texts: readonly string[]): Promise<R[]> {
    if (this.waiting.length >= this.o.maxQueue) return Promise.reject(new QueueFullError(`the queue is full (${this.o.maxQueue} requests waiting)`));
    return new Promise<R[]>((resolve, reject) => {
      this.waiting.push({ texts, resolve, reject });
      if (this.busy) return; // the running batch's end starts the next
      if (this.waitingTexts() >= this.o.maxBatch) this.dispatch();
      else this.timer ??= setTimeout(() => this.dispatch(), this.o.maxWaitMs);
    });
  }

  private waitingTexts(): number { return this.waiting.reduce((n, w) => n + w.texts.length, 0); }

  /** Starts the next batch (whole requests, at most maxBatch texts, at least one request) unless one is running. */
  private dispatch(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.busy || !this.waiting.length) return;
    const batch: Waiting<R>[] = [];
    let texts = 0;
    while (this.waiting.length && (batch.length === 0 || texts + this.waiting[0].texts.length <= this.o.maxBatch)) {
      const w = this.waiting.shift()!;
      batch.push(w);
      texts += w.texts.length;
    }
    this.busy = true;
    this.inFlight = batch.length;
    void this.lane.run(() => this.runBatch(batch, texts)).finally(() => {
      this.busy = false;
      this.inFlight = 0;
      // Those that gathered meanwhile have waited the batch's length already: they go now.
      this.dispatch();
    });
  }

  private async runBatch(batch: Waiting<R>[], texts: number): Promise<void> {
    this.o.onBatch?.(texts);
    try {
      const out = await this.tag(batch.flatMap((w) => w.texts));
      let at = 0;
      for (const w of batch) { w.resolve(out.slice(at, at + w.texts.length)); at += w.texts.length; }
    } catch (e) {
      for (const w of batch) w.reject(e as Error);
    }
  }
}
