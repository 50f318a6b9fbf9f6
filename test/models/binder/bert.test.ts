/**
 * BINDER with a Hugging Face BERT folder (the tiny fixture): both BERTs (text and type encoder) start
 * from the folder's weights and train apart; BERT alone (lstmLayers 0) with the [CLS] piece as the
 * threshold anchor and the type vectors; subwordSpans reads a word's first and last sub-word states
 * (checked against BertModel.forward directly); train -> model folder -> reload -> tag; a sentence
 * too long for BERT's positions is refused naming its file:line; the settings that do not apply are refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { BertModel, poolWords } from '../../../src/nn/bert.js';
import { readSafetensors } from '../../../src/nn/safetensors.js';
import { modelKind, openModel, parseTrainConfig, train, type TrainConfig } from '../../../src/models/index.js';
import { Binder, withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig } from '../../../src/models/binder/config.js';
import { l2Normalize } from '../../../src/models/binder/layers.js';
import { loadPretrainedBert, newEncoderConfig } from '../../../src/ner/encoders/build.js';
import { SentenceEncoder } from '../../../src/ner/encoders/sentence-encoder.js';
import { tagStream } from '../../../src/ner/predict.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import type { Linear } from '../../../src/nn/layers.js';
import type { Module } from '../../../src/nn/module.js';
import { assertClose, assertThrows } from '../../helpers.js';

const s = suite('BINDER with the BERT encoder');
const fixture = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'fixtures', 'tiny-bert');
const dir = mkdtempSync(join(tmpdir(), 'dner-binder-bert-'));
const sents = [
  { tokens: ['peter', 'blackburn', 'in', 'brussels'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 3, end: 4, type: 'LOC' }] },
  { tokens: ['the', 'eu', 'rejects', 'german', 'call'], entities: [{ start: 1, end: 2, type: 'ORG' }] },
  { tokens: ['boycott', 'british', 'lamb', 'in', 'brussels'], entities: [{ start: 4, end: 5, type: 'LOC' }] },
  { tokens: ['the', 'proteins', 'of', 'peter', 'blackburn'], entities: [{ start: 3, end: 5, type: 'PER' }] },
];
// Short descriptions: the fixture's BERT has 40 positions. Unknown words become [UNK].
const descriptions = { PER: 'a person', LOC: 'a place in the eu', ORG: 'a group of the eu' };
writeFileSync(join(dir, 'd.jsonl'), sents.map((x) => JSON.stringify(x)).join('\n') + '\n');
writeFileSync(join(dir, 'types.json'), JSON.stringify(descriptions));

const model = (extra: Record<string, unknown> = {}): TrainConfig['model'] => ({ kind: 'binder', encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 32, linearSize: 8, ...extra });
const cfg = (out: string, extra: Record<string, unknown> = {}, trainExtra: Record<string, unknown> = {}): TrainConfig => ({
  data: { train: join(dir, 'd.jsonl'), dev: join(dir, 'd.jsonl'), types: join(dir, 'types.json') },
  model: model(extra), train: { epochs: 2, batch: 2, lr: 1e-3, warmup: 0, seed: 3, checkpointEvery: 100, ...trainExtra }, eval: { mode: 'flat' }, out: join(dir, out),
});

/** A new BINDER on the fixture's BERT as training makes it: the folder's weights in both BERTs, in eval mode. */
async function newBinder(extra: Partial<BinderConfig> = {}): Promise<Binder> {
  const enc = newEncoderConfig({ encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 32 }, sents.map((x) => ({ ...x, origin: 'x' })));
  const m = new Binder({ ...withDescriptions({ ...enc.config, types: ['PER', 'LOC', 'ORG'], linearSize: 8 } as BinderConfig, descriptions), ...extra }, { device: T.cpu, rng: new T.RNG(1) });
  await loadPretrainedBert(m.encoder, fixture, T.cpu);
  await m.afterPretrained();
  m.eval();
  return m;
}

const rowsOf = async (x: Tensor, rows: number[]) => { const v = await x.data(), H = x.shape[x.shape.length - 1]; return rows.flatMap((r) => Array.from(v.slice(r * H, (r + 1) * H))); };

