/**
 * End to end: DiffusionNER training sentences/s at B = 8 (forward, matching, backward, clipping, AdamW)
 * and inference sentences/s at γ = 1, 5, 10 × K_eval = 60, 150, in two configurations: the scratch encoder
 * with H = 256, and a BERT-base-sized encoder (random weights, 12 × 768, short sentences). Then BOPN with
 * the model settings of configs/bopn-conll2003.json (scratch encoder H = 256, 2 BiLSTM layers, biaffine
 * 150, conv off, M = 4 types) and, not in --quick, of configs/bopn-genia.json (conv on, M = 5, longer
 * sentences): training sentences/s at B = 16 (forward, label-smoothed cross-entropy, backward, clipping,
 * AdamW with the config's clipping and label smoothing) and inference sentences/s (model.infer) at
 * B = 16, and at B = 8 on DiffusionNER's scratch eval batch (the same 8 sentences), so that the row
 * "<BOPN case>: inference B=8 / DiffusionNER scratch H=256 gamma=5 K=60 (same sentences)" (unit ×)
 * compares the two models in one run, ours and PyTorch's each. Then BINDER with the model settings of
 * configs/binder-conll2003.json (scratch text and type encoders H = 256, 2 BiLSTM layers, character CNNs,
 * d = 128, folded span projection, M = 4 types read through the built-in CoNLL-2003 descriptions, the
 * model made by the registry's create as the trainer makes it, so its vocabulary holds the descriptions'
 * words): training sentences/s at the config's batch, B = 8 (forward, the mention and threshold losses
 * with the train section's weights and mask tiny, backward, clipping, AdamW with the trainer's groups:
 * the encoders at lr × encoderLrScale), inference sentences/s (model.infer) at B = 8 (DiffusionNER's
 * scratch eval batch, with its row "<BINDER case>: inference B=8 / DiffusionNER ..." as BOPN's) and at
 * the config's eval batch, B = 16 (BOPN's B = 16 eval batch).
 * Peak memory of each case. The PyTorch peer (bench/peers/torch_e2e.py: DiffusionNER from
 * diffusionner_torch.py, forward parity tested by test/ner/torch-parity.test.ts; BOPN from bopn_torch.py
 * and BINDER from binder_torch.py, the models of the parity fixtures of test/models/bopn/torch-parity.test.ts
 * and test/models/binder/torch-parity.test.ts, in float32; same sizes, settings and batches, BINDER's
 * with the same description word ids) runs in the same invocation when torch is installed, on the CPU
 * here and as CUDA eager on a GPU machine, and the ratio ours / PyTorch is recorded. --quick: the
 * DiffusionNER scratch configuration at γ = 5, K = 60, the CoNLL-like BOPN case and the BINDER case, each
 * with few repetitions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as T from '../../src/index.js';
import { CharCNN } from '../../src/nn/char-cnn.js';
import { AdamW, clipGradNorm, decayGroups } from '../../src/nn/optim.js';
import { DiffusionNER, type ModelConfig } from '../../src/models/diffusionner/model.js';
import { BOPN } from '../../src/models/bopn/model.js';
import type { BopnConfig } from '../../src/models/bopn/config.js';
import type { Binder } from '../../src/models/binder/model.js';
import { LOSS_DEFAULTS as BINDER_LOSS_DEFAULTS } from '../../src/models/binder/config.js';
import { descriptionTokens } from '../../src/models/binder/descriptions.js';
import { factory } from '../../src/models/index.js';
import type { NerModel } from '../../src/ner/contract.js';
import { benchDir, type PeerRow, runPeer, type SuiteContext } from '../common.js';

const B = 8;
interface Case { name: string; config: ModelConfig; peer: Record<string, unknown>; lengths: [number, number]; trainSteps: number; inferReps: number; inference: [number, number][] }
type Sent = { tokens: string[]; entities: { start: number; end: number; type: string }[] };

function sentences(rng: T.RNG, n: number, [lo, hi]: [number, number], vocab: number, types: string[]): Sent[] {
  return Array.from({ length: n }, () => {
    const m = lo + rng.int(hi - lo + 1);
    const tokens = Array.from({ length: m }, () => `w${rng.int(vocab)}`);
    const entities: Sent['entities'] = [];
    for (let e = 0, ne = 1 + rng.int(3); e < ne; e++) {
      const a = rng.int(m), len = 1 + rng.int(Math.min(3, m - a));
      if (entities.every((x) => a + len <= x.start || a >= x.end)) entities.push({ start: a, end: a + len, type: types[rng.int(types.length)] });
    }
    return { tokens, entities };
  });
}

async function timed(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / 1000 / reps;
}

/** A batch for a peer: word ids (and character ids) exactly as our batch() makes them (without word dropout), and the entities. */
function peerBatch(bs: Sent[], vocab: ReadonlyMap<string, number>, chars: ReadonlyMap<string, number> | null, types: string[], maxChars = 20) {
  const M = Math.max(...bs.map((x) => x.tokens.length));
  const c = chars ? CharCNN.indices(bs.flatMap((x) => Array.from({ length: M }, (_, j) => x.tokens[j] ?? '')), chars, maxChars) : null;
  return {
    lengths: bs.map((x) => x.tokens.length), ids: bs.map((x) => x.tokens.map((w) => vocab.get(w) ?? 1)),
    char_ids: c ? Array.from(c.ids) : null, char_mask: c ? Array.from(c.mask) : null,
    // DiffusionNER's gold: (left, right inclusive, type id from 1); BOPN's entities: (start, end inclusive, type index).
    gold: bs.map((x) => x.entities.map((e) => [e.start, e.end - 1, types.indexOf(e.type) + 1])),
    entities: bs.map((x) => x.entities.map((e) => [e.start, e.end - 1, types.indexOf(e.type)])),
  };
}

