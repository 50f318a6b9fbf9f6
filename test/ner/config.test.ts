import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import { parseTrainConfig } from '../../src/models/index.js';
import { assertThrows } from '../helpers.js';

const s = suite('training configs');
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const shared = resolve(root, '..', 'shared', 'data');

s('every committed config is valid and reads ../shared/data', () => {
  const files = readdirSync(join(root, 'configs')).filter((f) => f.endsWith('.json'));
  for (const want of ['conll2003', 'genia', 'wnut17', 'ncbi_disease', 'resume']) {
    if (!files.includes(`${want}.json`)) throw new Error(`configs/${want}.json is missing`);
  }
  for (const f of files) {
    const path = join(root, 'configs', f);
    const cfg = parseTrainConfig(readFileSync(path, 'utf8'), path);
    // configs/[<kind>-]<set>[-<variant>].json (genia-traindev, bopn-genia) reads the same set's files; only variants may drop dev.
    const parts = f.replace('.json', '').split('-');
    if (parts[0] === cfg.model.kind) parts.shift();
    const [set, variant] = parts;
    const paths = [...[cfg.data.train].flat(), cfg.data.dev, cfg.data.test];
    if (!variant && (!cfg.data.dev || !cfg.data.test)) throw new Error(`${f}: data.dev and data.test are required`);
    for (const file of paths) {
      if (file !== undefined && !file.startsWith(join(shared, set))) throw new Error(`${f}: ${file} is not under ${join(shared, set)}`);
    }
  }
});

s('data.train may list several files; each relative path is read from the config file\'s folder', () => {
  const cfg = parseTrainConfig(JSON.stringify({ data: { train: ['a.jsonl', '/abs/b.jsonl'], dev: 'd.jsonl' }, model: { hidden: 8 }, train: { epochs: 1, batch: 2, lr: 1e-3 } }), '/cfgs/c.json');
  if (JSON.stringify(cfg.data) !== JSON.stringify({ train: ['/cfgs/a.jsonl', '/abs/b.jsonl'], dev: '/cfgs/d.jsonl' })) throw new Error(JSON.stringify(cfg.data));
});

s('train.lengthBuckets takes a whole number >= 0 (0, the default, is off)', () => {
  for (const n of [0, 1, 8]) {
    const cfg = parseTrainConfig(JSON.stringify({ data: { train: 't.jsonl' }, model: { hidden: 8 }, train: { epochs: 1, batch: 2, lr: 1e-3, lengthBuckets: n } }), 'c.json');
    if (cfg.train.lengthBuckets !== n) throw new Error(`lengthBuckets ${n} read as ${cfg.train.lengthBuckets}`);
  }
});

