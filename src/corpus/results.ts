/**
 * A shard's result, stored atomically and idempotently: in Redis, one SET of its lines together with
 * marking the shard done (MULTI); with an output folder, a temporary file renamed into place, then the
 * mark. Tagging a shard again (a killed worker's shard, redone by another) writes the same lines over
 * the first, so every document comes out exactly once.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ShardStats } from './meta.js';
import { corpusKeys } from './redis.js';

/** A shard's file under an output folder: DIR/CORPUS/shard-000042.jsonl. */
export const shardFile = (outDir: string, corpus: string, shard: number) => join(outDir, corpus, `shard-${String(shard).padStart(6, '0')}.jsonl`);

export async function storeShard(redis: Redis, corpus: string, shard: number, lines: string[], stats: ShardStats, outDir?: string): Promise<void> {
  const k = corpusKeys(corpus);
  const body = lines.join('\n') + '\n';
  const tx = redis.multi();
  if (outDir) {
    const file = shardFile(outDir, corpus, shard);
    mkdirSync(join(outDir, corpus), { recursive: true });
    writeDurably(file, body);
  } else {
    tx.set(k.result(shard), body);
  }
  tx.hset(k.stats, String(shard), JSON.stringify(stats));
  tx.zadd(k.done, Date.now(), String(shard));
  const replies = await tx.exec();
  const failed = replies?.find(([e]) => e);
  if (!replies || failed) throw new Error(`storing shard ${shard} in Redis failed: ${failed?.[0]?.message ?? 'the transaction was discarded'}`);
}

/** A file written whole or not at all: a temporary file, flushed to disk, renamed over the name. */
function writeDurably(file: string, body: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try { writeSync(fd, body); fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, file);
}

/** A done shard's lines (with the final newline), from Redis or else from the output folder. */
export async function readShard(redis: Redis, corpus: string, shard: number, outDir?: string): Promise<string> {
  const body = await redis.get(corpusKeys(corpus).result(shard));
  if (body !== null) return body;
  const file = outDir && shardFile(outDir, corpus, shard);
  if (file && existsSync(file)) return readFileSync(file, 'utf8');
  throw new Error(`shard ${shard} is done but its result is ${outDir ? `neither in Redis nor at ${file}` : 'not in Redis: its worker wrote files (give collect the workers\' --out-dir)'}`);
}
