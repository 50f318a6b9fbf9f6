/**
 * The public API (src/api.ts) as a Node program uses it: open a model folder or a bundled model by name,
 * tag one document or many, stream documents in order, evaluate, trace, and train from a config with
 * progress events. Runs on the cpu device (the API's numerics are the engine's, tested elsewhere).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import { bundledModelNames, evaluate, loadModel, type SentenceEvent, toConll, toSpacy, train, type TrainEvent } from '../../src/api.js';
import { assertThrows } from '../helpers.js';

const s = suite('public API');
const dir = mkdtempSync(join(tmpdir(), 'dner-api-'));
const sentence = (i: number) => ({ tokens: ['x', `w${i % 3}`, 'Paris', 'y'], entities: [{ start: 2, end: 3, type: 'LOC' }] });

s('train from a config object reports every step and epoch; the model folder it writes loads and tags', async () => {
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => JSON.stringify(sentence(i))).join('\n') + '\n');
  const events: TrainEvent[] = [];
  const r = await train({
    data: { train: join(dir, 'train.jsonl'), dev: join(dir, 'train.jsonl') },
    model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0 },
    train: { epochs: 2, batch: 3, lr: 1e-3 }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, 'run'),
  }, { device: 'cpu', onProgress: (e) => events.push(e) });
  const steps = events.filter((e) => e.type === 'step'), epochs = events.filter((e) => e.type === 'epoch');
  if (steps.length !== 4 || steps.at(-1)!.step !== 4 || steps[0].totalSteps !== 4 || !Number.isFinite(steps[0].loss) || !('boundary' in steps[0].terms)) throw new Error(JSON.stringify(steps));
  if (epochs.length !== 2 || epochs[1].epoch !== 2 || epochs[1].dev === undefined) throw new Error(JSON.stringify(epochs));
  if (r.steps !== 4 || r.modelDir !== join(dir, 'run', 'model')) throw new Error(JSON.stringify(r));
  const model = await loadModel(r.modelDir, { device: 'cpu' });
  if (model.kind !== 'diffusionner' || model.types.join() !== 'LOC' || model.selection?.split !== 'dev') throw new Error(`${model.kind} ${model.types} ${JSON.stringify(model.selection)}`);
  // One document in, one out; an array in, an array out in order; each line a sentence.
  const one = await model.tag('x w1 Paris y\nParis y', { threshold: 0 });
  if (one.text !== 'x w1 Paris y\nParis y' || one.sentences.length !== 2 || one.sentences[1].start !== 13 || !one.entities.length) throw new Error(JSON.stringify(one));
  for (const e of one.entities) if (one.text.slice(e.start, e.end) !== e.text || e.score < 0 || e.score > 1) throw new Error(JSON.stringify(e));
  const many = await model.tag(['Paris y', '', 'x Paris'], { threshold: 0 });
  if (many.length !== 3 || many[1].sentences.length !== 0 || many[2].text !== 'x Paris') throw new Error(JSON.stringify(many));
  // A stream: documents pulled lazily and yielded in order.
  const order: string[] = [];
  async function* texts() { for (const t of ['a Paris', 'b', 'Paris c']) yield t; }
  for await (const d of model.tagStream(texts(), { batch: 1 })) order.push(d.text);
  if (order.join('|') !== 'a Paris|b|Paris c') throw new Error(order.join('|'));
  // Sentence by sentence: the same sentences and entities as whole documents, each document's end after its sentences.
  const sentenceEvents: SentenceEvent<number>[] = [];
  for await (const e of model.tagSentences(['x w1 Paris y. Paris y went home.', '', 'x Paris'], { threshold: 0, batch: 1 })) sentenceEvents.push(e);
  const whole = await model.tag(['x w1 Paris y. Paris y went home.', '', 'x Paris'], { threshold: 0, batch: 1 });
  const rebuilt = whole.map((_, d) => ({
    sentences: sentenceEvents.flatMap((e) => (e.kind === 'sentence' && e.doc === d ? [e.sentence] : [])),
    entities: sentenceEvents.flatMap((e) => (e.kind === 'sentence' && e.doc === d ? e.entities : [])),
  }));
  const ends = sentenceEvents.flatMap((e, i) => (e.kind === 'end' ? [`${e.doc}@${i}`] : []));
  if (JSON.stringify(rebuilt) !== JSON.stringify(whole.map(({ sentences, entities }) => ({ sentences, entities }))) || ends.join() !== '0@2,1@3,2@5') throw new Error(`${JSON.stringify(sentenceEvents)}\n${JSON.stringify(whole)}`);
  const scores = await model.evaluate([sentence(1), sentence(2)], { threshold: 0 });
  if (scores.micro.gold !== 2 || scores.threshold !== 0 || !(scores.micro.f1 >= 0)) throw new Error(JSON.stringify(scores.micro));
  // The breakdowns by length and nesting always; each sentence's entities and errors on request, from the same inference.
  if (scores.byLength['1'].gold !== 2 || scores.byNesting.outermost.gold !== 2 || scores.predictions !== undefined) throw new Error(JSON.stringify(scores));
  const nested = { tokens: ['x', 'New', 'Paris', 'y'], entities: [{ start: 1, end: 3, type: 'LOC' }, { start: 2, end: 3, type: 'LOC' }] };
  const detailed = await evaluate(model, [sentence(1), nested], { threshold: 0, mode: 'nested', predictions: true });
  const p = detailed.predictions!;
  if (p.length !== 2 || p[1].origin !== 'sentence 1' || p[1].gold.map((e) => e.text).join() !== 'New Paris,Paris' || detailed.byLength['2'].gold !== 1 || detailed.byNesting.nested.gold !== 1) throw new Error(JSON.stringify(detailed));
  const fp = p.reduce((a, x) => a + x.falsePositives.length, 0), fn = p.reduce((a, x) => a + x.falseNegatives.length, 0);
  if (fp !== detailed.micro.predicted - detailed.micro.tp || fn !== detailed.micro.gold - detailed.micro.tp) throw new Error(JSON.stringify(detailed));
  const trace = await model.trace('x Paris y') as { steps: unknown[]; tokens: string[] };
  if (trace.tokens.join(' ') !== 'x Paris y' || trace.steps.length !== 5 || !/How it was denoised/.test(model.formatTrace(trace, 'summary')) || !/<html/i.test(model.formatTrace(trace, 'html'))) throw new Error('trace');
  // A pre-tokenised sentence is tagged as it is (its words joined by spaces); a document renders as CoNLL and spaCy.
  const words = await model.tag({ tokens: ['x', 'w1', 'Paris', 'y'] }, { threshold: 0 });
  if (words.text !== 'x w1 Paris y' || words.sentences.length !== 1 || !words.entities.length
    || words.entities.some((e) => words.text.slice(e.start, e.end) !== e.text)) throw new Error(JSON.stringify(words));
  const conll = toConll(words).split('\n'), spacy = toSpacy(words);
  if (conll.slice(2, 6).map((l) => l.split('\t')[0]).join(' ') !== 'x w1 Paris y' || spacy.text !== words.text || spacy.ents.length !== words.entities.length) throw new Error(JSON.stringify({ conll, spacy }));
  await assertThrows(() => model.tag([3 as unknown as string]), /^tag: document 0 is number, not a string or \{ tokens: string\[\] \}$/);
  await assertThrows(() => model.tag(['ok', { tokens: ['New York'] }]), /^tag: document 1 is object whose tokens are not all non-empty words without spaces/);
  await assertThrows(async () => { for await (const _ of model.tagStream(['ok', null as unknown as string])) { /* drain */ } }, /^tag: document 1 is null/);
  model.dispose();
});

s('on webgpu a model loaded for tagging lets the buffer pool reuse larger free buffers, and train sets it back', async () => {
  const model = await loadModel('conll2003', { device: 'webgpu' });
  const pool = () => (model.device.kind === 'webgpu' ? model.device.backend.pool.reuseLarger : undefined);
  if (pool() !== true) throw new Error(`after loadModel: reuseLarger ${pool()}`);
  // The setting is made before the training data is read, so a run that fails on its data shows it.
  await assertThrows(() => train({
    data: { train: join(dir, 'missing.jsonl') }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8 }, train: { epochs: 1, batch: 2, lr: 1e-3 }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, 'never'),
  }, { device: 'webgpu' }), /missing\.jsonl/);
  if (pool() !== false) throw new Error(`after train: reuseLarger ${pool()}`);
  model.dispose();
});

s('a bundled model opens by name; an unknown name is one line listing the bundled models', async () => {
  if (!bundledModelNames().includes('conll2003')) throw new Error(`bundled: ${bundledModelNames()}`);
  await assertThrows(() => loadModel('no-such-model', { device: 'cpu' }), /^no-such-model: no such model folder \(bundled models: conll2003, genia\)$/);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
