/**
 * BOPN with a Hugging Face BERT folder: the type prompts enter BERT as input embeddings before [CLS]
 * (BertModel.forwardEmbeds), and their outputs go before the pooled words into the BiLSTM; a BOPN folder
 * trained on BERT reloads and tags text; BERT's positions hold the prompts and the sub-words together.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { BertModel } from '../../../src/nn/bert.js';
import { openModel, train, type TrainConfig } from '../../../src/models/index.js';
import { BOPN } from '../../../src/models/bopn/model.js';
import { assertClose, assertThrows } from '../../helpers.js';

const s = suite('BOPN with the BERT encoder');
const fixture = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'fixtures', 'tiny-bert');
const dir = mkdtempSync(join(tmpdir(), 'dner-bopn-bert-'));
const sents = [
  { tokens: ['the', 'eu', 'rejects', 'german', 'call'], entities: [{ start: 1, end: 2, type: 'ORG' }, { start: 3, end: 4, type: 'MISC' }] },
  { tokens: ['boycott', 'british', 'lamb'], entities: [{ start: 1, end: 3, type: 'MISC' }] },
  { tokens: ['the', 'cells', 'call', 'german'], entities: [{ start: 3, end: 4, type: 'MISC' }] },
];

s('input embeddings before [CLS] are read as the word embeddings of the same ids would be', async () => {
  const bert = await BertModel.fromPretrained(fixture, { device: T.cpu });
  bert.eval();
  const ids = T.tensor(Int32Array.from([2, 7, 9, 11, 3]), { shape: [1, 5], device: T.cpu });
  const plain = await bert.forward(ids).data();
  const viaEmbeds = await bert.forwardEmbeds(bert.embeddings.word_embeddings.forward(ids)).data();
  assertClose(viaEmbeds, plain, { rtol: 0, atol: 0 }, 'forwardEmbeds of the word embeddings');
  // A BOPN whose prompts equal the embeddings of ids 7 and 9 reads [7, 9, CLS, pieces..., SEP] as BERT would.
  const model = new BOPN({ ...(await bopnConfig()), types: ['A', 'B'] }, { device: T.cpu, rng: new T.RNG(1) });
  await model.encoder.bert!.loadStateDict(bert.stateDict());
  model.eval();
  const table = await bert.embeddings.word_embeddings.weight.data(), H = bert.config.hidden_size;
  model.prompts.copyFrom([...table.slice(7 * H, 8 * H), ...table.slice(9 * H, 10 * H)]);
  const b = model.batch([{ tokens: ['the', 'eu'] }], T.cpu).parts[0];
  const pieceIds = Array.from(await b.pieces!.ids.data());
  const expected = await bert.forward(T.tensor(Int32Array.from([7, 9, ...pieceIds]), { shape: [1, 2 + pieceIds.length], device: T.cpu })).data();
  const got = await model.encoder.bert!.forwardEmbeds(T.concat([T.unsqueeze(model.prompts, 0), model.encoder.bert!.embeddings.word_embeddings.forward(b.pieces!.ids)], 1)).data();
  assertClose(got, expected, { rtol: 1e-6, atol: 1e-6 }, 'prompts as input embeddings');
  model.dispose(); bert.dispose();
});

async function bopnConfig() {
  const { newEncoderConfig } = await import('../../../src/ner/encoders/build.js');
  return newEncoderConfig({ encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 8, biaffine: 5, gridEmbedding: 3 }, sents.map((x) => ({ ...x, origin: 'x' }))).config;
}

s('trains from a BERT folder, reloads, and tags; the prompts share BERT\'s positions', async () => {
  writeFileSync(join(dir, 'd.jsonl'), sents.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const cfg: TrainConfig = {
    data: { train: join(dir, 'd.jsonl'), dev: join(dir, 'd.jsonl') },
    model: { kind: 'bopn', encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 8, biaffine: 5, gridEmbedding: 3 },
    train: { epochs: 1, batch: 2, lr: 1e-3, labelSmoothing: 0.01 }, eval: { mode: 'flat' }, out: join(dir, 'run'),
  };
  await train(cfg, T.cpu, { log: () => {}, progress: false });
  const model = await openModel(join(dir, 'run', 'model'), T.cpu) as BOPN;
  if (model.kind !== 'bopn' || !model.encoder.bert || model.c.pooling !== 'mean' || model.c.embeddingDropout !== 0.5) throw new Error(`reloaded: ${model.kind}, pooling ${model.c.pooling}, dropout ${model.c.embeddingDropout}`);
  model.eval();
  const b = model.batch([{ tokens: ['the', 'eu', 'unseenword'] }], T.cpu);
  const [grid] = await model.infer(b, {});
  if (grid.n !== 3 || grid.labels.length !== 2 * 9) throw new Error(`grid of ${grid.n} words, ${grid.labels.length} cells`);
  model.disposeBatch(b);
  // 40 positions: [CLS] + 38 sub-words fit alone, not after the 2 prompts.
  const long = { origin: 'long.jsonl:1', tokens: Array.from({ length: 38 }, () => 'the') };
  await assertThrows(() => model.checkLengths([long]), /long\.jsonl:1: 39 sub-words, more than BERT's 38 positions \(40 less the model's 2 prompt vectors\)/);
  model.dispose();
});

s.run();