s('bad configs are rejected with one line naming the file and the field', async () => {
  const ok = { data: { train: 't.jsonl' }, model: { hidden: 8 }, train: { epochs: 1, batch: 2, lr: 1e-3 } };
  const bad: [unknown, RegExp][] = [
    ['{', /^c\.json: not valid JSON/],
    [{ ...ok, data: undefined }, /field 'data' is required/],
    [{ ...ok, model: { hidden: 7 } }, /field 'model.hidden' must be even/],
    [{ ...ok, model: { hidden: 8, heads: 3 } }, /field 'model.heads' must divide/],
    [{ ...ok, train: { epochs: 1, batch: 0, lr: 1e-3 } }, /field 'train.batch' must be a whole number >= 1, got 0/],
    [{ ...ok, train: { epochs: 1, batch: 2 } }, /field 'train.lr' is required/],
    [{ ...ok, train: { ...ok.train, lr: 'fast' } }, /field 'train.lr' must be a positive number, got "fast"/],
    [{ ...ok, train: { ...ok.train, lossClassWeight: 0 } }, /field 'train.lossClassWeight' must be a positive number, got 0/],
    [{ ...ok, eval: { mode: 'sideways' } }, /field 'eval.mode' must be one of flat, nested/],
    [{ ...ok, eval: { mode: 'flat', thresholds: [] } }, /field 'eval.thresholds' must be a non-empty list of numbers >= 0, got \[\]/],
    [{ ...ok, eval: { mode: 'flat', thresholds: [1, -2] } }, /field 'eval.thresholds' must be a non-empty list of numbers >= 0/],
    [{ ...ok, model: { hidden: 8, dropuot: 0.1 } }, /field 'model.dropuot' is not a known setting/],
    [{ ...ok, extra: 1 }, /field 'extra' is not a known section/],
    [{ ...ok, model: { hidden: 8, expansion: 'pad' } }, /field 'model.expansion' must be one of repeat, concat, random, got "pad"/],
    [{ ...ok, model: { hidden: 8, spanLayers: 0 } }, /field 'model.spanLayers' must be a whole number >= 1, got 0/],
    [{ ...ok, model: { hidden: 8, timeEmbedding: 'learned' } }, /field 'model.timeEmbedding' must be one of mlp, sinusoid/],
    [{ ...ok, model: { hidden: 8, slotEmbedding: 'no' } }, /field 'model.slotEmbedding' must be true or false/],
    [{ ...ok, train: { ...ok.train, correctBias: 1 } }, /field 'train.correctBias' must be true or false, got 1/],
    [{ ...ok, eval: { mode: 'nested', dedupe: 'yes' } }, /field 'eval.dedupe' must be true or false/],
    [{ ...ok, train: { ...ok.train, seed: 1.5 } }, /field 'train.seed' must be a whole number >= 0, got 1.5/],
    [{ ...ok, train: { ...ok.train, splitEpoch: 2.5 } }, /field 'train.splitEpoch' must be a whole number >= 0, got 2.5/],
    [{ ...ok, train: { ...ok.train, lengthBuckets: -1 } }, /^c\.json: field 'train\.lengthBuckets' must be a whole number >= 0, got -1$/],
    [{ ...ok, train: { ...ok.train, lengthBuckets: 1.5 } }, /^c\.json: field 'train\.lengthBuckets' must be a whole number >= 0, got 1\.5$/],
    [{ ...ok, model: { hidden: 8, encoder: 'bert', bertPath: 'b' }, train: { ...ok.train, encoderLrScale: 5 } }, /field 'train.encoderLrScale' is for the scratch encoder/],
    [{ ...ok, data: { train: [] } }, /field 'data.train' must be a file path or a non-empty list of file paths/],
    [{ ...ok, data: { train: ['a.jsonl', 3] } }, /field 'data.train' must be a file path or a non-empty list/],
    [{ ...ok, data: { train: 't.jsonl', dev: ['d.jsonl'] } }, /field 'data.dev' must be a file path$/],
  ];
  for (const [cfg, pattern] of bad) {
    await assertThrows(() => parseTrainConfig(typeof cfg === 'string' ? cfg : JSON.stringify(cfg), 'c.json'), pattern);
    try { parseTrainConfig(typeof cfg === 'string' ? cfg : JSON.stringify(cfg), 'c.json'); } catch (e) {
      if ((e as Error).message.includes('\n')) throw new Error(`not one line: ${(e as Error).message}`);
    }
  }
});

s('a misspelt key suggests the known one it most likely meant', async () => {
  const ok = { data: { train: 't.jsonl' }, model: { hidden: 8 }, train: { epochs: 1, batch: 2, lr: 1e-3 } };
  const cases: [unknown, RegExp][] = [
    // Not "train.lr is required": the misspelt key is the problem.
    [{ ...ok, train: { epochs: 1, batch: 2, lrr: 1e-3 } }, /^c\.json: field 'train\.lrr' is not a known setting \(did you mean 'lr'\?\)$/],
    [{ ...ok, train: { ...ok.train, max_steps: 20 } }, /field 'train\.max_steps' is not a known setting \(did you mean 'maxSteps'\?\)$/],
    [{ ...ok, train: { ...ok.train, epoch: 2, epochs: undefined } }, /field 'train\.epoch' is not a known setting \(did you mean 'epochs'\?\)$/],
    [{ ...ok, model: { hidden: 8, dropuot: 0.1 } }, /field 'model\.dropuot' is not a known setting \(did you mean 'dropout'\?\)$/],
    [{ ...ok, eval: { mode: 'flat', treshold: 2 } }, /field 'eval\.treshold' is not a known setting \(did you mean 'threshold'\?\)$/],
    [{ ...ok, trian: {} }, /field 'trian' is not a known section \(data, model, train, eval, out\) \(did you mean 'train'\?\)$/],
    [{ ...ok, data: { train: 't.jsonl', dve: 'd.jsonl' } }, /field 'data\.dve' is not one of train, dev, test, types \(did you mean 'dev'\?\)$/],
    // Nothing close: every known setting is listed instead.
    [{ ...ok, train: { ...ok.train, xy: 1 } }, /field 'train\.xy' is not a known setting \(known: epochs, batch, lr, /],
  ];
  for (const [cfg, pattern] of cases) await assertThrows(() => parseTrainConfig(JSON.stringify(cfg), 'c.json'), pattern);
});

s.run();