s('both BERTs start from the folder\'s weights, and train apart', async () => {
  const pretrained = readSafetensors(join(fixture, 'model.safetensors'));
  const folder = (n: string) => (pretrained.get(n) ?? pretrained.get(`bert.${n}`))!.data;
  const names = ['encoder.layer.0.attention.self.query.weight', 'embeddings.word_embeddings.weight', 'encoder.layer.1.output.dense.weight'];
  const seen: string[] = [];
  const check = (step: number, m: Module) => {
    const p = new Map(m.namedParameters());
    for (const n of names) {
      const text = p.get(`bert.${n}`)!.array, type = p.get(`type_encoder.bert.${n}`)!.array, orig = folder(n);
      const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
      if (step === 1 && (!same(text, orig) || !same(type, orig))) throw new Error(`step 1: ${n} is not the folder's in both BERTs`);
      if (step === 2 && (same(text, orig) || same(type, orig) || same(text, type))) throw new Error(`step 2: ${n} did not train apart (text ${same(text, orig)}, type ${same(type, orig)}, equal ${same(text, type)})`);
    }
    seen.push(`step ${step}`);
  };
  await train(cfg('start', {}, { maxSteps: 2 }), T.cpu, { log: () => {}, progress: false, beforeStep: check });
  if (seen.join() !== 'step 1,step 2') throw new Error(`checked ${seen.join()}`);
});

s('BERT alone: the [CLS] piece anchors the text and the type vectors; subwordSpans reads first and last pieces', async () => {
  const m = await newBinder();
  if (!m.c.subwordSpans || m.c.lstmLayers !== 0 || m.encoder.lstm || m.text_cls || m.type_encoder!.cls) throw new Error(`defaults: subwordSpans ${m.c.subwordSpans}, lstmLayers ${m.c.lstmLayers}`);
  const bert = await BertModel.fromPretrained(fixture, { device: T.cpu });
  bert.eval();
  const b = m.batch([{ tokens: ['the', 'proteins', 'unknown'] }, { tokens: ['peter', 'blackburn', 'in', 'brussels', 'cells'] }], T.cpu);
  const p = b.parts[0];
  const tok = m.encoder.tokenizer!;
  const shown = (await p.pieces!.ids.data()).slice(0, 8);
  if (Array.from(shown).map((i) => tok.idToToken[i]).join(' ') !== '[CLS] the protein ##s un ##know ##n [SEP]') throw new Error(`pieces: ${Array.from(shown).map((i) => tok.idToToken[i]).join(' ')}`);
  {
    const h = bert.forward(p.pieces!.ids, p.pieces!.mask); // (2, S, 32)
    const [, S] = h.shape, n1 = p.ids.shape[1] + 1;
    const { first, last } = m.encoder.wordEnds(p);
    for (const [sIdx, spans] of p.pieces!.spans.entries()) {
      const want = (end: boolean) => rowsOf(h, [sIdx * S, ...spans.map(([a, e]) => sIdx * S + (end ? e - 1 : a))]);
      const rows = Array.from({ length: spans.length + 1 }, (_, r) => sIdx * n1 + r);
      assertClose(await rowsOf(first, rows), await want(false), { rtol: 1e-5, atol: 1e-5 }, `sentence ${sIdx}: [CLS] and first pieces`);
      assertClose(await rowsOf(last, rows), await want(true), { rtol: 1e-5, atol: 1e-5 }, `sentence ${sIdx}: [CLS] and last pieces`);
    }
    // The type vectors: the type BERT's [CLS] state of "[CLS] description pieces [SEP]".
    const t = m.typeVectors(b.descriptions);
    for (const [k, type] of ['PER', 'LOC', 'ORG'].entries()) {
      const words = descriptions[type as keyof typeof descriptions].split(' ');
      const ids = [tok.id('[CLS]'), ...words.flatMap((w) => tok.encode(w)), tok.id('[SEP]')];
      const ht = bert.forward(T.tensor(Int32Array.from(ids), { shape: [1, ids.length], device: T.cpu }));
      assertClose(await rowsOf(t, [k]), await rowsOf(ht, [0]), { rtol: 1e-5, atol: 1e-5 }, `t_${type}`);
    }
    // The scores read them: start from the first pieces, end from the last, span (i, j) from first_i and last_j.
    const sc = m.scores(p, b.descriptions);
    const typed = (lin: Linear, x: Tensor) => l2Normalize(lin.forward(x));
    const score = (tl: Linear, l: Linear, x: Tensor, theta: Tensor) => T.mul(T.linear(typed(l, x), typed(tl, t)), T.exp(theta)); // (B, n', M)
    const perm = (x: Tensor) => T.permute(x, [0, 2, 1]);
    assertClose(await sc.start!.data(), await perm(score(m.type_start_linear, m.start_linear, first, m.start_logit_scale)).data(), { rtol: 1e-4, atol: 1e-4 }, 'start scores');
    assertClose(await sc.end!.data(), await perm(score(m.type_end_linear, m.end_linear, last, m.end_logit_scale)).data(), { rtol: 1e-4, atol: 1e-4 }, 'end scores');
    // Cell (i, j) = (2, 3) of sentence 1 (words 1..2, "blackburn in"), through the official concatenation.
    const [i, j] = [2, 3];
    const cell = T.concat([T.slice(T.slice(first, 0, 1, 2), 1, i, i + 1), T.slice(T.slice(last, 0, 1, 2), 1, j, j + 1), T.reshape(T.slice(m.width_embeddings.table(), 0, j - i + 1, j - i + 2), [1, 1, 8])], -1); // (1, 1, 2H + d)
    const want = T.mul(T.linear(T.reshape(typed(m.span_linear, cell), [1, 8]), typed(m.type_span_linear, t)), T.exp(m.span_logit_scale)); // (1, M)
    const all = await sc.span.data(), M = 3;
    const got = Array.from({ length: M }, (_, k) => all[(1 * M + k) * n1 * n1 + i * n1 + j]);
    assertClose(got, await want.data(), { rtol: 1e-4, atol: 1e-4 }, 'span cell (2, 3)');
  }
  m.disposeBatch(b);
  // subwordSpans false: both ends read BERT's pooled words, after the [CLS] piece.
  const pooled = await newBinder({ subwordSpans: false, pooling: 'mean' });
  const b2 = pooled.batch([{ tokens: ['the', 'proteins', 'unknown'] }], T.cpu);
  {
    const p2 = b2.parts[0];
    const h = bert.forward(p2.pieces!.ids, p2.pieces!.mask);
    const { start, end } = pooled.textVectors(p2);
    if (start !== end) throw new Error('subwordSpans false: start and end are the same word vectors');
    const want = T.concat([T.slice(h, 1, 0, 1), poolWords(h, p2.pieces!.spans, 'mean')], 1);
    assertClose(await start.data(), await want.data(), { rtol: 1e-5, atol: 1e-5 }, 'BERT alone: [CLS] then pooled words');
  }
  pooled.disposeBatch(b2);
  pooled.dispose(); m.dispose(); bert.dispose();
});

