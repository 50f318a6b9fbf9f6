/**
 * The documents figure: does the bundled model find, in paragraphs, the entities it finds when the same
 * sentences come one per line? From CoNLL-2003 test: runs of five consecutive sentences that are not
 * headline-style (all capitals, or not ending in . ! ? or a closing quote), each written in natural
 * spacing (no space before punctuation, clitics attached, quotes against their words). Each paragraph
 * is tagged as one document, and its five sentences as five documents; the (type, text) entities are
 * compared as multisets. Also tagged: each paragraph as one pre-tokenised sentence, which is what a
 * paragraph on one line amounted to before sentence splitting.
 *   npx tsx bench/paragraphs.ts [--data FILE] [--model DIR|NAME] [--limit N] [--device webgpu|cpu]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModel, type TaggedDocument } from '../src/api.js';
import { parseJsonl } from '../src/ner/data.js';
import { tagStream } from '../src/ner/predict.js';
import { headline, naturalSpacing } from './natural-text.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, model: { type: 'string' }, limit: { type: 'string' }, device: { type: 'string' } } });
const file = values.data ?? '../shared/data/conll2003/test.jsonl';
const sentences = parseJsonl(readFileSync(file, 'utf8'), file);

const paragraphs: string[][] = [];
let run: string[] = [];
for (const s of sentences) {
  if (headline(s.tokens)) { run = []; continue; }
  run.push(naturalSpacing(s.tokens));
  if (run.length === 5) { paragraphs.push(run); run = []; }
}
const limit = values.limit ? Number(values.limit) : paragraphs.length;
const chosen = paragraphs.slice(0, limit);

const model = await loadModel(values.model ?? 'conll2003', { device: (values.device as 'webgpu' | 'cpu' | undefined) ?? 'auto' });
const key = (d: TaggedDocument) => d.entities.map((e) => `${e.type}\t${e.text}`);
const bag = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
const overlap = (a: Map<string, number>, b: Map<string, number>) => [...a].reduce((n, [k, c]) => n + Math.min(c, b.get(k) ?? 0), 0);

const t0 = performance.now();
const perLine = await model.tag(chosen.flat());
const asParagraphs = await model.tag(chosen.map((p) => p.join(' ')));
const asOneSentence: TaggedDocument[] = [];
const options = { threshold: model.selection?.threshold, mode: model.selection?.mode };
for await (const { tagged } of tagStream(model.ner, model.device, chosen.map((p) => ({ tokens: p.join(' ').split(' ') })), (d) => d, { ...options, maxWords: 1e6 })) asOneSentence.push(tagged);
let lines = 0, found = 0, foundUnsplit = 0;
chosen.forEach((p, i) => {
  const want = bag(perLine.slice(5 * i, 5 * i + 5).flatMap(key));
  lines += [...want.values()].reduce((a, b) => a + b, 0);
  found += overlap(want, bag(key(asParagraphs[i])));
  foundUnsplit += overlap(want, bag(key(asOneSentence[i])));
});
const split = asParagraphs.reduce((n, d) => n + d.sentences.length, 0);
console.log(`${file}: ${chosen.length} paragraphs of 5 sentences (${split} sentences found by the splitter); ${lines} (type, text) entities when tagged one sentence per line`);
console.log(`paragraphs, split into sentences: ${found} of them found, ${(100 * found / lines).toFixed(1)} %`);
console.log(`paragraphs as one sentence (no splitting): ${foundUnsplit} found, ${(100 * foundUnsplit / lines).toFixed(1)} %`);
console.log(`(${((performance.now() - t0) / 1000).toFixed(0)} s on ${model.device.name})`);
model.dispose();
process.exit(0);
