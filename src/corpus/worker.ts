/**
 * A worker: takes shards from the queue of its model's weights, one at a time, tags them and stores
 * their results. A killed worker's shard goes back to the queue once its lock (renewed while it works)
 * runs out, for another worker; Redis going away is waited out (ioredis reconnects, and BullMQ resumes).
 */
import { hostname } from 'node:os';
import { DelayedError, type Job, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ShardJob } from './job.js';
import { connectionOf, openRedis, queueNameOf } from './redis.js';
import { storeShard } from './results.js';
import { tagShard, type Tagger } from './tag-shard.js';

export interface WorkerOptions {
  redis: string;
  tagger: Tagger;
  /** The sha256 of the tagger's weights: the queue it serves, and what every job must name. */
  weights: string;
  /** Write shard results as files here instead of into Redis. */
  outDir?: string;
  lockSeconds: number; maxDocChars: number;
  log: (line: string) => void;
}

export interface RunningWorker {
  name: string; queue: string;
  /** Finishes the shard in hand (if any) and disconnects. */
  close(): Promise<void>;
}

/** A shard for other weights goes back to the queue for this long (it should never reach this queue). */
const REFUSED_DELAY_MS = 10_000;

/** A kill or two must not fail a shard for good: each stall (a lock that ran out) counts against this. */
const MAX_STALLS = 10;

/**
 * Stopping waits this long for BullMQ to mark a stored shard completed, and then for BullMQ's close, which
 * can wait forever on a connection still reconnecting after a Redis restart (taskforcesh/bullmq#4656).
 * A shard stored but not marked is simply tagged again by another worker, with the same result.
 */
const GRACE_MS = 5000;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The shard being tagged, so that stopping can wait until it is stored and marked done, and no longer. */
class ShardInHand {
  stopping = false;
  private id: string | undefined;
  private stored: Promise<unknown> = Promise.resolve();
  private marked: Promise<void> = Promise.resolve();
  private mark = () => {};

  begin(id: string | undefined, work: Promise<unknown>): void {
    this.id = id;
    this.stored = work.catch(() => {});
    this.marked = new Promise((resolve) => { this.mark = resolve; });
  }

  /** BullMQ marked the job completed or failed. */
  finished(id: string | undefined): void {
    if (id === this.id) this.mark();
  }

  async settled(): Promise<void> {
    await this.stored;
    await Promise.race([this.marked, pause(GRACE_MS)]);
  }
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = `${hostname()}:${process.pid}`;
  const note = connectionNotes(o.log);
  const redis = await openRedis(o.redis, { persistent: true, onError: note.lost });
  redis.on('reconnecting', () => note.lost(new Error('the connection closed')));
  redis.on('ready', note.back);
  const lockMs = o.lockSeconds * 1000;
  const hand = new ShardInHand();
  const processor = async (job: Job<ShardJob>, token?: string) => {
    // A job fetched while stopping goes straight back to the queue, no attempt spent.
    if (hand.stopping) { await job.moveToWait(token); throw new WaitingError(); }
    await processShard(o, redis, name, job, token, hand);
  };
  const worker = new Worker<ShardJob>(queueNameOf(o.weights), processor, {
    connection: connectionOf(o.redis, { persistent: true }), name, concurrency: 1, autorun: true,
    // A dead worker's shard is found by the stalled check within about two lock periods.
    lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: MAX_STALLS,
  });
  worker.on('error', throttled(o.log));
  worker.on('completed', (job) => hand.finished(job.id));
  worker.on('failed', (job, e) => {
    hand.finished(job?.id);
    if (job) o.log(`worker: corpus ${job.data.corpus} shard ${job.data.shard}: failed (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1}): ${e.message.split('\n')[0]}`);
  });
  await worker.waitUntilReady();
  return {
    name, queue: worker.name,
    close: async () => {
      hand.stopping = true;
      await hand.settled();
      await Promise.race([worker.close(), pause(GRACE_MS)]);
      redis.disconnect();
    },
  };
}

async function processShard(o: WorkerOptions, redis: Redis, name: string, job: Job<ShardJob>, token: string | undefined, hand: ShardInHand): Promise<void> {
  const d = job.data;
  if (d.weights !== o.weights) {
    // Not failed (another worker may hold these weights): back to the queue, without spending an attempt.
    o.log(`worker: refused corpus ${d.corpus} shard ${d.shard}: it is for weights ${d.weights.slice(0, 12)}, this worker has ${o.weights.slice(0, 12)}`);
    await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
    throw new DelayedError();
  }
  o.log(`worker: corpus ${d.corpus} shard ${d.shard}: tagging ${d.docs.length} documents`);
  const started = Date.now();
  const work = (async () => {
    const r = await tagShard(o.tagger, d, o.maxDocChars);
    const seconds = (Date.now() - started) / 1000;
    await storeShard(redis, d.corpus, d.shard, r.lines, { docs: d.docs.length, failed: r.failed, started, seconds, worker: name }, o.outDir);
    return { ...r, seconds };
  })();
  hand.begin(job.id, work);
  const { failed, seconds } = await work;
  const errors = failed ? ` (${failed} as errors)` : '';
  o.log(`worker: corpus ${d.corpus} shard ${d.shard}: ${d.docs.length} documents${errors} in ${seconds.toFixed(1)} s, ${(d.docs.length / Math.max(seconds, 1e-3)).toFixed(1)} docs/s`);
}

/** A worker error (a connection refused while Redis restarts, a lock lost) logged once, not on every retry. */
function throttled(log: (line: string) => void): (e: Error) => void {
  const seen = new Map<string, number>();
  return (e) => {
    const msg = e.message.split('\n')[0];
    if (Date.now() - (seen.get(msg) ?? 0) < 30_000) return;
    seen.set(msg, Date.now());
    log(`worker: ${msg}`);
  };
}

/** One line when the connection to Redis is lost (not one per retry), and one when it is back. */
function connectionNotes(log: (line: string) => void) {
  let down = false;
  return {
    lost: (e: Error) => {
      if (down) return;
      down = true;
      log(`worker: Redis connection lost (${e.message.split('\n')[0]}); reconnecting`);
    },
    back: () => {
      if (!down) return;
      down = false;
      log('worker: Redis connection back');
    },
  };
}