type Mine = (name: string, value: number, unit: string) => void;

export async function run(ctx: SuiteContext): Promise<void> {
  const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
  const types = ['PER', 'LOC', 'ORG', 'MISC'];
  const charList = ['<pad>', '<unk>', 'w', ...'0123456789'];
  const charIndex = new Map(charList.map((ch, i) => [ch, i]));
  const wordVocab = 12000, bertVocab = 30522;
  const allInference: [number, number][] = [[1, 60], [5, 60], [10, 60], [1, 150], [5, 150], [10, 150]];
  // A GPU runs a repetition in tens of milliseconds, and its host's timings wander: more repetitions there.
  const reps = (n: number) => (dev.backend.report.isSoftware ? n : 4 * n);
  const cases: Case[] = [{
    name: 'scratch H=256',
    config: { vocab: ['[PAD]', '[UNK]', ...Array.from({ length: wordVocab }, (_, i) => `w${i}`)], chars: charList, types, hidden: 256, embedding: 128,
      charEmbedding: 32, charFilters: 50, wordDropout: 0.05, lstmLayers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, schedule: 'linear' },
    peer: { vocab: wordVocab + 2, types: 4, hidden: 256, embedding: 128, chars: charList.length, char_embedding: 32, char_filters: 50, lstm_layers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1 },
    lengths: [5, 30], trainSteps: ctx.quick ? 3 : reps(12), inferReps: ctx.quick ? 1 : reps(3), inference: ctx.quick ? [[5, 60]] : allInference,
  }];
  if (!ctx.quick) {
    const bert = { vocab_size: bertVocab, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 };
    cases.push({
      name: 'BERT-base-sized (random weights) H=768',
      config: { encoder: 'bert', bert, vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: bertVocab - 5 }, (_, i) => `w${i}`)], types,
        hidden: 768, lstmLayers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, schedule: 'linear' },
      peer: { vocab: bertVocab, types: 4, hidden: 768, lstm_layers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, bert: { hidden: 768, layers: 12, heads: 12, intermediate: 3072 } },
      lengths: [6, 14], trainSteps: reps(2), inferReps: reps(1), inference: allInference,
    });
  }
  const peerJob: Record<string, unknown>[] = [];
  const ours = new Map<string, number>();
  const mine: Mine = (name, value, unit) => { ours.set(name, value); ctx.record({ name, variant: 'ours', device: 'webgpu', value, unit }); };
  /** DiffusionNER's scratch eval batch: BOPN's B = 8 inference reads the same sentences. */
  let dnerEval: Sent[] | null = null;
  for (const c of cases) {
    const rng = new T.RNG(3);
    const vocabSize = c.config.encoder === 'bert' ? bertVocab - 5 : wordVocab;
    const batches = Array.from({ length: 3 }, () => sentences(rng, B, c.lengths, vocabSize, types));
    if (c === cases[0]) dnerEval = batches[0];
    dev.backend.pool.resetPeak();
    const model = new DiffusionNER(c.config, { device: dev, rng: new T.RNG(1) });
    const opt = new AdamW(decayGroups(model.namedParameters(), 0.01), { lr: 1e-4, eps: 1e-6, correctBias: false, decayAfter: true });
    let k = 0;
    const step = async () => {
      const b = model.batch(batches[k++ % batches.length], dev);
      await model.lossAndBackward(b);
      DiffusionNER.disposeBatch(b);
      opt.step((await clipGradNorm(model.parameters(), 1)).scale);
      opt.zeroGrad();
    };
    model.train();
    const trainSecs = await timed(step, c.trainSteps);
    mine(`${c.name}: training B=${B}`, B / trainSecs, 'sentences/s');
    model.eval();
    const evalBatch = model.batch(batches[0], dev);
    for (const [g, K] of c.inference) {
      const secs = await timed(() => model.predict(evalBatch, { steps: g, proposals: K, rng: new T.RNG(0) }), c.inferReps);
      mine(`${c.name}: inference B=${B} gamma=${g} K=${K}`, B / secs, 'sentences/s');
    }
    mine(`${c.name}: peak memory`, dev.backend.pool.counters.peakLiveBytes / 2 ** 20, 'MiB (live GPU buffers)');
    DiffusionNER.disposeBatch(evalBatch);
    // The same batches for the peer: word ids (and character ids) exactly as our batch() makes them.
    const index = new Map(c.config.vocab.map((w, i) => [w, i]));
    peerJob.push({
      name: c.name, model: c.peer, trainSteps: c.trainSteps, inferReps: c.inferReps, inference: c.inference,
      batches: batches.map((bs) => peerBatch(bs, index, c.config.encoder === 'bert' ? null : charIndex, types)),
    });
    opt.dispose();
    model.dispose();
  }

  // BOPN: the model settings of the configs, the scratch encoder's vocabulary and characters as above.
  const wordList = ['[PAD]', '[UNK]', ...Array.from({ length: wordVocab }, (_, i) => `w${i}`)];
  const bopnCases: BopnCase[] = [{
    name: 'BOPN CoNLL-like H=256 M=4', configFile: 'bopn-conll2003.json', types, lengths: [5, 30], sameAsDiffusionNER: true,
    trainSteps: ctx.quick ? 3 : reps(8), inferReps: ctx.quick ? 1 : reps(3),
  }];
  if (!ctx.quick) {
    bopnCases.push({
      name: 'BOPN GENIA-like H=256 M=5 conv', configFile: 'bopn-genia.json', types: ['DNA', 'RNA', 'cell_line', 'cell_type', 'protein'],
      lengths: [10, 50], sameAsDiffusionNER: false, trainSteps: reps(4), inferReps: reps(2),
    });
  }
  for (const c of bopnCases) peerJob.push(await bopnCase(dev, c, wordList, charList, dnerEval, mine));
  // BINDER: the CoNLL-2003 config's model and train sections, the same words and characters (the model adds its descriptions').
  const binderCases: BinderCase[] = [{
    name: 'BINDER CoNLL-like H=256 M=4', configFile: 'binder-conll2003.json', types, lengths: [5, 30],
    trainSteps: ctx.quick ? 3 : reps(8), inferReps: ctx.quick ? 1 : reps(3),
  }];
  for (const c of binderCases) peerJob.push(await binderCase(dev, c, wordList, charList, dnerEval, mine));

  const peer = runPeer<(PeerRow & { name: string; value: number; unit: string })[]>('torch_e2e.py', { cases: peerJob }, 'PyTorch peer', 1_800_000);
  const theirs = new Map((peer ?? []).map((p) => [p.name, p.value]));
  for (const p of peer ?? []) {
    ctx.record({ name: p.name, variant: 'pytorch', device: p.label, value: p.value, unit: p.unit });
  }
  for (const p of (peer ?? []).filter((x) => x.unit === 'sentences/s')) {
    const o = ours.get(p.name);
    if (o) ctx.record({ name: p.name, variant: 'ours / pytorch', device: `webgpu vs ${p.device}`, value: o / p.value, unit: '×' });
  }
  // BOPN's inference rate over DiffusionNER's at γ = 5, K = 60: the same 8 sentences, each model in this run.
  const dner = `${cases[0].name}: inference B=${B} gamma=5 K=60`;
  // BINDER's likewise: its B = 8 eval batch is DiffusionNER's.
  for (const c of [...bopnCases.filter((x) => x.sameAsDiffusionNER), ...binderCases]) {
    const name = `${c.name}: inference B=${B} / DiffusionNER ${cases[0].name} gamma=5 K=60 (same sentences)`;
    const rowName = `${c.name}: inference B=${B}`;
    const pair = (m: Map<string, number>) => (m.has(rowName) && m.has(dner) ? m.get(rowName)! / m.get(dner)! : null);
    const o = pair(ours), t = pair(theirs);
    if (o !== null) ctx.record({ name, variant: 'ours', device: 'webgpu', value: o, unit: '×' });
    if (t !== null) ctx.record({ name, variant: 'pytorch', device: peer![0].device, value: t, unit: '×' });
  }
}

