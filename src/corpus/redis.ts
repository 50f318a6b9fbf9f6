/**
 * Where a corpus lives in Redis. Jobs go to one BullMQ queue per model weights (named by the weights'
 * sha256), so a worker only ever sees shards its own weights can tag; the corpus itself is a hash of
 * metadata keyed by its name, a sorted set of the shards done (scored by completion time), a hash of
 * each shard's counts, and (unless workers write files) one string of result lines per shard.
 */
import { Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** Names as Redis keys and job ids take them: no spaces, no ':' (BullMQ refuses it in job ids), no '#'. */
export const CORPUS_NAME = /^[A-Za-z0-9._-]{1,100}$/;

export function corpusKeys(name: string) {
  const base = `dner:corpus:${name}`;
  return {
    /** Hash: CorpusMeta's fields (files as JSON). */
    meta: base,
    /** Sorted set: shard number -> completion time (ms). */
    done: `${base}:done`,
    /** Hash: shard number -> ShardStats as JSON. */
    stats: `${base}:stats`,
    /** String: the shard's result, one JSON line per document. */
    result: (shard: number) => `${base}:result:${shard}`,
  };
}

/** The queue that holds shards for these weights. */
export const queueNameOf = (weights: string) => `dner-${weights}`;

/** A job's id: the corpus and the shard, unique in the queue ('#' cannot occur in a corpus name). */
export const jobIdOf = (corpus: string, shard: number) => `${corpus}#${shard}`;

/** The shard of one of this corpus's job ids, or null for another corpus's job. */
export function shardOfJobId(id: string, corpus: string): number | null {
  return id.startsWith(`${corpus}#`) ? Number(id.slice(corpus.length + 1)) : null;
}

/**
 * ioredis options for a redis:// or rediss:// URL. A worker waits out a Redis restart (BullMQ needs
 * `maxRetriesPerRequest: null` for that); the one-shot commands give up within a second or two instead.
 */
export function connectionOf(url: string, o: { persistent: boolean }): RedisOptions {
  let u: URL;
  try { u = new URL(url); } catch { throw new Error(`--redis: not a URL: '${url}' (expected redis://HOST:PORT[/DB])`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--redis: expected a redis:// or rediss:// URL, got '${url}'`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--redis: the database in '${url}' must be a number`);
  const base: RedisOptions = {
    host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db: db ? Number(db) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined, password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
  if (o.persistent) return { ...base, maxRetriesPerRequest: null };
  return { ...base, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: (times: number) => (times > 2 ? null : 300) };
}

/**
 * A client for the corpus keys, connected, or one line saying Redis cannot be reached. Connection
 * errors are events, not exceptions: `onError` hears them (a worker logs them while it reconnects).
 */
export async function openRedis(url: string, o: { persistent: boolean; onError?: (e: Error) => void }): Promise<Redis> {
  const client = new Redis(connectionOf(url, o));
  let last: Error | undefined;
  client.on('error', (e: Error) => { last = e; o.onError?.(e); });
  try {
    await client.ping();
    return client;
  } catch (e) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${url} (--redis): ${(last ?? (e as Error)).message.split('\n')[0]}`);
  }
}
