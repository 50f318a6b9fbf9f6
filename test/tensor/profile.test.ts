/**
 * The per-kernel profiler behind `npm run profile`: every dispatch between startProfile and stopProfile
 * is counted under its kernel (and shape with byShape), timed by timestamp queries where the adapter has
 * them; normal running resumes after it.
 */
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { assertClose, webgpu } from '../helpers.js';

const s = suite('kernel profiler');

s('counts every dispatch by kernel and shape, times them with timestamp queries, and leaves results unchanged', async () => {
  if (!webgpu) return;
  const dev = webgpu, backend = dev.backend;
  const a = T.keep(T.randn([40, 24], { device: dev })), b = T.keep(T.randn([24, 16], { device: dev }));
  const work = () => T.tidy(() => T.add(T.add(T.matmul(a, b), 1), T.matmul(a, b)));
  const plain = await work().data();
  backend.startProfile({ byShape: true });
  const profiled = await work().data();
  const rows = await backend.stopProfile();
  assertClose(profiled, plain, { atol: 0 }, 'profiled run');
  const matmuls = rows.filter((r) => r.kernel.startsWith('matmul_'));
  if (matmuls.length !== 1 || matmuls[0].dispatches !== 2 || !matmuls[0].kernel.endsWith('40×16×24')) throw new Error(`matmul rows: ${JSON.stringify(matmuls)}`);
  if (rows.reduce((n, r) => n + r.dispatches, 0) < 4) throw new Error(`too few dispatches counted: ${JSON.stringify(rows)}`);
  for (const r of rows) {
    if (backend.hasTimestamps ? !(typeof r.ms === 'number' && r.ms >= 0) : r.ms !== null) throw new Error(`timing of ${r.kernel}: ${r.ms}`);
  }
  const sorted = rows.map((r) => r.ms ?? 0);
  if (sorted.some((v, i) => i > 0 && v > sorted[i - 1])) throw new Error('rows are sorted by time, longest first');
  // Profiling ends with stopProfile: a second stop is an error, and running goes on as normal.
  let message = '';
  try { await backend.stopProfile(); } catch (e) { message = (e as Error).message; }
  if (!message.includes('no profile was started')) throw new Error(`second stop: '${message}'`);
  assertClose(await work().data(), plain, { atol: 0 }, 'after profiling');
  a.dispose(); b.dispose();
});

s.run();
