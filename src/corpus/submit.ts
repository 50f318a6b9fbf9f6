/**
 * `corpus submit`: cuts the input files into shard jobs of N documents on the queue of the model's
 * weights, and records the corpus under its name. Shards are queued as they fill, so workers start
 * while a big input is still being read.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ShardDoc, ShardJob } from './job.js';
import { SHARD_JOB_OPTIONS } from './job.js';
import { type CorpusMeta, readMeta, writeMeta } from './meta.js';
import { corpusDocuments, type InputFormat, type SourceDoc } from './inputs.js';
import { connectionOf, corpusKeys, jobIdOf, openRedis, queueNameOf } from './redis.js';

export interface SubmitOptions {
  redis: string; name: string;
  /** The model as the user named it, and the sha256 of its weights. */
  model: string; weights: string;
  files: string[]; format?: InputFormat; textField: string; shardSize: number;
  /** Progress lines for a big input. */
  progress?: (line: string) => void;
}

export interface SubmitSummary { documents: number; shards: number; unreadable: number; queue: string }

/** Jobs are added in bulk, a few shards per round trip. */
const BULK = 20;

export async function submitCorpus(o: SubmitOptions): Promise<SubmitSummary> {
  const redis = await openRedis(o.redis, { persistent: false });
  const queue = new Queue<ShardJob>(queueNameOf(o.weights), { connection: connectionOf(o.redis, { persistent: false }) });
  queue.on('error', () => {}); // connection errors reach the commands that fail, which say so
  try {
    await claimName(redis, o);
    const summary = await queueShards(queue, o);
    if (!summary.documents) {
      await redis.del(corpusKeys(o.name).meta); // nothing was queued: the name stays free
      throw new Error(`no documents to tag: every line of ${o.files.join(', ')} is blank`);
    }
    await writeMeta(redis, { name: o.name, state: 'submitted', shards: summary.shards, documents: summary.documents, unreadable: summary.unreadable });
    return summary;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Takes the corpus's name, atomically: a second submit under the same name is refused. */
async function claimName(redis: Redis, o: SubmitOptions): Promise<void> {
  if (!await redis.hsetnx(corpusKeys(o.name).meta, 'state', 'submitting')) {
    const was = await readMeta(redis, o.name, o.redis);
    const what = was.state === 'submitting' ? 'its submit did not finish' : `${was.documents} documents, ${new Date(was.created).toISOString()}`;
    throw new Error(`a corpus named '${o.name}' already exists at ${o.redis} (${what}); choose another --name`);
  }
  const meta: Partial<CorpusMeta> & { name: string } = { name: o.name, model: o.model, weights: o.weights, shardSize: o.shardSize, files: o.files, created: Date.now() };
  await writeMeta(redis, meta);
}

async function queueShards(queue: Queue<ShardJob>, o: SubmitOptions): Promise<SubmitSummary> {
  const s: SubmitSummary = { documents: 0, shards: 0, unreadable: 0, queue: queue.name };
  let shard: SourceDoc[] = [], pending: ShardJob[] = [], shown = performance.now();
  const flush = async () => {
    if (!pending.length) return;
    await queue.addBulk(pending.map((job) => ({ name: o.name, data: job, opts: { ...SHARD_JOB_OPTIONS, jobId: jobIdOf(o.name, job.shard) } })));
    pending = [];
  };
  const cut = async () => {
    pending.push(shardJob(o, s.shards++, shard));
    shard = [];
    if (pending.length >= BULK) await flush();
  };
  for await (const doc of corpusDocuments(o.files, o.format, o.textField)) {
    s.documents++;
    if (doc.error) s.unreadable++;
    shard.push(doc);
    if (shard.length === o.shardSize) await cut();
    if (o.progress && performance.now() - shown > 5000) {
      shown = performance.now();
      o.progress(`corpus submit: ${s.documents} documents read, ${s.shards} shards cut`);
    }
  }
  if (shard.length) await cut();
  await flush();
  return s;
}

/** A shard's job: its documents with their files as indexes into the shard's own list of files. */
function shardJob(o: SubmitOptions, shard: number, docs: SourceDoc[]): ShardJob {
  const files: string[] = [];
  const fileIndex = (f: string) => { const i = files.indexOf(f); return i >= 0 ? i : files.push(f) - 1; };
  const packed = docs.map(({ file, ...rest }): ShardDoc => ({ file: fileIndex(file), ...rest }));
  return { corpus: o.name, shard, model: o.model, weights: o.weights, files, docs: packed };
}