interface BopnCase {
  name: string;
  /** configs/<file>: its model section (and train.labelSmoothing, train.maxGradNorm) is the case's. */
  configFile: string;
  types: string[];
  lengths: [number, number];
  /** Inference at B = 8 on DiffusionNER's scratch eval batch too, for the BOPN / DiffusionNER row. */
  sameAsDiffusionNER: boolean;
  trainSteps: number;
  inferReps: number;
}

const BOPN_B = 16;

/**
 * Times a grid model (BOPN, BINDER): training steps over `batches` (forward, loss, backward, clipping,
 * AdamW) and inference on each of `evalSets`, then records its peak memory. Every batch must be one part,
 * as the peer takes it.
 */
async function timeGridModel(dev: T.GpuDevice, name: string, model: NerModel<{ parts: unknown[] }>, opt: AdamW, batches: Sent[][], evalSets: Sent[][],
  weights: Record<string, unknown>, maxGradNorm: number, reps: { trainSteps: number; inferReps: number }, mine: Mine): Promise<void> {
  const onePart = (b: { parts: unknown[] }) => {
    if (b.parts.length !== 1) throw new Error(`${name}: a batch in ${b.parts.length} parts (the peer takes one)`);
    return b;
  };
  let k = 0;
  const step = async () => {
    const b = onePart(model.batch(batches[k++ % batches.length], dev));
    await model.lossAndBackward(b, weights);
    model.disposeBatch(b);
    opt.step((await clipGradNorm(model.parameters(), maxGradNorm)).scale);
    opt.zeroGrad();
  };
  model.train();
  const trainSecs = await timed(step, reps.trainSteps);
  mine(`${name}: training B=${batches[0].length}`, batches[0].length / trainSecs, 'sentences/s');
  model.eval();
  for (const sents of evalSets) {
    const b = onePart(model.batch(sents, dev));
    const secs = await timed(() => model.infer(b, {}, new T.RNG(0)), reps.inferReps);
    mine(`${name}: inference B=${sents.length}`, sents.length / secs, 'sentences/s');
    model.disposeBatch(b);
  }
  mine(`${name}: peak memory`, dev.backend.pool.counters.peakLiveBytes / 2 ** 20, 'MiB (live GPU buffers)');
}

