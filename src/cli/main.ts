#!/usr/bin/env node
/**
 * `npm start [-- "any text" | --file FILE | -]`: the main job. Loads the DiffusionNER model bundled in
 * models/conll2003 (trained from scratch on CoNLL-2003 by this project's `train` command) through the
 * public API, tags a few example sentences or the user's documents (quoted arguments, or each line of a
 * file or of stdin; a .jsonl file's lines are JSON objects with a "text" field or "tokens"), prints the
 * entities and a compact denoising trace of the first sentence, and says how to get the full trace and
 * its HTML view.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DocumentInput, loadModel } from '../api.js';
import { lineDocuments } from '../ner/inputs.js';
import { readLines } from '../ner/predict.js';
import { BUNDLED_MODELS } from '../models/index.js';
import { showCompileProgress } from './compile-progress.js';

// DNER_MODEL points at another model folder (tests use it).
const MODEL = process.env.DNER_MODEL ?? join(BUNDLED_MODELS, 'conll2003');
const EXAMPLES = [
  'Germany beat Brazil 2-1 in Frankfurt on Saturday .',
  'EU rejects German call to boycott British lamb .',
  'Peter Blackburn of Reuters reported from Brussels .',
  'Microsoft shares rose 3 percent on the Nasdaq after Bill Gates spoke in Seattle .',
];

/** Each non-blank line of a file (`--file FILE`) or of stdin (`-`) as a document. */
async function documentsOf(args: string[]): Promise<DocumentInput[]> {
  const file = args[0] === '--file' ? args[1] : undefined;
  if (args[0] === '--file' && (args.length !== 2 || !file)) fail('npm start: --file takes one path (npm start -- --file doc.txt)');
  if (args[0] === '-' && args.length !== 1) fail('npm start: - (read stdin) takes no other arguments');
  if (file && (!existsSync(file) || !statSync(file).isFile())) fail(`npm start: ${file}: no such file (--file)`);
  const where = file ?? 'stdin', docs: DocumentInput[] = [];
  const lines = readLines(file ? createReadStream(file) : process.stdin, where);
  try {
    for await (const d of lineDocuments(lines, where, !!file?.endsWith('.jsonl'))) docs.push(d.input);
  } catch (e) { fail(`npm start: ${(e as Error).message}`); }
  return docs;
}

function fail(message: string): never { console.error(message); process.exit(2); }

const t0 = performance.now();
const args = process.argv.slice(2);
// Several quoted arguments are several documents; bare words are one document the shell split.
const given = args[0] === '--file' || args[0] === '-' ? await documentsOf(args)
  : args.length > 1 && args.some((a) => /\s/.test(a)) ? args : [args.join(' ')];
const texts = (args.length ? given : EXAMPLES).filter((t) => typeof t !== 'string' || t.trim());
if (!texts.length) fail('npm start: nothing to tag (give a sentence: npm start -- "Obama visited Paris .", or --file FILE, or - for stdin)');
if (!existsSync(join(MODEL, 'config.json'))) {
  console.error(`npm start: the bundled model is missing (${MODEL}). Train one: npx diffusionner train --config configs/conll2003.json, then npx diffusionner export --model runs/conll2003/model --out models/conll2003 --f16`);
  process.exit(2);
}
const model = await loadModel(MODEL, { device: (process.env.DNER_DEVICE as 'cpu' | 'webgpu' | undefined) ?? 'auto' });
const compiling = showCompileProgress(model.device);
const rep = model.device.kind === 'webgpu' ? `WebGPU: ${model.device.backend.report.description}` : 'cpu device';
console.log(`DiffusionNER (from-scratch encoder, trained on CoNLL-2003; ${model.ner.parameterCount().toLocaleString('en')} parameters) on ${rep}`);
// provenance.json records how the bundled model was made and what it scores (docs/RESULTS.md).
// φ is the one in selection.json (chosen on dev, or fixed in advance for train + dev cycles), which the trace commands below also pick up.
const provenancePath = join(MODEL, 'provenance.json');
const prov = existsSync(provenancePath)
  ? JSON.parse(readFileSync(provenancePath, 'utf8')) as { command?: string; epochs?: number; bestEpoch?: number; then?: string; test?: { precision: number; recall: number; f1: number } }
  : {};
const phi = model.selection?.threshold ?? model.ner.defaultThreshold;
const trained = prov.bestEpoch && prov.bestEpoch !== prov.epochs ? `epoch ${prov.bestEpoch} of ${prov.epochs}, the best on dev` : `${prov.epochs ?? '?'} epoch(s)`;
if (prov.test) console.log(`(trained by \`${prov.command}\`: ${trained}${prov.then ? `, then ${prov.then}` : ''}; CoNLL-2003 test P ${prov.test.precision.toFixed(1)} R ${prov.test.recall.toFixed(1)} F1 ${prov.test.f1.toFixed(1)} at φ ${phi}; see docs/RESULTS.md)`);
console.log('');
const docs = await model.tag(texts);
for (const doc of docs) {
  for (const [i, s] of doc.sentences.entries()) {
    const ents = doc.entities.filter((e) => e.sentence === i).map((e) => `${e.text} [${e.type}]`);
    console.log(`${s.tokens.join(' ')}\n  -> ${ents.length ? ents.join(', ') : '(no entities)'}`);
  }
}
const first = docs.find((d) => d.sentences.length)!.sentences[0].tokens.join(' ');
console.log(`\nThe first sentence. ${model.formatTrace(await model.trace(first), 'summary')}`);
const quoted = JSON.stringify(first);
console.log(`\nFull trace (every layer, every span): npx diffusionner trace --model conll2003 ${quoted}`);
console.log(`HTML view of the denoising:          npx diffusionner trace --model conll2003 ${quoted} --html trace.html`);
compiling.done();
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
model.dispose();
process.exit(0);
