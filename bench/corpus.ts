/**
 * Corpus tagging throughput: the bundled `conll2003` model on CoNLL-2003 test sentences (words joined by
 * spaces, one document per line), in documents/s, by `diffusionner predict --json` over the file and by
 * `corpus submit` + workers + `corpus collect` through a throwaway redis-server (append-only, everysec),
 * with one worker and with two on this machine. Workers are started and loaded first (a long-running
 * worker pays its start once); the corpus figure is from submit to the collected file. predict is given
 * both ways: its whole command (start, model load, tagging) and its own tagging rate. Also recorded: how
 * much Redis's used_memory grew per document over the one-worker run, every result in it (on a small
 * corpus the fixed costs weigh in: BullMQ's Lua scripts, the connections' buffers, the queue's
 * bookkeeping, about 1 MB), and the bytes of
 * predict's output per document, which is what a result holds (plus its file name).
 *   npx tsx bench/corpus.ts [--docs N] [--shard-size N] [--device webgpu|cpu] [--tag NAME]
 * Results: bench/results/corpus[-TAG].json, with the machine and adapter beside them, and bench/RESULTS.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { getDevice } from '../src/index.js';
import { Cli, cli, RedisServer } from '../test/corpus/processes.js';
import { benchDir, printTable, type Result, writeResults } from './common.js';

const { values } = parseArgs({ options: { docs: { type: 'string' }, 'shard-size': { type: 'string' }, device: { type: 'string' }, tag: { type: 'string' } } });
const docs = Number(values.docs ?? 600), shardSize = Number(values['shard-size'] ?? 50);
const device = values.device ?? process.env.DNER_DEVICE ?? 'webgpu';
const env = { DNER_DEVICE: device };
const dir = mkdtempSync(join(tmpdir(), 'dner-bench-corpus-'));

/** The first `n` CoNLL-2003 test sentences (cycling when more are asked for), one per line. */
function corpusFile(n: number): string {
  const lines = readFileSync(join(benchDir, '..', '..', 'shared', 'data', 'conll2003', 'test.jsonl'), 'utf8').split('\n').filter(Boolean);
  const texts = Array.from({ length: n }, (_, i) => (JSON.parse(lines[i % lines.length]) as { tokens: string[] }).tokens.join(' '));
  const file = join(dir, 'corpus.txt');
  writeFileSync(file, texts.join('\n') + '\n');
  console.log(`${n} documents, ${(texts.reduce((a, t) => a + t.length, 0) / n).toFixed(1)} characters each on average`);
  return file;
}

async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const t = new Cli(args, env);
  const status = await t.exit(3_600_000);
  if (status !== 0) throw new Error(`${args.slice(0, 2).join(' ')}: exit ${status}: ${t.stderr.slice(-800)}`);
  return t;
}

/** predict over the file: documents/s for the whole command and for its tagging alone (its own report). */
async function predict(file: string): Promise<{ whole: number; tagging: number; bytesPerLine: number }> {
  const t0 = performance.now();
  const r = await run('predict', '--model', 'conll2003', '--file', file, '--json');
  const seconds = (performance.now() - t0) / 1000;
  const m = /(\d+) document\(s\), (\d+) sentence\(s\), \d+ entities, ([\d.]+) sentences\/s/.exec(r.stderr);
  if (!m) throw new Error(`no report from predict: ${r.stderr.slice(-400)}`);
  const taggingSeconds = Number(m[2]) / Number(m[3]);
  return { whole: docs / seconds, tagging: Number(m[1]) / taggingSeconds, bytesPerLine: r.stdout.length / docs };
}

/** Workers started and loaded, then submit → collect; documents/s over that span, and Redis's memory. */
async function corpus(redis: RedisServer, file: string, workers: number): Promise<{ rate: number; bytesPerDoc: number }> {
  const name = `bench-${workers}`;
  const started = Array.from({ length: workers }, () => new Cli(['worker', '--redis', redis.url, '--model', 'conll2003'], env));
  try {
    await Promise.all(started.map((w) => w.waitFor(/taking shards from queue/, 600_000)));
    const client = new Redis({ host: '127.0.0.1', port: redis.port });
    const before = await usedMemory(client);
    const t0 = performance.now();
    await run('corpus', 'submit', '--redis', redis.url, '--name', name, '--model', 'conll2003', '--input', file, '--shard-size', String(shardSize));
    await run('corpus', 'collect', '--redis', redis.url, '--name', name, '--out', join(dir, `${name}.jsonl`), '--wait');
    const rate = docs / ((performance.now() - t0) / 1000);
    const bytesPerDoc = (await usedMemory(client) - before) / docs;
    client.disconnect();
    return { rate, bytesPerDoc };
  } finally {
    for (const w of started) w.kill('SIGTERM');
    await Promise.all(started.map((w) => w.exit(120_000).catch(() => w.kill('SIGKILL'))));
  }
}

async function usedMemory(client: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
}

/** The adapter the child processes get (Dawn's default, as theirs), named as bench/run.ts names it. */
async function adapterName(): Promise<string> {
  if (device === 'cpu') return 'none (cpu device)';
  const gpu = await getDevice('webgpu');
  const rep = gpu.kind === 'webgpu' ? gpu.backend.report : null;
  return rep ? `${rep.description} (${rep.vendor}, ${rep.architecture})` : 'none';
}

const adapter = await adapterName();
const file = corpusFile(docs);
const redis = await RedisServer.start(mkdtempSync(join(dir, 'redis-')), 'everysec');
const results: Result[] = [];
const record = (variant: string, value: number, unit = 'documents/s') =>
  results.push({ suite: 'corpus', name: `conll2003, ${docs} CoNLL-2003 test sentences`, variant, device, adapter, value, unit });
try {
  // predict first: on lavapipe it also fills Mesa's shader cache, so no later process pays the compile.
  const p = await predict(file);
  record('predict --json, whole command', p.whole);
  record('predict --json, tagging only', p.tagging);
  for (const workers of [1, 2]) {
    const c = await corpus(redis, file, workers);
    record(`corpus, ${workers} worker${workers > 1 ? 's' : ''} (submit to collect)`, c.rate);
    if (workers === 1) record('Redis used_memory growth, submit to collect (fixed costs included)', c.bytesPerDoc, 'bytes/document');
  }
  record('predict --json output', p.bytesPerLine, 'bytes/document');
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
printTable(results);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const out = writeResults('corpus', values.tag, results, {
  command: `npx tsx bench/corpus.ts --docs ${docs} --shard-size ${shardSize} --device ${device}${values.tag ? ` --tag ${values.tag}` : ''}`,
  adapter, machine, date: new Date().toISOString().slice(0, 10),
});
console.log(`wrote ${out}`);
process.exit(0);
