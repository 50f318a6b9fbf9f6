/**
 * The BERT encoder path (spec §1.2-1.3): a Hugging Face folder is loaded into DiffusionNER, sub-words are
 * pooled to words, BERT stays frozen for splitEpoch epochs under the two-stage schedule and is trained
 * after; the model folder reloads with its BERT and tags text.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { readFileSync } from 'node:fs';
import { assertThrows, loadDiffusionNER } from '../helpers.js';

const s = suite('DiffusionNER with the BERT encoder');
const fixture = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'tiny-bert');
const dir = mkdtempSync(join(tmpdir(), 'dner-bert-'));

s('loads a BERT folder, keeps it frozen for splitEpoch epochs, then trains it; the model folder reloads', async () => {
  const sents = [
    { tokens: ['the', 'eu', 'rejects', 'german', 'call'], entities: [{ start: 1, end: 2, type: 'ORG' }, { start: 3, end: 4, type: 'MISC' }] },
    { tokens: ['boycott', 'british', 'lamb'], entities: [{ start: 1, end: 2, type: 'MISC' }] },
    { tokens: ['il', '-', '2', 'gene', 'expression'], entities: [{ start: 0, end: 3, type: 'ORG' }] },
    { tokens: ['the', 'cells', 'call', 'german'], entities: [{ start: 3, end: 4, type: 'MISC' }] },
  ];
  writeFileSync(join(dir, 'd.jsonl'), sents.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const cfg = (maxSteps?: number): TrainConfig => ({
    data: { train: join(dir, 'd.jsonl'), dev: join(dir, 'd.jsonl') },
    model: { encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8, dropout: 0.1 },
    train: { epochs: 2, batch: 2, lr: 1e-3, splitEpoch: 1, maxSteps, checkpointEvery: 100 },
    eval: { mode: 'flat', proposals: 4 },
    out: join(dir, 'run'),
  });
  const pretrained = readSafetensors(join(fixture, 'model.safetensors'));
  const bertWeight = (file: string) => readSafetensors(file).get('bert.encoder.layer.0.attention.self.query.weight')!.data;
  const original = (pretrained.get('encoder.layer.0.attention.self.query.weight') ?? pretrained.get('bert.encoder.layer.0.attention.self.query.weight'))!.data;
  const lines: string[] = [];
  await train(cfg(2), T.cpu, { log: (l) => lines.push(l), progress: false }); // the first epoch: 2 steps
  const ckpt = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint.json'), 'utf8')).checkpoint as string;
  const afterStageOne = bertWeight(join(dir, 'run', ckpt, 'model.safetensors'));
  if (Array.from(afterStageOne).some((v, i) => v !== original[i])) throw new Error('BERT changed while frozen');
  // The first run stopped at maxSteps 2: going on to the whole schedule re-sizes it.
  await train(cfg(), T.cpu, { log: (l) => lines.push(l), progress: false, resume: true, reschedule: true });
  if (!lines.some((l) => /epoch 2: BERT unfrozen/.test(l))) throw new Error(`no unfreeze in the log:\n${lines.join('\n')}`);
  const ckpt2 = JSON.parse(readFileSync(join(dir, 'run', 'checkpoint.json'), 'utf8')).checkpoint as string;
  const afterStageTwo = bertWeight(join(dir, 'run', ckpt2, 'model.safetensors'));
  if (!Array.from(afterStageTwo).some((v, i) => v !== original[i])) throw new Error('BERT did not train after splitEpoch');
  const model = await loadDiffusionNER(join(dir, 'run', 'model'), T.cpu);
  if (!model.encoder.bert || model.c.encoder !== 'bert') throw new Error('reloaded model has no BERT');
  // H_S is the BiLSTM output alone with BERT (spec §1.3): no position features unless asked, and the folder says so.
  const folderConfig = JSON.parse(readFileSync(join(dir, 'run', 'model', 'config.json'), 'utf8'));
  if (model.c.positionFeatures !== false || folderConfig.positionFeatures !== false) throw new Error(`position features with BERT: ${model.c.positionFeatures}, folder ${folderConfig.positionFeatures}`);
  // A folder written before the choice was recorded had them (every model did then), and loads so.
  delete folderConfig.positionFeatures;
  writeFileSync(join(dir, 'run', 'model', 'config.json'), JSON.stringify(folderConfig));
  const legacy = await loadDiffusionNER(join(dir, 'run', 'model'), T.cpu);
  if (legacy.c.positionFeatures !== true) throw new Error('a folder without positionFeatures must load with them');
  legacy.dispose();
  model.eval();
  const b = model.batch([{ tokens: ['the', 'eu', 'unseenword'], entities: [] }], T.cpu);
  if (b.pieces!.spans[0].length !== 3) throw new Error('sub-word spans');
  await model.predict(b, { steps: 2, proposals: 4 });
  model.dispose();
});

s('a sentence longer than BERT\'s positions is refused before the first step, naming its file and line', async () => {
  const long = { tokens: Array.from({ length: 45 }, () => 'the'), entities: [] };
  writeFileSync(join(dir, 'ok.jsonl'), JSON.stringify({ tokens: ['the', 'eu'], entities: [{ start: 1, end: 2, type: 'ORG' }] }) + '\n');
  writeFileSync(join(dir, 'long.jsonl'), [{ tokens: ['the', 'eu'], entities: [{ start: 1, end: 2, type: 'ORG' }] }, long].map((x) => JSON.stringify(x)).join('\n') + '\n');
  let steps = 0;
  const cfg: TrainConfig = {
    data: { train: join(dir, 'ok.jsonl'), dev: join(dir, 'long.jsonl') },
    model: { encoder: 'bert', bertPath: fixture, lowercase: true, hidden: 8, lstmLayers: 1, proposals: 4, heads: 2, ffn: 8 },
    train: { epochs: 1, batch: 2, lr: 1e-3 }, eval: { mode: 'flat', proposals: 4 }, out: join(dir, 'long-run'),
  };
  await assertThrows(() => train(cfg, T.cpu, { log: () => {}, progress: false, beforeStep: () => { steps++; } }), /long\.jsonl:2: 46 sub-words, more than BERT's 40 positions/);
  if (steps !== 0) throw new Error(`${steps} steps ran before the refusal`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
