/**
 * Corpus tagging across worker processes through a real Redis (its own redis-server, append-only): two
 * workers give exactly what `predict --json` gives (plus file and line); a worker SIGKILLed inside a
 * shard, a Redis restart and a SIGTERMed worker still leave every document exactly once; unreadable and
 * over-long documents come out as {file, line, error}; collect before the end fails naming the shards
 * left; a worker with other weights takes nothing (and refuses a stray job without failing it).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import { train } from '../../src/api.js';
import { Cli, cli, RedisServer, redisAvailable, sleep } from './processes.js';

const s = suite('corpus tagging with Redis and workers');
const dir = mkdtempSync(join(tmpdir(), 'dner-corpus-'));
const available = redisAvailable();
let redis: RedisServer;
const workers: Cli[] = [];
const models: Record<'a' | 'b', { dir: string; weights: string }> = {} as never;

const show = (r: { status: number | null; stderr: string }) => `status ${r.status}, stderr ${JSON.stringify(r.stderr.slice(-1500))}`;
const ok = async (what: string, ...args: string[]) => {
  const r = await cli(...args);
  if (r.status !== 0) throw new Error(`${what}: ${show(r)}`);
  return r;
};
const corpus = (action: string, name: string, ...args: string[]) => ['corpus', action, '--redis', redis.url, '--name', name, ...args];
const startWorker = (model: 'a' | 'b', ...args: string[]) => {
  const w = new Cli(['worker', '--redis', redis.url, '--model', models[model].dir, '--lock-seconds', '3', '--max-doc-chars', '16000', ...args]);
  workers.push(w);
  return w;
};
const ready = (w: Cli) => w.waitFor(/taking shards from queue (\S+)/);
const status = async (name: string) => JSON.parse((await ok('status', ...corpus('status', name, '--json'))).stdout);

/** A tiny DiffusionNER on the cpu device; φ 0 in its selection.json, so that entities (with scores) come out. */
async function tinyModel(name: string, seed: number): Promise<{ dir: string; weights: string }> {
  const data = join(dir, 'train.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ tokens: ['x', `w${i % 3}`, 'Paris', 'y', 'John'], entities: [{ start: 2, end: 3, type: 'LOC' }, { start: 4, end: 5, type: 'PER' }] })).join('\n') + '\n');
  const r = await train({
    data: { train: data, dev: data }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 1, batch: 4, lr: 1e-2, seed }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, name),
  }, { device: 'cpu' });
  const selection = join(r.modelDir, 'selection.json');
  writeFileSync(selection, JSON.stringify({ ...JSON.parse(readFileSync(selection, 'utf8')), threshold: 0 }));
  return { dir: r.modelDir, weights: readFileSync(join(r.modelDir, 'model.safetensors.sha256'), 'utf8').slice(0, 64) };
}

// The inputs: a text file (blank lines are no documents) and a JSONL file with two unreadable lines, an
// over-long document (over --max-doc-chars 16000), pre-tokenised words and ids. 8 + 9 documents in shards of 4.
const TEXT = ['John Smith visited Paris .', '', 'x w1 Paris y', 'Paris is big . John left .', '   ', 'EU rejects German call to boycott British lamb .',
  'Peter Blackburn of Reuters reported from Brussels .', 'Bill Clinton spoke in Berlin on Monday .', 'Ünïcödé 😀 Paris y John .', 'x w2 Paris y John Smith'];
const JSONL = [JSON.stringify({ text: 'John went to Paris .', id: 1 }), 'not json {', JSON.stringify({ tokens: ['x', 'Paris', 'y'], id: 't' }), JSON.stringify({ body: 'no text field' }),
  '', JSON.stringify({ text: 'Paris y '.repeat(2100), id: 'long' }), JSON.stringify({ text: 'Seoul and Tokyo .\nJohn Smith ?' }), JSON.stringify({ text: 'w0 Paris' }),
  JSON.stringify({ text: 'y John x' }), JSON.stringify({ text: 'Paris' })];
const textFile = join(dir, 'docs.txt'), jsonlFile = join(dir, 'docs.jsonl');

/** The documents of a file, as [line, text] in order (what submit cuts into shards). */
const documentLines = (lines: string[]) => lines.map((t, i) => [i + 1, t] as const).filter(([, t]) => t.trim() !== '');

s.before(async () => {
  if (!available) return;
  redis = await RedisServer.start(mkdtempSync(join(dir, 'redis-')));
  models.a = await tinyModel('a', 3);
  models.b = await tinyModel('b', 4);
  if (models.a.weights === models.b.weights) throw new Error('the two tiny models have the same weights');
  writeFileSync(textFile, TEXT.join('\n') + '\n');
  writeFileSync(jsonlFile, JSONL.join('\n') + '\n');
});

