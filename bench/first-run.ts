/**
 * The first run's cost. `npm start`'s program (src/cli/main.ts) with an empty Mesa shader cache (a fresh
 * MESA_SHADER_CACHE_DIR), timed from start to its answer, then again with that cache warm. lavapipe
 * compiles a pipeline when its first dispatch runs, on its queue thread, so the cold run's time cannot be
 * split by pipeline from inside it: the cold run records each pipeline's first dispatch, and this process
 * replays them one by one with another empty cache, each twice (compile + run, then run), giving the
 * per-pipeline compile-time table.
 *   npx tsx bench/first-run.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const cache = mkdtempSync(join(tmpdir(), 'dner-mesa-cache-')), replayCache = mkdtempSync(join(tmpdir(), 'dner-mesa-replay-'));
const report = join(cache, 'first-dispatches.json');

function run(label: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts')], {
    cwd: root, encoding: 'utf8', env: { ...process.env, MESA_SHADER_CACHE_DIR: cache, DNER_COMPILE_REPORT: report }, timeout: 600_000,
  });
  const secs = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${label}: npm start failed: ${r.stderr.slice(-500)}`);
  console.log(`${label}: ${secs.toFixed(1)} s to the answer`);
  return secs;
}

run('cold (empty Mesa shader cache)');
const firsts = JSON.parse(readFileSync(report, 'utf8')) as { name: string; key: string; code: string; sizes: number[]; uniforms: number[] | null; workgroups: [number, number?, number?] }[];
run('warm (the same cache, filled by the cold run)');

// The replay: a fresh cache for this process, set before Dawn loads the Vulkan driver.
process.env.MESA_SHADER_CACHE_DIR = replayCache;
const { getDevice } = await import('../src/tensor/device.js');
const dev = await getDevice('webgpu');
if (dev.kind !== 'webgpu') throw new Error('no WebGPU adapter');
const b = dev.backend;
const rows: { name: string; key: string; compileMs: number; runMs: number }[] = [];
for (const f of firsts) {
  const buffers = f.sizes.map((size) => b.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
  const spec = { key: f.key, name: f.name, code: () => f.code };
  const once = async () => {
    const t0 = performance.now();
    b.dispatch(spec, buffers, f.uniforms ? Uint8Array.from(f.uniforms).buffer : null, f.workgroups);
    await b.sync();
    return performance.now() - t0;
  };
  const first = await once(), second = await once();
  rows.push({ name: f.name, key: f.key, compileMs: Math.max(0, first - second), runMs: second });
  for (const x of buffers) x.destroy();
}
const total = rows.reduce((s, r) => s + r.compileMs, 0);
console.log(`\n${rows.length} pipelines; compiling them takes ${(total / 1000).toFixed(1)} s when replayed one by one (first dispatch minus a second one)`);
console.log(`${'kernel'.padEnd(30)} ${'compile ms'.padStart(10)} ${'run ms'.padStart(8)} ${'share'.padStart(6)}  key`);
for (const r of rows.sort((x, y) => y.compileMs - x.compileMs)) {
  console.log(`${r.name.padEnd(30)} ${r.compileMs.toFixed(0).padStart(10)} ${r.runMs.toFixed(1).padStart(8)} ${(100 * r.compileMs / total).toFixed(1).padStart(5)}%  ${r.key.slice(0, 60)}`);
}
rmSync(cache, { recursive: true, force: true }); rmSync(replayCache, { recursive: true, force: true });
process.exit(0);
