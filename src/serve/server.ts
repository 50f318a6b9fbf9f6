/**
 * `diffusionner serve`: an HTTP server (fastify) over one or more loaded models.
 *
 *   POST /v1/ner     {"texts": [...], "model"?: NAME} -> {"results": [{"sentences", "entities"}]}, in input order
 *   GET  /v1/models  the models it holds: name, kind, types
 *   GET  /v1/trace   ?sentence=...&model=NAME: the model's trace page for one sentence
 *   GET  /           a page to paste text into and see its entities
 *   GET  /healthz    up;  GET /readyz: ready once every model has run a warm-up inference
 *   GET  /metrics    Prometheus
 *
 * Requests are gathered into device batches (batcher.ts). Every error is one line of JSON, {"error": "..."}:
 * 400 for bad JSON or fields, 413 for a request too large, 503 with Retry-After when the queue is full or
 * the server is shutting down. `close()` refuses new requests, finishes those in flight and frees the models.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type DeviceChoice, loadModel, type Model, type TaggedDocument } from '../api.js';
import { EVAL_BATCH } from '../ner/defaults.js';
import { Batcher, DeviceLane, QueueFullError } from './batcher.js';
import { serverMetrics } from './metrics.js';
import { servePage } from './page.js';
import { checkNerRequest, checkTraceQuery, RequestError } from './requests.js';

export const SERVE_DEFAULTS = { host: '127.0.0.1', port: 8080, maxBatch: 32, maxWaitMs: 5, maxQueue: 256, maxTexts: 256, bodyLimitBytes: 8 * 1024 * 1024 };

export interface ServeOptions {
  /** The models to serve; the first answers requests that name none. */
  models: { name: string; dir: string }[];
  host?: string; port?: number;
  maxBatch?: number; maxWaitMs?: number; maxQueue?: number; maxTexts?: number;
  bodyLimitBytes?: number;
  device?: DeviceChoice;
  /** Verify each model's weights against its sha256 (default true). */
  verify?: boolean;
  log?: (line: string) => void;
}

export interface NerServer {
  /** http://host:port, with the port actually bound. */
  url: string;
  app: FastifyInstance;
  /** Resolves once every model has run its warm-up inference (then /readyz answers 200). */
  ready: Promise<void>;
  /** Refuses new requests, answers those in flight, frees the models. */
  close(): Promise<void>;
}

interface Served { name: string; model: Model; batcher: Batcher<TaggedDocument> }

const WARM_UP_TEXT = 'Warm-up: John Smith flew from Paris to New York on Monday .';

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  if (status === 503) reply.header('retry-after', '1');
  return reply.code(status).type('application/json').send(JSON.stringify({ error: message }));
}

export async function startServer(o: ServeOptions): Promise<NerServer> {
  const opt = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as typeof SERVE_DEFAULTS & ServeOptions;
  const log = o.log ?? (() => {});
  if (!o.models.length) throw new Error('serve needs at least one model');
  const lane = new DeviceLane();
  const served: Served[] = [];
  const queueDepth = () => served.reduce((n, s) => n + s.batcher.queueDepth, 0);
  let metrics: ReturnType<typeof serverMetrics> | undefined;
  for (const { name, dir } of o.models) {
    const model = await loadModel(dir, { device: o.device, verify: o.verify });
    const batch = Math.max(EVAL_BATCH, opt.maxBatch);
    const batcher = new Batcher<TaggedDocument>((texts) => model.tag(texts, { batch }), lane,
      { maxBatch: opt.maxBatch, maxWaitMs: opt.maxWaitMs, maxQueue: opt.maxQueue, onBatch: (n) => { metrics?.batchTexts.observe(n); metrics?.texts.inc(n); } });
    served.push({ name, model, batcher });
    log(`model ${name}: ${model.kind}, types ${model.types.join(' ')} (${dir})`);
  }
  metrics = serverMetrics(queueDepth, served[0].model.device);
  const byName = new Map(served.map((s) => [s.name, s]));
  let state: 'warming' | 'ready' | 'closing' = 'warming';

  const app = Fastify({ bodyLimit: opt.bodyLimitBytes, return503OnClosing: false, forceCloseConnections: 'idle' });
  app.addHook('onRequest', async (req, reply) => {
    if (state === 'closing' && req.url !== '/healthz') { reply.header('connection', 'close'); return sendError(reply, 503, 'the server is shutting down'); }
  });
  // Answers sent while closing end their connections, so that close() need not wait out keep-alive.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (state === 'closing') reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics!.requests.inc({ route, status: String(reply.statusCode) });
    metrics!.latency.observe({ route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof RequestError) return sendError(reply, err.status, err.message);
    if (err instanceof QueueFullError) return sendError(reply, 503, err.message);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 413, `the request body is larger than ${opt.bodyLimitBytes} bytes`);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const message = status === 400 && err instanceof SyntaxError ? `the body is not valid JSON (${err.message})` : err.message;
    if (status === 500) log(`error: ${err.stack ?? err.message}`);
    return sendError(reply, status, message.split('\n')[0]);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => state === 'ready' ? { ready: true, models: served.map((s) => s.name) }
    : sendError(reply, 503, state === 'warming' ? 'warming up: the first inference is compiling the kernels' : 'the server is shutting down'));
  app.get('/metrics', async (_req, reply) => reply.type(metrics!.registry.contentType).send(await metrics!.registry.metrics()));
  app.get('/v1/models', async () => ({ models: served.map((s) => ({ name: s.name, kind: s.model.kind, types: s.model.types })) }));
  // Browsers ask for it on every page; no icon is better than a 404 in their consoles.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(servePage(served.map((s) => s.name))));
  app.post('/v1/ner', async (req: FastifyRequest) => {
    const { texts, model } = checkNerRequest(req.body, [...byName.keys()], opt.maxTexts);
    const docs = await byName.get(model ?? served[0].name)!.batcher.submit(texts);
    return { results: docs.map((d) => ({ sentences: d.sentences, entities: d.entities })) };
  });
  app.get('/v1/trace', async (req: FastifyRequest, reply) => {
    const { sentence, model } = checkTraceQuery(req.query, [...byName.keys()]);
    const s = byName.get(model ?? served[0].name)!;
    const html = await lane.run(async () => s.model.formatTrace(await s.model.trace(sentence), 'html'));
    return reply.type('text/html; charset=utf-8').send(html);
  });

  await app.listen({ host: opt.host, port: opt.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opt.port;
  const url = `http://${opt.host.includes(':') ? `[${opt.host}]` : opt.host}:${port}`;
  const ready = (async () => {
    for (const s of served) await s.batcher.submit([WARM_UP_TEXT]);
    if (state === 'warming') state = 'ready';
  })();
  ready.catch(() => {});
  return {
    url, app, ready,
    async close() {
      state = 'closing';
      await app.close();
      await lane.run(async () => undefined);
      for (const s of served) s.model.dispose();
    },
  };
}