s.after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

s('submit queues shards; collect before the end fails naming the shards left; a worker with other weights takes none and refuses a stray one without failing it', async () => {
  if (!available) return;
  const sub = await ok('submit', ...corpus('submit', 'early', '--model', models.a.dir, '--input', textFile, jsonlFile, '--shard-size', '4'));
  if (!/corpus early: 17 documents \(2 unreadable line\(s\) will come out as errors\) in 5 shard\(s\) on queue dner-[0-9a-f]{64}/.test(sub.stderr)) throw new Error(`submit summary: ${sub.stderr}`);
  const again = await cli(...corpus('submit', 'early', '--model', models.a.dir, '--input', textFile));
  if (again.status !== 2 || again.stderr.trim().split('\n').length !== 1 || !/a corpus named 'early' already exists .* choose another --name/.test(again.stderr)) throw new Error(`same name: ${show(again)}`);
  const early = await cli(...corpus('collect', 'early', '--out', join(dir, 'early.jsonl')));
  if (early.status !== 2 || !/^diffusionner: corpus early: 5 of 5 shards are not done yet/.test(early.stderr) || early.stderr.trim().split('\n').length !== 1) throw new Error(`early collect: ${show(early)}`);
  const other = startWorker('b');
  const queue = (await ready(other))[1];
  if (queue !== `dner-${models.b.weights}`) throw new Error(`the other worker's queue: ${queue}`);
  await sleep(1500);
  const st = await status('early');
  if (st.shardsDone !== 0 || st.jobs.waiting !== 5 || st.workers.length !== 0 || st.weights !== models.a.weights) throw new Error(`status with another model's worker: ${JSON.stringify(st)}`);
  // A job with weights A put on B's queue by hand: refused, back to the queue, no attempt spent.
  const q = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
  const job = await q.add('stray', { corpus: 'stray', shard: 0, model: 'a', weights: models.a.weights, files: ['x'], docs: [{ file: 0, line: 1, text: 'Paris' }] }, { jobId: 'stray#0', attempts: 5 });
  await other.waitFor(/refused corpus stray shard 0: it is for weights [0-9a-f]{12}, this worker has [0-9a-f]{12}/, 20_000);
  await sleep(300);
  const state = await job.getState(), fresh = await q.getJob('stray#0');
  if (state !== 'delayed' || fresh?.attemptsMade !== 0) throw new Error(`the stray job: ${state}, attempts made ${fresh?.attemptsMade}`);
  await fresh.remove();
  await q.close();
  other.kill('SIGTERM');
  if (await other.exit() !== 0 || !/stopped/.test(other.stderr)) throw new Error(`SIGTERM on an idle worker: ${other.stderr}`);
});

s('two workers tag every shard exactly as predict --json tags its documents, plus file and line; bad documents are {file, line, error}', async () => {
  if (!available) return;
  const [w1, w2] = [startWorker('a'), startWorker('a')];
  await Promise.all([ready(w1), ready(w2)]);
  await ok('submit', ...corpus('submit', 'main', '--model', models.a.dir, '--input', textFile, '--input', jsonlFile, '--shard-size', '4'));
  const out = join(dir, 'main.jsonl');
  const collected = await ok('collect', ...corpus('collect', 'main', '--out', out, '--wait'));
  if (!/wrote 17 documents \(3 as errors\) from 5 shard\(s\)/.test(collected.stderr)) throw new Error(`collect summary: ${collected.stderr}`);
  const got = readFileSync(out, 'utf8').split('\n').slice(0, -1);
  const want = await predictedShards(4);
  if (got.length !== want.length) throw new Error(`${got.length} lines collected, ${want.length} expected`);
  got.forEach((line, i) => {
    const w = want[i];
    if (w instanceof RegExp ? !w.test(line) : line !== w) throw new Error(`line ${i + 1}:\n got  ${line.slice(0, 400)}\n want ${String(w).slice(0, 400)}`);
  });
  const st = await status('main');
  if (st.shardsDone !== 5 || st.documentsDone !== 17 || st.failedDocuments !== 3 || st.workers.length !== 2 || st.jobs.failed !== 0) throw new Error(`status: ${JSON.stringify(st)}`);
  const stats = await shardWorkers('main');
  if (new Set(stats).size !== 2) throw new Error(`the shards were tagged by ${JSON.stringify(stats)}, not by both workers`);
  // The earlier corpus was tagged meanwhile too.
  await ok('collect early', ...corpus('collect', 'early', '--out', join(dir, 'early.jsonl'), '--wait'));
  if (readFileSync(join(dir, 'early.jsonl'), 'utf8') !== readFileSync(out, 'utf8')) throw new Error('the same input gave another output');
});