s('a BiLSTM over BERT stays possible (pooled words, no subwordSpans)', async () => {
  const m = await newBinder({ lstmLayers: 1, hidden: 16 });
  if (m.c.subwordSpans || !m.encoder.lstm) throw new Error('a BiLSTM over BERT reads pooled words');
  m.train();
  const b = m.batch(sents, T.cpu);
  const r = await m.lossAndBackward(b);
  if (!Number.isFinite(r.total)) throw new Error(`loss ${r.total}`);
  m.disposeBatch(b); m.dispose();
});

s('train -> model folder -> reload -> tag', async () => {
  const result = await train(cfg('run'), T.cpu, { log: () => {}, progress: false });
  if (!result.dev) throw new Error('no dev result');
  const folder = join(dir, 'run', 'model');
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  if (config.kind !== 'binder' || config.encoder !== 'bert' || config.lstmLayers !== 0 || config.subwordSpans !== true || config.bert?.hidden_size !== 32 || config.descriptions.join('|') !== 'a person|a place in the eu|a group of the eu') throw new Error(JSON.stringify(config));
  const vocab = readFileSync(join(folder, 'vocab.txt'), 'utf8');
  if (vocab !== readFileSync(join(fixture, 'vocab.txt'), 'utf8').replace(/\n?$/, '\n')) throw new Error('the folder\'s vocabulary is the BERT folder\'s, unchanged');
  const weights = readSafetensors(join(folder, 'model.safetensors'));
  const q = 'encoder.layer.0.attention.self.query.weight';
  if (!weights.has(`bert.${q}`) || !weights.has(`type_encoder.bert.${q}`) || weights.has('text_cls') || weights.has('type_encoder.cls') || weights.has('lstm.weight_ih_l0')) throw new Error([...weights.keys()].filter((n) => !n.includes('layer.')).join(' '));
  const m = await openModel(folder, T.cpu) as Binder;
  const saved = weights.get(`type_encoder.bert.${q}`)!.data;
  const loaded = new Map(m.namedParameters()).get(`type_encoder.bert.${q}`)!.array;
  if (Array.from(saved).some((v, i) => v !== loaded[i])) throw new Error('the type BERT reloads as saved');
  const tagged = [];
  for await (const { tagged: t } of tagStream(m, T.cpu, ['Peter Blackburn in Brussels.', 'The EU rejects German call.'], (x) => x)) tagged.push(t);
  if (tagged.length !== 2 || tagged.some((t) => !Array.isArray(t.entities))) throw new Error(JSON.stringify(tagged));
  const view = modelKind('binder', 'test').trace;
  const text = view.text(await view.run(m, T.cpu, ['peter', 'blackburn', 'in', 'brussels'], {}));
  if (!text.includes('threshold span(0,0)') || !text.includes('type_encoder.bert')) throw new Error(text);
  m.dispose();
});

