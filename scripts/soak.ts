/**
 * `npm run soak [-- --steps N --device webgpu|cpu]`: a long DiffusionNER training loop (the real step:
 * forward, Hungarian matching, backward, clipping, AdamW) on a small model and synthetic batches with
 * varying sentence lengths, printing the engine's memory counters every N/10 steps. After warm-up, live
 * tensors and bytes must not grow, nor pooled bytes, buffers created or pipelines compiled; the run
 * fails if they do. Writes the table to bench/results/soak.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as T from '../src/index.js';
import { DiffusionNER } from '../src/models/diffusionner/model.js';
import { AdamW, clipGradNorm } from '../src/nn/optim.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '10000' }, device: { type: 'string', default: 'webgpu' } } });
const steps = Number(values.steps);
const device = await T.getDevice(values.device as 'webgpu' | 'cpu');
const rng = new T.RNG(5);
const vocab = ['[PAD]', '[UNK]', ...Array.from({ length: 50 }, (_, i) => `w${i}`)];
const chars = ['<pad>', '<unk>', 'w', ...'0123456789'];
const model = new DiffusionNER({ vocab, chars, types: ['A', 'B'], hidden: 32, embedding: 16, charEmbedding: 8, charFilters: 8, wordDropout: 0.05, lstmLayers: 2, proposals: 8, heads: 4, ffn: 64, dropout: 0.1 }, { device, rng });
const opt = new AdamW(model.parameters(), { lr: 1e-3 });
const sentence = () => {
  const n = 3 + rng.int(20), a = rng.int(n - 1);
  return { tokens: Array.from({ length: n }, () => `w${rng.int(60)}`), entities: [{ start: a, end: a + 1, type: rng.uniform() < 0.5 ? 'A' : 'B' }] };
};
const rows: string[] = ['| step | live tensors | live bytes | pooled bytes | buffers created | pipelines | dispatches/step | submits/step | loss |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
const snaps: T.MemoryStats[] = [];
let last = T.memoryStats(device), lastLoss = 0;
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  const b = model.batch(Array.from({ length: 4 }, sentence), device);
  const l = await model.lossAndBackward(b);
  DiffusionNER.disposeBatch(b);
  opt.step((await clipGradNorm(model.parameters(), 1)).scale);
  opt.zeroGrad();
  lastLoss = l.total;
  if (step % Math.max(1, steps / 10) === 0) {
    const m = T.memoryStats(device);
    const per = steps / 10;
    rows.push(`| ${step} | ${m.liveTensors} | ${m.liveBytes} | ${m.pooledBytes} | ${m.buffersCreated} | ${m.pipelinesCompiled} | ${((m.dispatches - last.dispatches) / per).toFixed(0)} | ${((m.submits - last.submits) / per).toFixed(1)} | ${lastLoss.toFixed(3)} |`);
    console.log(rows[rows.length - 1]);
    snaps.push(m); last = m;
  }
}
const secs = (performance.now() - t0) / 1000;
// Flat = every snapshot after the first two equals the second in the leak-prone counters.
const ref = snaps[1] ?? snaps[0];
const grew = snaps.slice(2).flatMap((m, i) => (['liveTensors', 'liveBytes', 'buffersCreated', 'pipelinesCompiled'] as const)
  .filter((k) => m[k] > ref[k]).map((k) => `${k} ${ref[k]} -> ${m[k]} at snapshot ${i + 3}`));
const adapter = device.kind === 'webgpu' ? device.backend.report.description : 'cpu';
const md = `# Soak run: memory counters over ${steps} DiffusionNER training steps\n\nCommand: \`npm run soak -- --steps ${steps} --device ${values.device}\`; device ${adapter}; ${new Date().toISOString().slice(0, 10)}; ${secs.toFixed(0)} s.\n\n${rows.join('\n')}\n\n${grew.length ? `GREW: ${grew.join('; ')}` : 'Flat: live tensors, live bytes, buffers created and pipelines compiled did not grow after the first snapshots.'}\n`;
const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `soak-${values.device}.md`), md);
console.log(md);
process.exit(grew.length ? 1 : 0);