/**
 * What each collected line must be: per shard, `predict --json` over a copy of the shard's file holding
 * only that shard's readable documents (the rest blanked, so line numbers hold and the sampling noise
 * starts from the same seed, as it does for each shard), with `file` first; an unreadable or over-long
 * document, a pattern of its error line.
 */
async function predictedShards(shardSize: number): Promise<(string | RegExp)[]> {
  const docs = [...documentLines(TEXT).map(([line, text]) => ({ file: textFile, line, text })), ...documentLines(JSONL).map(([line, text]) => ({ file: jsonlFile, line, text }))];
  const errors: Record<string, RegExp> = {
    [`${jsonlFile}:2`]: /^\{"file":"[^"]+docs\.jsonl","line":2,"error":"malformed JSON \(.+\)"\}$/,
    [`${jsonlFile}:4`]: /^\{"file":"[^"]+docs\.jsonl","line":4,"error":"no text: expected a string field 'text' \(--text-field\) or a list of words 'tokens'"\}$/,
    [`${jsonlFile}:6`]: /^\{"file":"[^"]+docs\.jsonl","line":6,"id":"long","error":"document of 16800 characters, longer than --max-doc-chars 16000"\}$/,
  };
  const shards = Array.from({ length: Math.ceil(docs.length / shardSize) }, (_, i) => docs.slice(i * shardSize, (i + 1) * shardSize));
  const perShard = await Promise.all(shards.map(async (shard, i) => {
    const file = shard[0].file;
    if (shard.some((d) => d.file !== file)) throw new Error('a shard spans two files: the comparison needs shards within one file');
    const keep = new Set(shard.filter((d) => !errors[`${d.file}:${d.line}`]).map((d) => d.line));
    const source = file === textFile ? TEXT : JSONL;
    const copy = join(dir, `shard-${i}${file === textFile ? '.txt' : '.jsonl'}`);
    writeFileSync(copy, source.map((t, k) => (keep.has(k + 1) ? t : '')).join('\n') + '\n');
    const p = await ok(`predict shard ${i}`, 'predict', '--model', models.a.dir, '--file', copy, '--json');
    const predicted = new Map(p.stdout.trim().split('\n').map((l) => [JSON.parse(l).line as number, JSON.stringify({ file, ...JSON.parse(l) })]));
    return shard.map((d) => errors[`${d.file}:${d.line}`] ?? predicted.get(d.line)!);
  }));
  return perShard.flat();
}

/** The worker that stored each shard of a corpus. */
async function shardWorkers(name: string): Promise<string[]> {
  const r = new Redis({ host: '127.0.0.1', port: redis.port });
  try {
    return Object.values(await r.hgetall(`dner:corpus:${name}:stats`)).map((v) => JSON.parse(v).worker as string);
  } finally {
    r.disconnect();
  }
}

