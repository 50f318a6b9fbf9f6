/** `corpus status`: how far a corpus has come, from its keys and its jobs on the queue of its weights. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type CorpusMeta, readMeta, type ShardStats } from './meta.js';
import { connectionOf, corpusKeys, openRedis, queueNameOf, shardOfJobId } from './redis.js';

export interface CorpusStatus {
  name: string; model: string; weights: string; state: CorpusMeta['state']; created: string; queue: string;
  shards: number; shardsDone: number;
  documents: number; documentsDone: number;
  /** Documents that came out as errors, in the shards done. */
  failedDocuments: number;
  /** This corpus's jobs by state (failed: every attempt used). */
  jobs: { waiting: number; active: number; delayed: number; failed: number };
  failedShards: { shard: number; reason: string }[];
  /** The workers connected to the queue (any corpus with these weights). */
  workers: string[];
  /** Documents per second since the first shard began, and the time left at that rate. */
  rate: number | null; etaSeconds: number | null;
}

export async function corpusStatus(url: string, name: string): Promise<CorpusStatus> {
  const redis = await openRedis(url, { persistent: false });
  try {
    const meta = await readMeta(redis, name, url);
    const queue = new Queue(queueNameOf(meta.weights), { connection: connectionOf(url, { persistent: false }) });
    queue.on('error', () => {});
    try {
      return await statusOf(redis, queue, meta);
    } finally {
      await queue.close();
    }
  } finally {
    redis.disconnect();
  }
}

async function statusOf(redis: Redis, queue: Queue, meta: CorpusMeta): Promise<CorpusStatus> {
  const k = corpusKeys(meta.name);
  const stats = Object.values(await redis.hgetall(k.stats)).map((v) => JSON.parse(v) as ShardStats);
  const documentsDone = stats.reduce((n, s) => n + s.docs, 0);
  const ids = async (type: 'wait' | 'active' | 'delayed' | 'failed' | 'prioritized') =>
    (await queue.getRanges([type], 0, -1)).filter((id) => shardOfJobId(id, meta.name) !== null);
  const [waiting, prioritized, active, delayed, failed] = await Promise.all((['wait', 'prioritized', 'active', 'delayed', 'failed'] as const).map(ids));
  const failedShards = await Promise.all(failed.map(async (id) => ({ shard: shardOfJobId(id, meta.name)!, reason: (await queue.getJob(id))?.failedReason ?? '' })));
  const workers = (await queue.getWorkers()).map((w) => (w.rawname ?? '').replace(/^.*?:w:/, '') || w.addr);
  const first = stats.length ? Math.min(...stats.map((s) => s.started)) : 0;
  const last = stats.length ? Math.max(...stats.map((s) => s.started + s.seconds * 1000)) : 0;
  const rate = stats.length && last > first ? documentsDone / ((last - first) / 1000) : null;
  const left = meta.documents - documentsDone;
  return {
    name: meta.name, model: meta.model, weights: meta.weights, state: meta.state, created: new Date(meta.created).toISOString(), queue: queue.name,
    shards: meta.shards, shardsDone: stats.length, documents: meta.documents, documentsDone,
    failedDocuments: stats.reduce((n, s) => n + s.failed, 0),
    jobs: { waiting: waiting.length + prioritized.length, active: active.length, delayed: delayed.length, failed: failed.length },
    failedShards: failedShards.sort((a, b) => a.shard - b.shard), workers,
    rate, etaSeconds: rate && meta.state === 'submitted' ? left / rate : null,
  };
}

const duration = (s: number) => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);

export function formatStatus(s: CorpusStatus): string {
  const submitting = s.state === 'submitting' ? ' (the submit is still running, or did not finish: the counts are not final)' : '';
  const lines = [
    `corpus ${s.name}: model ${s.model} (weights ${s.weights.slice(0, 12)}), submitted ${s.created}${submitting}`,
    `shards: ${s.shardsDone} of ${s.shards} done; documents: ${s.documentsDone} of ${s.documents} tagged, ${s.failedDocuments} of them as errors`,
    `jobs: ${s.jobs.waiting} waiting, ${s.jobs.active} active, ${s.jobs.delayed} delayed (retrying), ${s.jobs.failed} failed`,
    ...s.failedShards.slice(0, 5).map((f) => `  shard ${f.shard} failed: ${f.reason}`),
    `workers on queue ${s.queue}: ${s.workers.length}${s.workers.length ? ` (${s.workers.join(', ')})` : ''}`,
  ];
  if (s.rate !== null) lines.push(`rate: ${s.rate.toFixed(1)} documents/s${s.shardsDone < s.shards && s.etaSeconds !== null ? `, about ${duration(s.etaSeconds)} left` : ''}`);
  return lines.join('\n');
}
