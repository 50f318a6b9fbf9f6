/**
 * BINDER through the shared trainer (train() of the registry): a types file with descriptions of its own,
 * the loss going down on a tiny task, the model folder (config.json with kind and descriptions, a vocab
 * with the description words) opening again and tagging plain text, and the trace (text and HTML page).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { modelKind, openModel, train, type TrainConfig } from '../../../src/models/index.js';
import { tagStream } from '../../../src/ner/predict.js';
import { RNG } from '../../../src/tensor/random.js';
import type { Binder } from '../../../src/models/binder/model.js';
import { assertThrows } from '../../helpers.js';

const s = suite('binder training');
const dir = mkdtempSync(join(tmpdir(), 'dner-binder-'));
const names = ['John', 'Mary', 'Anna', 'Paul'], cities = ['Paris', 'Rome', 'Oslo', 'Lima'], verbs = ['visited', 'left', 'saw'];
const rng = new RNG(5);
const pick = <X>(xs: X[]) => xs[rng.int(xs.length)];
const lines = Array.from({ length: 48 }, () => {
  const [n, v, c] = [pick(names), pick(verbs), pick(cities)];
  return rng.uniform() < 0.5
    ? { tokens: [n, v, c, 'today', '.'], entities: [{ start: 0, end: 1, type: 'NAME' }, { start: 2, end: 3, type: 'CITY' }] }
    : { tokens: ['yesterday', c, 'saw', n, '.'], entities: [{ start: 1, end: 2, type: 'CITY' }, { start: 3, end: 4, type: 'NAME' }] };
});
writeFileSync(join(dir, 'train.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
writeFileSync(join(dir, 'types.json'), JSON.stringify({ NAME: 'a first name of a person', CITY: 'the name of a zebrafied city' }));

const cfg = (out: string, extra: Record<string, unknown> = {}): TrainConfig => ({
  data: { train: join(dir, 'train.jsonl'), dev: join(dir, 'train.jsonl'), types: join(dir, 'types.json') },
  model: { kind: 'binder', hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 4, lstmLayers: 1, minFreq: 1, linearSize: 8, ...extra },
  train: { epochs: 12, batch: 8, lr: 3e-3, warmup: 0, weightDecay: 0, seed: 1, checkpointEvery: 100 }, eval: { mode: 'flat', threshold: 0.5 }, out: join(dir, out),
});

s('the loss goes down, and the folder reopens, tags and traces', async () => {
  const losses: number[] = [];
  const result = await train(cfg('run'), T.cpu, { log: () => {}, progress: false, onEvent: (e) => { if (e.type === 'step') losses.push(e.loss); } });
  const first = losses.slice(0, 6).reduce((a, v) => a + v, 0) / 6, last = losses.slice(-6).reduce((a, v) => a + v, 0) / 6;
  if (!(last < 0.5 * first)) throw new Error(`loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  const steps = readFileSync(join(dir, 'run', 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  if (!('thetaSpan' in steps[0]) || !('thresholdSpan' in steps[0]) || !('mention' in steps[0])) throw new Error(`steps.jsonl terms: ${Object.keys(steps[0])}`);
  const folder = join(dir, 'run', 'model');
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  if (config.kind !== 'binder' || config.descriptions.join('|') !== 'a first name of a person|the name of a zebrafied city' || config.types.join() !== 'NAME,CITY') throw new Error(JSON.stringify(config));
  if (!readFileSync(join(folder, 'vocab.txt'), 'utf8').split('\n').includes('zebrafied')) throw new Error('the description words are in the vocabulary');
  if (!result.dev || !(result.dev.micro.f1 >= 90)) throw new Error(`dev F1 ${result.dev?.micro.f1}`);
  const model = await openModel(folder, T.cpu) as Binder;
  const entities = [];
  for await (const { tagged } of tagStream(model, T.cpu, ['Mary visited Rome today.'], (t) => t)) entities.push(...tagged.entities);
  const got = entities.map((e) => `${e.text}/${e.type}`).sort().join(' ');
  if (got !== 'Mary/NAME Rome/CITY') throw new Error(`tagged: ${got}`);
  if (entities.some((e) => !(e.score > 0.5 && e.score <= 1))) throw new Error(`scores ${entities.map((e) => e.score)}`);
  const view = modelKind('binder', 'test').trace;
  const trace = await view.run(model, T.cpu, ['Mary', 'visited', 'Rome', 'today', '.'], {});
  const text = view.text(trace);
  if (!text.includes('threshold span(0,0)') || !text.includes('type_encoder.lstm') || !/entities: .*Mary \[NAME\]/.test(text)) throw new Error(text);
  const page = view.html(trace);
  if (!page.startsWith('<!doctype html>') || !page.includes('<title>BINDER trace: Mary visited Rome today .</title>')) throw new Error(page.slice(0, 300));
  model.dispose();
});

s("typeInputs 'embeddings' and tied embeddings train too; unknown types without descriptions are refused", async () => {
  for (const extra of [{ typeInputs: 'embeddings' }, { tiedEmbeddings: true, spanFold: 'concat' }]) {
    const r = await train({ ...cfg(`run-${Object.keys(extra).join('-')}`, extra), train: { ...cfg('x').train, epochs: 2 } }, T.cpu, { log: () => {}, progress: false });
    if (!r.dev) throw new Error(`${JSON.stringify(extra)}: no dev result`);
  }
  const bare = cfg('bare');
  await assertThrows(() => train({ ...bare, data: { ...bare.data, types: undefined } }, T.cpu, { log: () => {}, progress: false }), /'(NAME|CITY)', '(NAME|CITY)' have none: give them in the types file/);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
