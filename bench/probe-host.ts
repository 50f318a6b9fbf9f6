/**
 * Host-side cost of inference: wall time, dispatches, submits and bind groups per predict batch
 * (synthetic CoNLL-like sentences, the conll2003 model configuration). With a third argument, writes a
 * V8 CPU profile of the timed runs only (after warm-up and pipeline compiles) to that file; read it with
 * `node bench/cpuprofile-top.mjs FILE`:
 *   npx tsx bench/probe-host.ts [runs] [batch] [profile.cpuprofile]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { getDevice } from '../src/tensor/device.js';
import { RNG } from '../src/tensor/random.js';
import { inferTypes, type Sentence } from '../src/ner/data.js';
import { buildVocab } from '../src/ner/encoders/vocab.js';
import { buildCharVocab } from '../src/ner/encoders/vocab.js';
import { DiffusionNER } from '../src/models/diffusionner/model.js';

const runs = Number(process.argv[2] ?? 10), B = Number(process.argv[3] ?? 16), profileFile = process.argv[4];
const cfg = JSON.parse(readFileSync('configs/conll2003.json', 'utf8'));
const rng = new RNG(1);
const sentences: Sentence[] = Array.from({ length: 500 }, (_, i) => {
  const n = 2 + rng.int(30);
  return { origin: `synthetic:${i}`, tokens: Array.from({ length: n }, () => `w${rng.int(5000)}`), entities: [{ start: 0, end: 1, type: n % 2 ? 'A' : 'B' }] };
});
const device = await getDevice('webgpu');
if (device.kind !== 'webgpu') throw new Error('needs a WebGPU adapter');
const { minFreq, ...modelCfg } = cfg.model;
const model = new DiffusionNER({ ...modelCfg, vocab: buildVocab(sentences, minFreq ?? 1), chars: buildCharVocab(sentences), types: inferTypes(sentences) }, { device, rng });
model.eval();
const b = model.batch(sentences.slice(0, B), device);
for (let i = 0; i < 2; i++) await model.predict(b, { steps: 5 });
const c0 = { ...device.backend.counters };
const bg = device.backend.bindGroups, hits0 = bg.hits, misses0 = bg.misses;
const inspector = profileFile ? new Session() : null;
if (inspector) { inspector.connect(); await inspector.post('Profiler.enable'); await inspector.post('Profiler.start'); }
const t0 = performance.now();
for (let i = 0; i < runs; i++) await model.predict(b, { steps: 5 });
const ms = (performance.now() - t0) / runs;
if (inspector) writeFileSync(profileFile!, JSON.stringify((await inspector.post('Profiler.stop')).profile));
const per = (k: 'dispatches' | 'submits') => (device.backend.counters[k] - c0[k]) / runs;
console.log(`${device.backend.report.description}: ${ms.toFixed(1)} ms per batch of ${B}, ${per('dispatches')} dispatches, ${per('submits')} submits, ${(1000 * ms / per('dispatches')).toFixed(1)} µs wall per dispatch`);
console.log(`bind groups per batch: ${(bg.hits - hits0) / runs} from the cache, ${(bg.misses - misses0) / runs} created`);
process.exit(0);
