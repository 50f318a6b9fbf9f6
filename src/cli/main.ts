#!/usr/bin/env node
/**
 * `npm start [-- "any text"]`: the main job. Loads the DiffusionNER model bundled in models/conll2003
 * (trained from scratch on CoNLL-2003 by this project's `train` command), tags a few example sentences
 * or the user's text, prints the entities and a compact denoising trace of the first sentence, and says
 * how to get the full trace and its HTML view.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDevice, type Device } from '../tensor/device.js';
import { loadTrained } from '../ner/trainer.js';
import { OFFICIAL_THRESHOLD, readSelection } from '../ner/selection.js';
import { formatDenoising, traceSentence } from '../ner/trace.js';
import { tokenizeText } from '../text/tokenize.js';
import { RNG } from '../tensor/random.js';
import { DiffusionNER } from '../ner/model.js';

// DNER_MODEL points at another model folder (tests use it).
const MODEL = process.env.DNER_MODEL ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'models', 'conll2003');
const EXAMPLES = [
  'Germany beat Brazil 2-1 in Frankfurt on Saturday .',
  'EU rejects German call to boycott British lamb .',
  'Peter Blackburn of Reuters reported from Brussels .',
  'Microsoft shares rose 3 percent on the Nasdaq after Bill Gates spoke in Seattle .',
];

async function pickDevice(): Promise<Device> {
  const want = process.env.DNER_DEVICE;
  if (want === 'cpu') return getDevice('cpu');
  try { return await getDevice('webgpu'); } catch (e) {
    if (want === 'webgpu') throw e;
    console.error(`(no WebGPU adapter: ${(e as Error).message.split('\n')[0]}; running on the cpu device)`);
    return getDevice('cpu');
  }
}

const t0 = performance.now();
const text = process.argv.slice(2).join(' ').trim();
const sentences = (text ? text.split('\n') : EXAMPLES).map((l) => tokenizeText(l).map((t) => t.text)).filter((s) => s.length);
if (!sentences.length) { console.error('npm start: nothing to tag (give a sentence: npm start -- "Obama visited Paris .")'); process.exit(2); }
if (!existsSync(join(MODEL, 'config.json'))) {
  console.error(`npm start: the bundled model is missing (${MODEL}). Train one: npx diffusionner train --config configs/conll2003.json, then npx diffusionner export --model runs/conll2003/model --out models/conll2003 --f16`);
  process.exit(2);
}
const device = await pickDevice();
const model = await loadTrained(MODEL, device);
model.eval();
const rep = device.kind === 'webgpu' ? `WebGPU: ${device.backend.report.description}` : 'cpu device';
console.log(`DiffusionNER (from-scratch encoder, trained on CoNLL-2003; ${model.parameterCount().toLocaleString('en')} parameters) on ${rep}`);
// provenance.json records how the bundled model was made and what it scores (docs/RESULTS.md).
// φ is the one in selection.json (chosen on dev, or fixed in advance for train + dev cycles), which the trace commands below also pick up.
const provenancePath = join(MODEL, 'provenance.json');
const prov = existsSync(provenancePath)
  ? JSON.parse(readFileSync(provenancePath, 'utf8')) as { command?: string; epochs?: number; bestEpoch?: number; then?: string; test?: { precision: number; recall: number; f1: number }; sampling?: { threshold?: number } }
  : {};
const selected = readSelection(MODEL)?.threshold;
const phi = selected ?? prov.sampling?.threshold ?? OFFICIAL_THRESHOLD;
const trained = prov.bestEpoch && prov.bestEpoch !== prov.epochs ? `epoch ${prov.bestEpoch} of ${prov.epochs}, the best on dev` : `${prov.epochs ?? '?'} epoch(s)`;
if (prov.test) console.log(`(trained by \`${prov.command}\`: ${trained}${prov.then ? `, then ${prov.then}` : ''}; CoNLL-2003 test P ${prov.test.precision.toFixed(1)} R ${prov.test.recall.toFixed(1)} F1 ${prov.test.f1.toFixed(1)} at φ ${phi}; see docs/RESULTS.md)`);
console.log('');
const b = model.batch(sentences.map((tokens) => ({ tokens, entities: [] })), device);
const pred = await model.predict(b, { steps: 5, threshold: phi, rng: new RNG(0) });
DiffusionNER.disposeBatch(b);
sentences.forEach((tokens, i) => {
  const ents = pred[i].sort((x, y) => x.left - y.left).map((c) => `${tokens.slice(c.left, c.right + 1).join(' ')} [${model.c.types[c.type - 1]}]`);
  console.log(`${tokens.join(' ')}\n  -> ${ents.length ? ents.join(', ') : '(no entities)'}`);
});
const first = sentences[0];
const trace = await traceSentence(model, device, first, { steps: 5, threshold: phi });
console.log(`\nHow the first sentence was denoised (K = ${trace.options.proposals} noisy spans, ${trace.steps.length} DDIM steps; the strongest spans per step):`);
console.log(formatDenoising(trace, { onlyInteresting: true, maxSpans: 4 }));
const quoted = JSON.stringify(first.join(' '));
// trace picks up selection.json itself; only a φ from elsewhere needs the flag.
const phiFlag = phi === (selected ?? OFFICIAL_THRESHOLD) ? '' : ` --threshold ${phi}`;
console.log(`\nFull trace (every layer, every span): npx diffusionner trace --model models/conll2003${phiFlag} ${quoted}`);
console.log(`HTML view of the denoising:          npx diffusionner trace --model models/conll2003${phiFlag} ${quoted} --html trace.html`);
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(0);
