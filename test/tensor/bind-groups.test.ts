import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { layoutEntries } from '../../src/tensor/webgpu/bind-groups.js';
import { BufferPool } from '../../src/tensor/webgpu/buffer-pool.js';
import { assertClose, webgpu } from '../helpers.js';

const s = suite('bind group cache and buffer pool order');

s('layouts are read from the WGSL: read-only storage, storage, and a uniform with a dynamic offset', () => {
  const entries = layoutEntries(`
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> u: Params;`, 'k');
  const types = entries.map((e) => [e.binding, e.buffer!.type, e.buffer!.hasDynamicOffset ?? false]);
  if (JSON.stringify(types) !== JSON.stringify([[0, 'read-only-storage', false], [1, 'storage', false], [2, 'uniform', true]])) {
    throw new Error(`unexpected layout ${JSON.stringify(types)}`);
  }
  let message = '';
  try { layoutEntries('@group(0) @binding(1) var<storage, read> A: array<f32>;', 'gappy'); } catch (e) { message = (e as Error).message; }
  if (!message.includes("kernel 'gappy'")) throw new Error(`a binding gap was not reported: '${message}'`);
});

s('the pool hands out its oldest free buffer of a size, whatever order buffers came back in', () => {
  if (!webgpu) return;
  const pool = new BufferPool(webgpu.backend.device, 1 << 20);
  const bufs = [0, 1, 2, 3].map(() => pool.acquire(1024, false, 'test'));
  for (const i of [2, 0, 3, 1]) pool.release(bufs[i]);
  pool.afterSubmit();
  const again = [0, 1, 2, 3].map(() => pool.acquire(1024, false, 'test'));
  if (again.some((b, i) => b !== bufs[i])) throw new Error('the pool did not return its buffers oldest first');
  again.forEach((b) => pool.release(b));
  pool.emptyCache();
  pool.afterSubmit();
});

s('with reuseLarger, a smaller request takes a free buffer up to twice its size, never a larger one, and the counters follow the buffer', () => {
  if (!webgpu) return;
  const exact = new BufferPool(webgpu.backend.device, 1 << 24); // the default: the request's own bucket only
  const b8192 = exact.acquire(8192, false, 'test');
  exact.release(b8192);
  exact.afterSubmit();
  const b4096 = exact.acquire(4096, false, 'test');
  if (b4096 === b8192 || b4096.size !== 4096) throw new Error('without reuseLarger a larger buffer was handed out');
  exact.release(b4096);
  exact.emptyCache();
  exact.afterSubmit();
  const pool = new BufferPool(webgpu.backend.device, 1 << 24);
  pool.reuseLarger = true;
  const big = pool.acquire(8192, false, 'test');
  const huge = pool.acquire(65536, false, 'test');
  pool.release(big);
  pool.release(huge);
  pool.afterSubmit();
  const created = pool.counters.buffersCreated;
  const small = pool.acquire(4096, false, 'test'); // 8192 serves 4096: twice its size
  if (small !== big || pool.counters.buffersCreated !== created) throw new Error('a free buffer of twice the size was not reused');
  if (pool.counters.liveBytes !== 8192 || pool.counters.pooledBytes !== 65536) {
    throw new Error(`counters ${JSON.stringify(pool.counters)} do not follow the 8192-byte buffer handed out`);
  }
  const tiny = pool.acquire(1024, false, 'test'); // 65536 is too large for 1024: a new buffer
  if (tiny === huge || pool.counters.buffersCreated !== created + 1 || tiny.size !== 1024) throw new Error('a buffer over twice the size was handed out');
  for (const b of [small, tiny]) pool.release(b);
  pool.emptyCache();
  pool.afterSubmit();
  const after: { liveBytes: number; pooledBytes: number } = pool.counters;
  if (after.liveBytes !== 0 || after.pooledBytes !== 0) throw new Error(`counters left at ${JSON.stringify(after)}`);
});

