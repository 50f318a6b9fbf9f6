/**
 * The HTTP server under load (autocannon): `diffusionner serve --model conll2003` in its own process on
 * the default device, sent one CoNLL-2003 test sentence per request, at concurrency 1, 8 and 32:
 * requests/s and p50/p99 latency with dynamic batching (--max-batch 32), against --max-batch 1 (no
 * batching) in the same run; every request must come back 200. Then memory: after 1,000 warm-up
 * requests, 5,000 more, sampled every 500 from /metrics: the process's RSS and the engine's live GPU
 * bytes, and the spread (max − min) / min of each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { benchDir, type SuiteContext } from '../common.js';

const root = join(benchDir, '..');
const MAX_BATCH = 32;

/** The first `n` CoNLL-2003 test sentences as text (words joined by spaces). */
export function sentences(n: number): string[] {
  const lines = readFileSync(join(root, '..', 'shared', 'data', 'conll2003', 'test.jsonl'), 'utf8').split('\n').filter(Boolean);
  return lines.slice(0, n).map((l) => (JSON.parse(l) as { tokens: string[] }).tokens.join(' ')).filter((t) => t.split(' ').length >= 4);
}

interface Server { url: string; child: ChildProcess; stop(): Promise<void> }

async function startServe(maxBatch: number): Promise<Server> {
  const child = spawn(process.execPath, [join(root, 'bin', 'diffusionner.mjs'), 'serve', '--model', 'conll2003', '--port', '0', '--max-batch', String(maxBatch), '--max-queue', '1024'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => { log += d; });
  for (let i = 0; i < 1200 && !/ready in/.test(log); i++) {
    if (child.exitCode !== null) throw new Error(`serve exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /listening on (http:\/\/[\d.:]+)/.exec(log)?.[1];
  if (!url || !/ready in/.test(log)) throw new Error(`serve did not get ready: ${log}`);
  return {
    url, child,
    stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

interface Load { requests: number; perSecond: number; p50: number; p99: number; failed: number }

/** `amount` requests at `connections` concurrent, each one sentence, cycling through `texts`. */
async function load(url: string, texts: string[], connections: number, amount: number): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url: `${url}/v1/ner`, connections, amount, timeout: 120,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ texts: [texts[next++ % texts.length]] }) }) }],
  });
  const ok = result['2xx'];
  return { requests: ok, perSecond: ok / (result.duration), p50: result.latency.p50, p99: result.latency.p99, failed: result.non2xx + result.errors + result.timeouts + (amount - ok - result.non2xx - result.errors - result.timeouts) };
}

async function scrape(url: string): Promise<{ rss: number; gpuLive: number; gpuPooled: number; heap: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { rss: read('dner_process_resident_memory_bytes'), gpuLive: read('dner_gpu_live_bytes'), gpuPooled: read('dner_gpu_pooled_bytes'), heap: read('dner_nodejs_heap_size_used_bytes') };
}

export async function run(ctx: SuiteContext): Promise<void> {
  const texts = sentences(2000);
  const perCase = ctx.quick ? 60 : 300;
  const perSecond: Record<string, number> = {};
  for (const [variant, maxBatch] of [['batching', MAX_BATCH], ['batch 1', 1]] as const) {
    const server = await startServe(maxBatch);
    try {
      await load(server.url, texts, 8, 64); // kernels compiled for the batch shapes
      for (const connections of [1, 8, 32]) {
        const r = await load(server.url, texts, connections, connections === 1 ? Math.ceil(perCase / 3) : perCase);
        perSecond[`${variant} ${connections}`] = r.perSecond;
        ctx.record({ name: `requests/s, concurrency ${connections}`, variant, device: 'webgpu', value: r.perSecond, unit: 'req/s' });
        ctx.record({ name: `p50 latency, concurrency ${connections}`, variant, device: 'webgpu', value: r.p50, unit: 'ms' });
        ctx.record({ name: `p99 latency, concurrency ${connections}`, variant, device: 'webgpu', value: r.p99, unit: 'ms' });
        ctx.record({ name: `requests lost, concurrency ${connections}`, variant, device: 'webgpu', value: r.failed, unit: 'requests' });
      }
    } finally {
      await server.stop();
    }
  }
  ctx.record({ name: 'batching / batch 1, concurrency 32', variant: `max-batch ${MAX_BATCH}`, device: 'webgpu', value: perSecond[`batching 32`] / perSecond['batch 1 32'], unit: 'x' });
  await memoryRun(ctx, texts);
}

export async function memoryRun(ctx: SuiteContext, texts: string[]): Promise<void> {
  const server = await startServe(MAX_BATCH);
  try {
    const [warm, total, every] = ctx.quick ? [300, 2000, 200] : [1000, 5000, 500];
    await load(server.url, texts, 8, warm);
    const samples = [await scrape(server.url)];
    for (let sent = 0; sent < total; sent += every) {
      const r = await load(server.url, texts, 8, every);
      if (r.failed) throw new Error(`${r.failed} requests failed during the memory run`);
      samples.push(await scrape(server.url));
    }
    const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / Math.min(...xs) * 100;
    const rss = samples.map((s) => s.rss), gpu = samples.map((s) => s.gpuLive);
    console.log(`  RSS MiB per ${every} requests: ${rss.map((x) => (x / 2 ** 20).toFixed(0)).join(' ')}`);
    console.log(`  live GPU MiB per ${every} requests: ${gpu.map((x) => (x / 2 ** 20).toFixed(1)).join(' ')}`);
    console.log(`  pooled GPU MiB per ${every} requests: ${samples.map((s) => (s.gpuPooled / 2 ** 20).toFixed(1)).join(' ')}`);
    console.log(`  JS heap MiB per ${every} requests: ${samples.map((s) => (s.heap / 2 ** 20).toFixed(1)).join(' ')}`);
    ctx.record({ name: `RSS spread over ${total} requests (max − min) / min`, variant: `every ${every}`, device: 'webgpu', value: spread(rss), unit: '%' });
    ctx.record({ name: `live GPU bytes spread over ${total} requests`, variant: `every ${every}`, device: 'webgpu', value: spread(gpu), unit: '%' });
    ctx.record({ name: 'RSS at the end', variant: `after ${warm + total} requests`, device: 'webgpu', value: rss.at(-1)! / 2 ** 20, unit: 'MiB' });
  } finally {
    await server.stop();
  }
}