/** Times one BOPN case (ours) and returns its job for the peer. */
async function bopnCase(dev: T.GpuDevice, c: BopnCase, vocab: string[], chars: string[], dnerEval: Sent[] | null, mine: Mine): Promise<Record<string, unknown>> {
  const file = JSON.parse(readFileSync(join(benchDir, '..', 'configs', c.configFile), 'utf8')) as { model: Record<string, unknown>; train: Record<string, number> };
  const { kind: _kind, minFreq: _minFreq, ...settings } = file.model;
  const labelSmoothing = file.train.labelSmoothing ?? 0, maxGradNorm = file.train.maxGradNorm ?? 1, lr = file.train.lr ?? 1e-3;
  const rng = new T.RNG(3);
  // With the CoNLL-like lengths, the first 8 sentences of the first batch are DiffusionNER's scratch eval batch (the same RNG draws).
  const batches = Array.from({ length: 3 }, () => sentences(rng, BOPN_B, c.lengths, vocab.length - 2, c.types));
  const small = c.sameAsDiffusionNER ? dnerEval ?? batches[0].slice(0, B) : null;
  dev.backend.pool.resetPeak();
  const model = new BOPN({ ...(settings as Partial<BopnConfig>), vocab, chars, types: c.types } as BopnConfig, { device: dev, rng: new T.RNG(1) });
  const opt = new AdamW(decayGroups(model.namedParameters(), 0), { lr, eps: 1e-6, correctBias: true, decayAfter: true });
  const evalSets = [batches[0], ...(small ? [small] : [])];
  await timeGridModel(dev, c.name, model, opt, batches, evalSets, { labelSmoothing }, maxGradNorm, c, mine);
  const mc = model.c;
  const peer = {
    vocab: vocab.length, types: c.types.length, hidden: mc.hidden, embedding: mc.embedding, chars: chars.length, char_embedding: mc.charEmbedding,
    char_filters: mc.charFilters, lstm_layers: mc.lstmLayers, dropout: mc.dropout, embedding_dropout: mc.embeddingDropout, word_dropout: mc.wordDropout,
    window: mc.window, biaffine: mc.biaffine, grid_embedding: mc.gridEmbedding, out_dropout: mc.outDropout, conv: mc.conv, conv_dropout: mc.convDropout,
    second_branch: mc.secondBranch,
  };
  opt.dispose();
  model.dispose();
  const index = new Map(vocab.map((w, i) => [w, i])), charIndex = new Map(chars.map((ch, i) => [ch, i]));
  const job = (bs: Sent[]) => peerBatch(bs, index, charIndex, c.types, mc.maxChars);
  return {
    kind: 'bopn', name: c.name, model: peer, trainSteps: c.trainSteps, inferReps: c.inferReps, labelSmoothing, maxGradNorm, lr,
    batches: batches.map(job), evalBatches: evalSets.map(job),
  };
}

