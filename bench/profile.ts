/**
 * `npm run profile [-- --config FILE --batch N --device webgpu|cpu --steps N]`: where the time of one
 * training step and one inference batch of the config's model kind (DiffusionNER, BOPN) goes. Prints wall time per phase and, on WebGPU,
 * per-kernel GPU time (timestamp queries around every dispatch) and dispatch counts.
 * Uses the config's training set when it exists, else synthetic sentences of CoNLL-like lengths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDevice } from '../src/tensor/device.js';
import { RNG } from '../src/tensor/random.js';
import { readSentences, inferTypes, type Sentence } from '../src/ner/data.js';
import { buildVocab } from '../src/ner/encoders/vocab.js';
import { buildCharVocab } from '../src/ner/encoders/vocab.js';
import { factory } from '../src/models/index.js';
import { AdamW, clipGradNorm, decayGroups } from '../src/nn/optim.js';
import type { KernelTiming } from '../src/tensor/webgpu/backend.js';

const { values } = parseArgs({ options: {
  config: { type: 'string', default: 'configs/conll2003.json' }, batch: { type: 'string', default: '8' },
  device: { type: 'string', default: 'webgpu' }, steps: { type: 'string', default: '5' }, 'eval-batch': { type: 'string', default: '16' },
  bucket: { type: 'boolean', default: false }, shapes: { type: 'boolean', default: false },
} });
const cfg = JSON.parse(readFileSync(values.config!, 'utf8'));
const trainFile = resolve(dirname(resolve(values.config!)), [cfg.data.train].flat()[0]);
const rng = new RNG(1);
let sentences: Sentence[];
if (existsSync(trainFile)) sentences = readSentences(trainFile);
else {
  sentences = Array.from({ length: 2000 }, (_, i) => {
    const n = 2 + rng.int(30);
    return { origin: `synthetic:${i}`, tokens: Array.from({ length: n }, (_, j) => `w${rng.int(5000)}`), entities: [{ start: 0, end: 1, type: n % 2 ? 'A' : 'B' }] };
  });
}
const device = await getDevice(values.device as 'webgpu' | 'cpu');
const { minFreq, ...modelCfg } = cfg.model;
const model = factory.create({ ...modelCfg, vocab: buildVocab(sentences, minFreq ?? 1), chars: buildCharVocab(sentences), types: inferTypes(sentences) }, device, rng);
const opt = new AdamW(decayGroups(model.namedParameters(), 0.01), { lr: 1e-4, correctBias: false, decayAfter: true });
const B = Number(values.batch), EB = Number(values['eval-batch']), steps = Number(values.steps);
// --bucket: what batches of similar length would cost (the trainer does not bucket; the official code shuffles freely).
const pick = (n: number) => {
  const pool = Array.from({ length: values.bucket ? 50 * n : n }, () => sentences[rng.int(sentences.length)]).filter((s) => s.entities.length);
  if (!values.bucket) return pool;
  pool.sort((a, b) => a.tokens.length - b.tokens.length);
  const start = rng.int(Math.max(1, pool.length - n));
  return pool.slice(start, start + n);
};
const backend = device.kind === 'webgpu' ? device.backend : null;

async function phase<T>(f: () => Promise<T>): Promise<[T, number]> { const t = performance.now(); const r = await f(); return [r, performance.now() - t]; }

async function trainStep(batch: Sentence[]) {
  const b = model.batch(batch, device);
  const [, fwdBwd] = await phase(() => model.lossAndBackward(b, cfg.train));
  model.disposeBatch(b);
  const [, optMs] = await phase(async () => { const { scale } = await clipGradNorm(model.parameters(), 1); opt.step(scale); opt.zeroGrad(); await model.parameters()[0].data(); });
  return { fwdBwd, optMs };
}

function table(title: string, rows: KernelTiming[], wallMs: number) {
  const total = rows.reduce((s, r) => s + (r.ms ?? 0), 0), n = rows.reduce((s, r) => s + r.dispatches, 0);
  if (rows.some((r) => r.ms === null)) {
    // No timestamp queries on this adapter: the timed batches above are what there is; here, counts.
    console.log(`\n${title}: wall ${wallMs.toFixed(1)} ms, ${n} dispatches (no timestamp queries on this adapter: dispatch counts only)`);
    for (const r of rows.slice(0, values.shapes ? 80 : 25)) console.log(r.kernel.padEnd(40) + String(r.dispatches).padStart(11));
    return;
  }
  console.log(`\n${title}: wall ${wallMs.toFixed(1)} ms, ${n} dispatches, GPU busy ${total.toFixed(1)} ms`);
  console.log('kernel'.padEnd(40) + 'dispatches'.padStart(11) + 'ms'.padStart(10) + '%'.padStart(7) + '  µs/dispatch');
  for (const r of rows.slice(0, values.shapes ? 80 : 25)) {
    console.log(r.kernel.padEnd(40) + String(r.dispatches).padStart(11) + (r.ms ?? NaN).toFixed(2).padStart(10) +
      (100 * (r.ms ?? 0) / total).toFixed(1).padStart(7) + '  ' + (1000 * (r.ms ?? 0) / r.dispatches).toFixed(1));
  }
}

console.log(`device ${device.name}${backend ? ` (${backend.report.description})` : ''}; batch ${B}; model ${model.parameterCount().toLocaleString('en')} parameters`);
for (let i = 0; i < 2; i++) await trainStep(pick(B)); // compile pipelines, fill pools
let fb = 0, op = 0;
const t0 = performance.now();
const batches = Array.from({ length: steps }, () => pick(B));
for (const batch of batches) { const r = await trainStep(batch); fb += r.fwdBwd; op += r.optMs; }
const wall = performance.now() - t0;
const sents = batches.reduce((s, b) => s + b.length, 0);
console.log(`training: ${(wall / steps).toFixed(1)} ms/step (forward+matching+backward ${(fb / steps).toFixed(1)}, clip+AdamW ${(op / steps).toFixed(1)}), ${(1000 * sents / wall).toFixed(1)} sentences/s; mean max length ${(batches.reduce((s, b) => s + Math.max(...b.map((x) => x.tokens.length)), 0) / steps).toFixed(1)}`);
if (backend) {
  backend.startProfile({ byShape: values.shapes });
  const t = performance.now();
  await trainStep(batches[0]);
  const w = performance.now() - t;
  table('one training step, per kernel', await backend.stopProfile(), w);
}
model.eval();
const evalBatch = pick(EB);
const b = model.batch(evalBatch, device);
const infer = () => model.infer(b, cfg.eval ?? {}, new RNG(0));
await infer();
// The median of `steps` timed runs of the same batch: one run moves by ±15 % on a shared VM.
const inferRuns: number[] = [];
for (let i = 0; i < steps; i++) inferRuns.push((await phase(infer))[1]);
const inferMs = inferRuns.sort((x, y) => x - y)[Math.floor(steps / 2)];
console.log(`\ninference: ${inferMs.toFixed(1)} ms per batch of ${evalBatch.length} (median of ${steps}), ${(1000 * evalBatch.length / inferMs).toFixed(1)} sentences/s (${model.kind}${model.kind === 'diffusionner' ? `, γ = ${cfg.eval?.steps ?? 5}, K = ${cfg.eval?.proposals ?? 60}` : ''})`);
if (backend) {
  backend.startProfile({ byShape: values.shapes });
  const t = performance.now();
  await infer();
  table('one inference batch, per kernel', await backend.stopProfile(), performance.now() - t);
}
process.exit(0);
