/**
 * The server's Prometheus metrics (prom-client): requests by route and status, request latency, batch
 * sizes, queue depth, the engine's live and pooled GPU bytes, and Node's process metrics (RSS, heap, GC).
 * Every server gets its own registry, so two in one process (tests) do not collide.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Device, memoryStats } from '../tensor/index.js';

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  latency: Histogram<'route'>;
  batchTexts: Histogram;
  texts: Counter;
}

/** `queueDepth` and `device` are read at scrape time. */
export function serverMetrics(queueDepth: () => number, device: Device): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dner_' });
  const requests = new Counter({ name: 'dner_requests_total', help: 'HTTP requests answered, by route and status code', labelNames: ['route', 'status'] as const, registers: [registry] });
  const latency = new Histogram({
    name: 'dner_request_duration_seconds', help: 'Time from a request\'s arrival to its answer, by route', labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });
  const batchTexts = new Histogram({ name: 'dner_batch_texts', help: 'Texts tagged together in one device batch', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] });
  const texts = new Counter({ name: 'dner_texts_total', help: 'Texts tagged', registers: [registry] });
  new Gauge({ name: 'dner_queue_depth', help: 'Requests waiting for a device batch', registers: [registry], collect() { this.set(queueDepth()); } });
  new Gauge({ name: 'dner_gpu_live_bytes', help: 'GPU memory held by live tensors (0 on the cpu device)', registers: [registry], collect() { this.set(memoryStats(device).liveBytes); } });
  new Gauge({ name: 'dner_gpu_pooled_bytes', help: 'GPU memory kept in the engine\'s buffer pool for reuse', registers: [registry], collect() { this.set(memoryStats(device).pooledBytes); } });
  return { registry, requests, latency, batchTexts, texts };
}
