/**
 * The HTTP server (src/serve/server.ts) over real sockets, with a tiny model trained here on the cpu
 * device: answers in input order equal to Model.tag's, batches concurrent requests, one-line JSON errors
 * for every bad input (400, 404, 413, 503 with Retry-After), health, readiness and metrics, several
 * models by name, and a close that answers what is in flight and refuses the rest.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { loadModel } from '../../src/api.js';
import { startServer, type NerServer } from '../../src/serve/server.js';
import { tinyModel } from './tiny-model.js';

const s = suite('serve: the HTTP server');
const dir = mkdtempSync(join(tmpdir(), 'dner-serve-'));
let modelDir = '';
let server: NerServer;

async function post(body: unknown, raw?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers; text: string }> {
  const res = await fetch(`${server.url}/v1/ner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), headers: res.headers, text };
}

s.before(async () => {
  modelDir = await tinyModel(dir);
  server = await startServer({ models: [{ name: 'tiny', dir: modelDir }, { name: 'twin', dir: modelDir }], device: 'cpu', port: 0, maxWaitMs: 20, maxTexts: 5, bodyLimitBytes: 4096 });
});

s('ready after its warm-up; answers in input order exactly what Model.tag gives; the model by name', async () => {
  await server.ready;
  const ready = await fetch(`${server.url}/readyz`);
  if (ready.status !== 200 || (await ready.json()).models.join() !== 'tiny,twin') throw new Error('not ready');
  const texts = ['x w1 Paris y', '', 'Paris y. x Paris', 'nothing here'];
  const r = await post({ texts, model: 'twin' });
  const model = await loadModel(modelDir, { device: 'cpu' });
  const want = (await model.tag(texts)).map((d) => ({ sentences: d.sentences, entities: d.entities }));
  model.dispose();
  if (r.status !== 200 || JSON.stringify(r.body) !== JSON.stringify({ results: want })) throw new Error(`${r.status} ${r.text}\nwant ${JSON.stringify(want)}`);
  if (!(r.body.results as { entities: unknown[] }[])[0].entities.length) throw new Error('the tiny model found nothing: the comparison is empty');
  const health = await fetch(`${server.url}/healthz`);
  if (health.status !== 200) throw new Error('healthz');
  const models = await (await fetch(`${server.url}/v1/models`)).json();
  if (models.models[0].name !== 'tiny' || models.models[0].types.join() !== 'LOC') throw new Error(JSON.stringify(models));
});

s('concurrent requests are batched together, and each gets its own answer', async () => {
  const texts = Array.from({ length: 12 }, (_, i) => (i % 2 ? `x w${i % 3} Paris y` : `Paris w${i}`));
  const answers = await Promise.all(texts.map((t) => post({ texts: [t] })));
  for (const [i, a] of answers.entries()) {
    const sentences = (a.body.results as { sentences: { tokens: string[] }[] }[])[0].sentences;
    if (a.status !== 200 || sentences[0].tokens.join(' ') !== texts[i]) throw new Error(`request ${i}: ${a.text}`);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const count = Number(/^dner_batch_texts_count (\d+)/m.exec(metrics)?.[1]);
  const sum = Number(/^dner_batch_texts_sum (\d+)/m.exec(metrics)?.[1]);
  // Two warm-ups and the first test's request (4 texts) came before: 12 more texts in fewer than 12 batches.
  if (!(sum - 6 === 12 && count - 3 < 12)) throw new Error(`batches: count ${count}, sum ${sum}`);
  for (const name of ['dner_requests_total{route="/v1/ner",status="200"}', 'dner_request_duration_seconds_bucket', 'dner_queue_depth', 'dner_gpu_live_bytes', 'dner_process_resident_memory_bytes']) {
    if (!metrics.includes(name)) throw new Error(`metrics lack ${name}`);
  }
});

s('every bad input is one line of JSON with the right status, and the server goes on', async () => {
  const cases: [unknown, string | undefined, number, RegExp][] = [
    [undefined, '{"texts": [', 400, /not valid JSON/],
    [[1, 2], undefined, 400, /the body must be a JSON object .* got a list/],
    [{ text: 'x' }, undefined, 400, /unknown field "text"/],
    [{ texts: 'x' }, undefined, 400, /"texts" must be a list of strings, got a string/],
    [{ texts: ['a', null] }, undefined, 400, /texts\[1\] must be a string, got null/],
    [{ texts: ['a'], model: 'nope' }, undefined, 400, /unknown model 'nope'; this server holds tiny, twin/],
    [{ texts: ['a', 'b', 'c', 'd', 'e', 'f'] }, undefined, 413, /at most 5 texts, got 6/],
    [{ texts: ['a'.repeat(5000)] }, undefined, 413, /larger than 4096 bytes/],
  ];
  for (const [body, raw, status, message] of cases) {
    const r = await post(body, raw);
    if (r.status !== status || !message.test(String(r.body.error)) || r.text.includes('\n') || Object.keys(r.body).join() !== 'error') throw new Error(`${JSON.stringify(body ?? raw)}: ${r.status} ${r.text}`);
  }
  const missing = await fetch(`${server.url}/v2/ner`);
  if (missing.status !== 404 || !/no route GET \/v2\/ner/.test((await missing.json()).error)) throw new Error('404');
  const trace = await fetch(`${server.url}/v1/trace?model=tiny&sentence=x%20Paris%20y`);
  if (trace.status !== 200 || !/<html/i.test(await trace.text())) throw new Error('trace page');
  const noSentence = await fetch(`${server.url}/v1/trace`);
  if (noSentence.status !== 400) throw new Error('trace without a sentence');
  if ((await post({ texts: ['x Paris'] })).status !== 200) throw new Error('the server did not go on');
});

s('a full queue answers 503 with Retry-After at once, and the queued requests still finish', async () => {
  const small = await startServer({ models: [{ name: 'tiny', dir: modelDir }], device: 'cpu', port: 0, maxQueue: 1, maxWaitMs: 300 });
  await small.ready;
  const ask = () => fetch(`${small.url}/v1/ner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['x Paris y'] }) });
  const first = ask();
  await new Promise((r) => setTimeout(r, 50)); // the first waits 300 ms for company
  const second = await ask();
  if (second.status !== 503 || second.headers.get('retry-after') !== '1' || !/the queue is full \(1 requests waiting\)/.test((await second.json()).error)) throw new Error(`${second.status}`);
  if ((await first).status !== 200) throw new Error('the queued request failed');
  await small.close();
});

s('close: a request in flight is answered, a new one refused, readyz goes 503', async () => {
  const closing = await startServer({ models: [{ name: 'tiny', dir: modelDir }], device: 'cpu', port: 0, maxWaitMs: 200 });
  await closing.ready;
  const inFlight = fetch(`${closing.url}/v1/ner`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['x Paris y'] }) });
  await new Promise((r) => setTimeout(r, 50));
  const done = closing.close();
  const answer = await inFlight;
  if (answer.status !== 200) throw new Error(`in flight: ${answer.status}`);
  await done;
  const refused = await fetch(`${closing.url}/healthz`).then(() => 'answered', () => 'refused');
  if (refused !== 'refused') throw new Error('a closed server still answered');
});

s.after(async () => { await server.close(); });

s.run();