s('a sentence too long for BERT ([CLS] + pieces + [SEP]) is refused before the first step, naming its file:line', async () => {
  // 38 words fit 40 positions with [CLS] and [SEP]; 39 do not.
  const fits = { tokens: Array.from({ length: 38 }, () => 'the'), entities: [] };
  const long = { tokens: Array.from({ length: 39 }, () => 'the'), entities: [] };
  writeFileSync(join(dir, 'long.jsonl'), [sents[0], fits, long].map((x) => JSON.stringify(x)).join('\n') + '\n');
  let steps = 0;
  const c = cfg('long-run');
  await assertThrows(() => train({ ...c, data: { ...c.data, dev: join(dir, 'long.jsonl') } }, T.cpu, { log: () => {}, progress: false, beforeStep: () => { steps++; } }),
    /long\.jsonl:3: 41 sub-words, more than BERT's 40 positions/);
  if (steps !== 0) throw new Error(`${steps} steps ran before the refusal`);
  // A description too long for BERT is refused naming its type.
  await assertThrows(() => newBinder({ descriptions: ['a person', Array.from({ length: 40 }, () => 'the').join(' '), 'a group'] }), /description of type 'LOC' has 42 sub-words, more than BERT's 40 positions/);
});

s('settings that do not apply with BERT (or without it) are refused', async () => {
  const text = (m: Record<string, unknown>, t: Record<string, unknown> = {}) => JSON.stringify({ data: { train: 'd.jsonl' }, model: { kind: 'binder', hidden: 32, ...m }, train: { epochs: 1, batch: 2, lr: 1e-3, ...t } });
  const bertModel = { encoder: 'bert', bertPath: fixture };
  await assertThrows(() => parseTrainConfig(text({ subwordSpans: true }), 'c.json'), /model\.subwordSpans.*encoder bert/);
  await assertThrows(() => parseTrainConfig(text({ ...bertModel, lstmLayers: 1, subwordSpans: true }), 'c.json'), /model\.subwordSpans.*lstmLayers 0/);
  await assertThrows(() => parseTrainConfig(text({ ...bertModel, tiedEmbeddings: true }), 'c.json'), /model\.tiedEmbeddings.*scratch encoder/);
  await assertThrows(() => parseTrainConfig(text(bertModel, { splitEpoch: 1 }), 'c.json'), /train\.splitEpoch/);
  await assertThrows(() => parseTrainConfig(text({ lstmLayers: 0 }), 'c.json'), /model\.lstmLayers.*encoder bert only/);
  parseTrainConfig(text({ ...bertModel, lstmLayers: 0 }), 'c.json');
  // BERT alone: hidden must be BERT's hidden size.
  await assertThrows(() => newBinder({ hidden: 16 }), /hidden must be BERT's hidden_size 32, got 16/);
  // Built in code without a BERT folder, both BERTs start from the same random draws.
  const enc = newEncoderConfig({ encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 32 }, sents.map((x) => ({ ...x, origin: 'x' })));
  const bare = new Binder(withDescriptions({ ...enc.config, types: ['PER'], linearSize: 8 } as BinderConfig, descriptions), { device: T.cpu, rng: new T.RNG(2) });
  const params = new Map(bare.namedParameters());
  const berts = [...params.keys()].filter((n) => n.startsWith('bert.'));
  if (berts.length < 10 || berts.some((n) => Array.from(params.get(n)!.array).some((v, i) => v !== params.get(`type_encoder.${n}`)!.array[i]))) throw new Error('the type BERT is not a copy of the text BERT');
  bare.dispose();
  await assertThrows(() => newBinder({ tiedEmbeddings: true }), /tiedEmbeddings is for the scratch encoder/);
  await assertThrows(() => new Binder({ vocab: ['[PAD]', '[UNK]'], hidden: 8, types: ['X'], typeInputs: 'embeddings', subwordSpans: true }, { device: T.cpu }), /subwordSpans is for encoder bert/);
  await assertThrows(() => new SentenceEncoder({ vocab: ['[PAD]', '[UNK]'], hidden: 8, lstmLayers: 0 }, { device: T.cpu }), /lstmLayers 0 .* encoder bert only/);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