interface BinderCase {
  name: string;
  /** configs/<file>: its model section (less minFreq: the vocabulary is given), its train section's batch, rates, clipping and loss settings and its eval batch are the case's. */
  configFile: string;
  types: string[];
  lengths: [number, number];
  trainSteps: number;
  inferReps: number;
}

/**
 * Times one BINDER case (ours) and returns its job for the peer. The sentences are the same RNG draws as
 * BOPN's: the first 8 are DiffusionNER's scratch eval batch (BINDER's B = 8 eval batch), the first 16
 * BOPN's B = 16 eval batch (BINDER's at the config's eval batch), and the training batches the first 24
 * in threes of the config's batch.
 */
async function binderCase(dev: T.GpuDevice, c: BinderCase, vocab: string[], chars: string[], dnerEval: Sent[] | null, mine: Mine): Promise<Record<string, unknown>> {
  const file = JSON.parse(readFileSync(join(benchDir, '..', 'configs', c.configFile), 'utf8')) as
    { model: Record<string, unknown>; train: Record<string, number | boolean>; eval: { batch?: number } };
  // minFreq builds a vocabulary from training data (newEncoderConfig): here the vocabulary is given.
  const { minFreq: _minFreq, ...settings } = file.model;
  const train = file.train as Record<string, number> & { thresholdLoss?: boolean; correctBias?: boolean };
  const batchSize = train.batch ?? B, evalSize = file.eval.batch ?? 16;
  const lr = train.lr ?? 1e-3, encoderLrScale = train.encoderLrScale ?? 1, weightDecay = train.weightDecay ?? 0, maxGradNorm = train.maxGradNorm ?? 1;
  const loss = { ...BINDER_LOSS_DEFAULTS, ...Object.fromEntries(Object.entries(train).filter(([k]) => k in BINDER_LOSS_DEFAULTS)) };
  const rng = new T.RNG(3);
  const pool = sentences(rng, Math.max(3 * batchSize, evalSize, B), c.lengths, vocab.length - 2, c.types);
  const batches = Array.from({ length: 3 }, (_, i) => pool.slice(i * batchSize, (i + 1) * batchSize));
  dev.backend.pool.resetPeak();
  // As the trainer makes a new model (src/ner/train/setup.ts): the registry's create, the types file's descriptions (none: the built-in CoNLL-2003 set).
  const model = factory.create({ ...settings, vocab, chars, types: c.types }, dev, new T.RNG(1), { descriptions: {} }) as Binder;
  if (model.kind !== 'binder') throw new Error(`${c.configFile}: a ${model.kind} model, not binder`);
  // The trainer's groups: the encoders' parameters at lr × encoderLrScale.
  const groups = model.parameterGroups().flatMap((g) => decayGroups(g.parameters, weightDecay).map((d) => (g.name === 'encoder' ? { ...d, lrScale: encoderLrScale } : d)))
    .filter((g) => g.params.length);
  const opt = new AdamW(groups, { lr, eps: 1e-6, correctBias: train.correctBias ?? false, decayAfter: true });
  const evalSets = [dnerEval ?? pool.slice(0, B), pool.slice(0, evalSize)];
  await timeGridModel(dev, c.name, model, opt, batches, evalSets, file.train, maxGradNorm, c, mine);
  const mc = model.c;
  const peer = {
    vocab: mc.vocab.length, types: c.types.length, hidden: mc.hidden, embedding: mc.embedding, chars: mc.chars.length, char_embedding: mc.charEmbedding,
    char_filters: mc.charFilters, lstm_layers: mc.lstmLayers, dropout: mc.dropout, embedding_dropout: mc.embeddingDropout, word_dropout: mc.wordDropout,
    position_features: mc.positionFeatures, linear_size: mc.linearSize, linear_dropout: mc.linearDropout, span_widths: mc.spanWidths,
    max_span_width: mc.maxSpanWidth, type_inputs: mc.typeInputs, tied_embeddings: mc.tiedEmbeddings, clamp_temperature: mc.clampTemperature, span_fold: mc.spanFold,
  };
  // The descriptions as the type encoder reads them (Binder's descriptionInputs).
  const descriptions: Sent[] = (mc.descriptions ?? []).map((d) => ({ tokens: descriptionTokens(d, mc.clitics), entities: [] }));
  const index = new Map(mc.vocab.map((w, i) => [w, i])), charIndex = new Map(mc.chars.map((ch, i) => [ch, i]));
  opt.dispose();
  model.dispose();
  const job = (bs: Sent[]) => peerBatch(bs, index, charIndex, c.types, mc.maxChars);
  return {
    kind: 'binder', name: c.name, model: peer, trainSteps: c.trainSteps, inferReps: c.inferReps, lr, encoderLrScale, weightDecay, maxGradNorm,
    maskTiny: loss.maskTiny, thresholdLoss: loss.thresholdLoss,
    weights: { mention: loss.mentionLossWeight, threshold: loss.thresholdLossWeight, start: loss.startLossWeight, end: loss.endLossWeight, span: loss.spanLossWeight },
    batches: batches.map(job), evalBatches: evalSets.map(job), descriptions: job(descriptions),
  };
}