s('a worker SIGKILLed inside a shard, a Redis restart and a SIGTERMed worker: every document comes out exactly once', async () => {
  if (!available) return;
  const [w1, w2] = workers.slice(-2);
  // Shards of two long documents (a second or more each on the cpu device), one shard across the two files.
  const long = (k: number) => `${Array.from({ length: 500 }, (_, i) => `John visited Paris ${k} ${i} .`).join(' ')}`;
  const [f1, f2] = [join(dir, 'slow-1.txt'), join(dir, 'slow-2.txt')];
  writeFileSync(f1, [long(1), '', long(2), long(3)].join('\n') + '\n');
  writeFileSync(f2, [long(4), long(5), long(6)].join('\n') + '\n');
  const marks = [w1.stderr.length, w2.stderr.length];
  await ok('submit slow', ...corpus('submit', 'slow', '--model', models.a.dir, '--input', f1, f2, '--shard-size', '2'));
  const first = await Promise.race([w1, w2].map((w, i) => w.waitFor(/corpus slow shard \d+: tagging/, 60_000, marks[i]).then(() => i)));
  const [victim, survivor] = first === 0 ? [w1, w2] : [w2, w1];
  victim.kill('SIGKILL');
  const since = survivor.stderr.length;
  await survivor.waitFor(/corpus slow shard \d+: 2 documents in/, 60_000, since);
  await redis.stop();
  await redis.startAgain();
  // The survivor reconnects and takes the next shard; SIGTERM then lets it finish that shard and exit 0.
  const tagging = await survivor.waitFor(/corpus slow shard (\d+): tagging/, 60_000, survivor.stderr.lastIndexOf('2 documents in') + 1);
  survivor.kill('SIGTERM');
  if (await survivor.exit() !== 0) throw new Error(`SIGTERM inside a shard: exit ${survivor.proc.exitCode}: ${survivor.stderr.slice(-1500)}`);
  if (!new RegExp(`corpus slow shard ${tagging[1]}: 2 documents in`).test(survivor.stderr)) throw new Error(`the SIGTERMed worker left its shard: ${survivor.stderr.slice(-1500)}`);
  if (!/Redis connection lost/.test(survivor.stderr)) throw new Error(`no sign of the restart in the worker's log: ${survivor.stderr.slice(-1500)}`);
  // The last worker keeps its results as files: collect needs its --out-dir, and fails leaving no file without it.
  const outDir = mkdtempSync(join(dir, 'shards-'));
  const last = startWorker('a', '--out-dir', outDir);
  const out = join(dir, 'slow.jsonl');
  const blind = await cli(...corpus('collect', 'slow', '--out', out, '--wait'));
  if (blind.status !== 2 || !/shard \d+ is done but its result is not in Redis: its worker wrote files \(give collect the workers' --out-dir\)/.test(blind.stderr) || existsSync(out) || readdirSync(dir).some((f) => f.startsWith('slow.jsonl'))) {
    throw new Error(`collect without --out-dir: ${show(blind)}`);
  }
  await ok('collect slow', ...corpus('collect', 'slow', '--out', out, '--out-dir', outDir));
  const lines = readFileSync(out, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as { file: string; line: number; sentences?: unknown[]; error?: string });
  const keys = lines.map((l) => `${l.file.endsWith('slow-1.txt') ? 1 : 2}:${l.line}`).join(' ');
  if (keys !== '1:1 1:3 1:4 2:1 2:2 2:3' || lines.some((l) => l.error || l.sentences?.length !== 500)) throw new Error(`collected: ${keys} ${JSON.stringify(lines.map((l) => l.error ?? l.sentences?.length))}`);
  const st = await status('slow');
  if (st.shardsDone !== 3 || st.jobs.failed !== 0 || st.documentsDone !== 6) throw new Error(`status: ${JSON.stringify(st)}`);
  last.kill('SIGTERM');
  if (await last.exit() !== 0) throw new Error(`SIGTERM on the last worker: ${last.stderr.slice(-1500)}`);
});

s('--help explains each command; bad input is one line naming the flag, the action or the file', async () => {
  if (!available) return;
  const url = redis?.url ?? 'redis://127.0.0.1:1';
  const [help, workerHelp, ...bad] = await Promise.all([
    cli('corpus', '--help'), cli('worker', '--help'),
    cli('corpus', 'tag', '--name', 'x'), cli('corpus', 'status', '--redis', url), cli('corpus', 'status', '--redis', url, '--name', 'a b'),
    cli('corpus', 'status', '--redis', url, '--name', 'x', '--shard-size', '3'), cli('corpus', 'submit', '--redis', url, '--name', 'x', '--model', models.a.dir, '--input', join(dir, 'missing.txt')),
    cli('corpus', 'status', '--redis', url, '--name', 'nothing'), cli('corpus', 'collect', '--redis', url, '--name', 'x'), cli('corpus', 'status', '--redis', 'redis://127.0.0.1:1', '--name', 'x'),
  ]);
  if (help.status !== 0 || !/submit .*status .*collect/s.test(help.stdout) || !/--shard-size N/.test(help.stdout)) throw new Error(`corpus --help: ${help.stdout}`);
  if (workerHelp.status !== 0 || !/--lock-seconds N/.test(workerHelp.stdout) || !/SIGTERM/.test(workerHelp.stdout)) throw new Error(`worker --help: ${workerHelp.stdout}`);
  const want = [/unknown corpus action 'tag'; the actions are submit, status, collect/, /corpus needs --name NAME/, /--name must be 1 to 100 letters/,
    /--shard-size does not go with corpus status \(it is for corpus submit\)/, /missing\.txt: no such file \(--input\)/, /no corpus named 'nothing' at redis/,
    /corpus collect needs --out FILE/, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(--redis\)/];
  bad.forEach((r, i) => {
    if (r.status !== 2 || r.stderr.trim().split('\n').length !== 1 || !want[i].test(r.stderr)) throw new Error(`${want[i]}: ${show(r)}`);
  });
});

s.run();