s('the pool counts the buffers it hands out and keeps', () => {
  if (!webgpu) return;
  const pool = new BufferPool(webgpu.backend.device, 1 << 24);
  const bufs = [0, 1, 2].map(() => pool.acquire(1024, false, 'test'));
  if (pool.counters.liveBuffers !== 3) throw new Error(`${pool.counters.liveBuffers} live buffers counted, not 3`);
  bufs.forEach((b) => pool.release(b));
  const counted: { liveBuffers: number; pooledBuffers: number } = pool.counters;
  if (counted.pooledBuffers !== 3 || counted.liveBuffers !== 0) throw new Error(`pooled ${counted.pooledBuffers}, live ${counted.liveBuffers}: expected 3, 0`);
  pool.emptyCache();
  pool.afterSubmit();
  if (pool.counters.pooledBuffers !== 0) throw new Error('emptyCache left pooled buffers counted');
});

s('a buffer the pool gives up while the unsubmitted batch still reads it lives until that batch is submitted', async () => {
  if (!webgpu) return;
  const dev = webgpu;
  const pool = dev.backend.pool;
  const expected = [1, 2, 3].map(Math.exp);
  // Emptied: the input of a pending kernel was released since the last submit.
  const a = T.tensor([1, 2, 3], { device: dev });
  const b = T.exp(a);
  a.dispose();
  pool.emptyCache();
  assertClose(await b.data(), expected, { rtol: 1e-6 }, 'after emptyCache');
  // Over the cap: a released buffer the pool does not keep.
  const capped = pool as unknown as { maxPooledBytes: number };
  const cap = capped.maxPooledBytes;
  capped.maxPooledBytes = 0;
  try {
    const c = T.tensor([1, 2, 3], { device: dev });
    const d = T.exp(c);
    c.dispose();
    if (pool.doomedCount < 1) throw new Error('the released buffer should wait for the submit');
    assertClose(await d.data(), expected, { rtol: 1e-6 }, 'over the cap');
    if (pool.doomedCount !== 0) throw new Error('the submit should have destroyed it');
    b.dispose(); d.dispose();
  } finally {
    capped.maxPooledBytes = cap;
  }
});

s('the same work finds its bind groups again, and groups of destroyed buffers are never reused', async () => {
  if (!webgpu) return;
  const dev = webgpu;
  const cache = dev.backend.bindGroups;
  const x = T.keep(T.tensor([[1, 2, 3], [4, 5, 6]], { device: dev }));
  const w = T.keep(T.tensor([[1, 0, 1], [0, 1, 0]], { device: dev }));
  const run = async () => {
    const y = T.tidy(() => { const m = T.matmul(x, w, { transB: true }); return T.mul(m, m); });
    const v = await y.data();
    y.dispose();
    return v;
  };
  // The pool reaches a steady state once the first runs' buffers are back in it (earlier tests leave it
  // in any state); from then on a run takes the same buffers in the same roles, so it creates no groups.
  let settled = false;
  for (let i = 0; i < 6 && !settled; i++) {
    const before = cache.misses;
    await run();
    settled = cache.misses === before;
  }
  if (!settled) throw new Error('six runs of the same work each created new bind groups');
  const misses = cache.misses;
  for (let i = 0; i < 3; i++) assertClose(await run(), [16, 4, 100, 25], { atol: 0 }, `steady run ${i}`);
  if (cache.misses !== misses) throw new Error(`the repeated work created ${cache.misses - misses} new bind groups`);
  // Destroy every pooled buffer: their groups leave the cache, and the next run binds new buffers.
  const before = cache.size;
  dev.backend.pool.emptyCache();
  if (!(cache.size < before)) throw new Error(`the cache kept its ${before} groups after their buffers were destroyed`);
  assertClose(await run(), [16, 4, 100, 25], { atol: 0 }, 'run after the pool was emptied');
  x.dispose(); w.dispose();
});

s.run();
