/** A corpus's metadata (a Redis hash keyed by its name) and each shard's counts. */
import type { Redis } from 'ioredis';
import { corpusKeys } from './redis.js';

export interface CorpusMeta {
  name: string;
  /** The model as submit named it (a bundled name or a folder), and the sha256 of its model.safetensors. */
  model: string; weights: string;
  /** `submitting` until the last shard is queued; the counts below are final only once `submitted`. */
  state: 'submitting' | 'submitted';
  shards: number; documents: number; shardSize: number;
  /** Lines submit could not read as documents (malformed JSON, no text, invalid UTF-8): they come out as errors. */
  unreadable: number;
  files: string[];
  /** When submit began (ms since the epoch). */
  created: number;
}

/** What a worker records with a shard's result. */
export interface ShardStats {
  docs: number;
  /** Documents that came out as errors (unreadable, too long, or failed to tag). */
  failed: number;
  /** When tagging began (ms since the epoch) and how long it took. */
  started: number; seconds: number;
  worker: string;
}

export async function writeMeta(redis: Redis, meta: Partial<CorpusMeta> & { name: string }): Promise<void> {
  const fields = Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  await redis.hset(corpusKeys(meta.name).meta, fields);
}

/** The corpus's metadata, or one line saying there is no such corpus. */
export async function readMeta(redis: Redis, name: string, url: string): Promise<CorpusMeta> {
  const h = await redis.hgetall(corpusKeys(name).meta);
  if (!h.state) throw new Error(`no corpus named '${name}' at ${url} (--name; corpus submit creates one)`);
  const num = (k: string) => Number(h[k] ?? 0);
  return {
    name, model: h.model ?? '', weights: h.weights ?? '', state: h.state as CorpusMeta['state'],
    shards: num('shards'), documents: num('documents'), shardSize: num('shardSize'), unreadable: num('unreadable'),
    files: h.files ? JSON.parse(h.files) as string[] : [], created: num('created'),
  };
}

/** The number of documents in shard `i`: shards are cut in order, each full but the last. */
export function shardDocuments(meta: CorpusMeta, i: number): number {
  return Math.min(meta.shardSize, meta.documents - i * meta.shardSize);
}
