/**
 * `corpus collect`: every document's line, in input order (file order, then line order), into one file,
 * once every shard is done. The file is written beside its name and renamed into place, so a collect
 * that fails leaves no partial file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { type CorpusMeta, readMeta, shardDocuments, type ShardStats } from './meta.js';
import { corpusKeys, openRedis } from './redis.js';
import { readShard } from './results.js';
import { corpusStatus } from './status.js';

export interface CollectOptions {
  redis: string; name: string; out: string;
  /** Where workers wrote shard files (their --out-dir), for shards not in Redis. */
  outDir?: string;
  /** Wait for the shards left instead of failing; progress lines go to `progress`. */
  wait?: boolean;
  progress?: (line: string) => void;
  /** How often to look again while waiting (ms). */
  pollMs?: number;
}

export interface CollectSummary { documents: number; errors: number; shards: number }

export async function collectCorpus(o: CollectOptions): Promise<CollectSummary> {
  const redis = await openRedis(o.redis, { persistent: false });
  try {
    const meta = await untilDone(redis, o);
    return await writeCollected(redis, meta, o);
  } finally {
    redis.disconnect();
  }
}

/** The corpus's metadata once every shard is done; without `wait`, an error saying how many are left. */
async function untilDone(redis: Redis, o: CollectOptions): Promise<CorpusMeta> {
  let shown = 0;
  for (;;) {
    const meta = await readMeta(redis, o.name, o.redis);
    const done = await redis.zcard(corpusKeys(o.name).done);
    if (meta.state === 'submitted' && done >= meta.shards) return meta;
    const left = meta.state === 'submitted' ? `${meta.shards - done} of ${meta.shards} shards are not done yet` : `its submit has not finished (${done} shards done so far)`;
    if (!o.wait) throw new Error(`corpus ${o.name}: ${left} (corpus status shows progress; collect --wait waits for them)`);
    const s = await corpusStatus(o.redis, o.name);
    if (s.jobs.failed) throw new Error(`corpus ${o.name}: shard ${s.failedShards[0].shard} failed after every attempt (${s.failedShards[0].reason}); ${s.jobs.failed} shard(s) failed in all, so collect cannot complete`);
    if (Date.now() - shown > 10_000) {
      shown = Date.now();
      o.progress?.(`corpus collect: ${left}; ${s.workers.length} worker(s), ${s.rate ? `${s.rate.toFixed(1)} documents/s` : 'no rate yet'}`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

async function writeCollected(redis: Redis, meta: CorpusMeta, o: CollectOptions): Promise<CollectSummary> {
  const tmp = `${o.out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const summary: CollectSummary = { documents: 0, errors: 0, shards: meta.shards };
  try {
    for (let i = 0; i < meta.shards; i++) {
      const body = await readShard(redis, meta.name, i, o.outDir);
      const lines = body.split('\n').length - 1;
      if (lines !== shardDocuments(meta, i)) throw new Error(`shard ${i}: its result holds ${lines} lines, not its ${shardDocuments(meta, i)} documents`);
      summary.documents += lines;
      writeSync(fd, body);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, o.out);
    const stats = Object.values(await redis.hgetall(corpusKeys(meta.name).stats)).map((v) => JSON.parse(v) as ShardStats);
    return { ...summary, errors: stats.reduce((n, x) => n + x.failed, 0) };
  } catch (e) {
    try { closeSync(fd); } catch { /* closed already */ }
    rmSync(tmp, { force: true });
    throw e;
  }
}
