/**
 * Length-bucketed training batches (train.lengthBuckets, src/ner/train/buckets.ts): the epoch order is a
 * permutation whose batches (consecutive slices of `batch`) each come from one pool sorted by length,
 * only the last batch partial; a seed gives one order; 0 is the trainer's plain shuffle, rng calls
 * included; bucketing pads less on skewed lengths; and a bucketed run resumes exactly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { train, type TrainConfig } from '../../src/models/index.js';
import { epochOrder } from '../../src/ner/train/buckets.js';
import { readCheckpoint } from '../../src/ner/train/checkpoint.js';
import { RNG } from '../../src/tensor/random.js';
import { assertProperty } from '../helpers.js';

const s = suite('length-bucketed training batches');

/** Sentence lengths, mostly short with a long tail (log-normal, 1..~400 words), drawn from a seed. */
const skewedLengths = (seed: number, n: number) => {
  const rng = new RNG(seed);
  return Array.from({ length: n }, () => Math.max(1, Math.round(Math.exp(2.3 + 1.1 * rng.normal()))));
};
const chunks = <X>(xs: readonly X[], size: number) => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));
/** What a batch costs in padding: its size times its longest sentence squared (attention-sized cells), summed over the epoch. */
const paddedCells = (order: readonly number[], lengths: readonly number[], batch: number) =>
  chunks(order, batch).reduce((sum, b) => sum + b.length * Math.max(...b.map((i) => lengths[i])) ** 2, 0);

const cases = fc.tuple(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1e6 }));

s('the order is a permutation, and each batch is a run of one pool sorted by length; only the last batch is partial', async () => {
  await assertProperty([cases], async ([lengthSeed, n, batch, buckets, seed]) => {
    const lengths = skewedLengths(lengthSeed, n);
    const order = epochOrder(lengths, batch, buckets, new RNG(seed));
    if (order.length !== n || [...order].sort((a, b) => a - b).some((x, i) => x !== i)) throw new Error(`not a permutation of 0..${n - 1}: ${order}`);
    const batches = chunks(order, batch);
    if (batches.slice(0, -1).some((b) => b.length !== batch)) throw new Error('a partial batch before the last');
    // The pools: the same shuffle the function starts with, cut every buckets·batch, each stably sorted by length.
    const shuffled = new RNG(seed).shuffle(lengths.map((_, i) => i));
    const runs = chunks(shuffled, buckets * batch).flatMap((pool) => chunks([...pool].sort((a, b) => lengths[a] - lengths[b]), batch));
    const key = (b: number[]) => b.join(',');
    const want = new Map(runs.map((b) => [key(b), b]));
    for (const b of batches) {
      if (!want.delete(key(b))) throw new Error(`batch ${key(b)} is not a run of a sorted pool`);
      if (b.some((x, i) => i > 0 && lengths[b[i - 1]] > lengths[x])) throw new Error(`batch ${key(b)} is not sorted by length`);
    }
    if (want.size) throw new Error(`${want.size} batches of the pools are missing`);
  }, 200);
});

s('one seed gives one order; lengthBuckets 0 is the plain shuffle, with the same rng calls', async () => {
  await assertProperty([cases], async ([lengthSeed, n, batch, buckets, seed]) => {
    const lengths = skewedLengths(lengthSeed, n);
    const [a, b] = [epochOrder(lengths, batch, buckets, new RNG(seed)), epochOrder(lengths, batch, buckets, new RNG(seed))];
    if (a.join() !== b.join()) throw new Error('the same seed gave two orders');
    const plainRng = new RNG(seed), offRng = new RNG(seed);
    const plain = plainRng.shuffle(lengths.map((_, i) => i));
    if (epochOrder(lengths, batch, 0, offRng).join() !== plain.join()) throw new Error('lengthBuckets 0 differs from the plain shuffle');
    if (JSON.stringify(offRng.state) !== JSON.stringify(plainRng.state)) throw new Error('lengthBuckets 0 drew other random numbers than the plain shuffle');
  }, 200);
});

s('on skewed lengths, bucketing pads less: fewer batch size × longest² cells over four epochs', async () => {
  const arbs = [fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 2, max: 16 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 1e6 }), fc.nat()] as const;
  await assertProperty([...arbs], async (lengthSeed, batch, buckets, seed, extra) => {
    // Batches of two or more (a batch of one pads nothing), at least four pools, the last one possibly short.
    const lengths = skewedLengths(lengthSeed, 4 * buckets * batch + (extra % (buckets * batch)));
    // Each epoch starts from the same shuffle either way (bucketing draws more numbers, so one stream would drift apart).
    const cells = (n: number) => [0, 1, 2, 3].reduce((sum, e) => sum + paddedCells(epochOrder(lengths, batch, n, new RNG(seed + e)), lengths, batch), 0);
    const [plain, bucketed] = [cells(0), cells(buckets)];
    if (!(bucketed < plain)) throw new Error(`bucketed ${bucketed} padded cells, plain ${plain} (batch ${batch}, lengthBuckets ${buckets}, ${lengths.length} sentences)`);
  }, 100);
});

s('a small example: pools of 4 sorted, batches of 2 shuffled, the partial batch last', () => {
  const lengths = [5, 1, 4, 2, 3, 9, 7];
  const order = epochOrder(lengths, 2, 2, new RNG(3));
  const batches = chunks(order, 2).map((b) => b.map((i) => lengths[i]));
  if (batches.at(-1)!.length !== 1 || batches.slice(0, -1).some((b) => b[0] > b[1])) throw new Error(JSON.stringify(batches));
});

const dir = mkdtempSync(join(tmpdir(), 'dner-buckets-'));
// 11 sentences of 2..12 words: batches of 2 in pools of 4, six batches an epoch, the last of one sentence.
const sents = Array.from({ length: 11 }, (_, i) => ({ tokens: ['Paris', ...Array.from({ length: 1 + ((i * 7) % 11) }, (_, j) => `w${j % 3}`)], entities: [{ start: 0, end: 1, type: 'LOC' }] }));
writeFileSync(join(dir, 'd.jsonl'), sents.map((x) => JSON.stringify(x)).join('\n') + '\n');
const cfg = (out: string): TrainConfig => ({
  data: { train: join(dir, 'd.jsonl') },
  model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0 },
  train: { epochs: 2, batch: 2, lr: 1e-3, checkpointEvery: 1, lengthBuckets: 2 }, eval: { mode: 'flat', proposals: 3 }, out: join(dir, out),
});
/** The last record of each step in steps.jsonl (a resumed run records again from its checkpoint). */
const stepRecords = (out: string) => {
  const byStep = new Map<number, string>();
  for (const l of readFileSync(join(dir, out, 'steps.jsonl'), 'utf8').trim().split('\n')) byStep.set(JSON.parse(l).step, l);
  return [...byStep.values()];
};

s('a bucketed run logs it once, keeps ceil(n / batch) steps an epoch, and resumes from a mid-epoch checkpoint exactly', async () => {
  const lines: string[] = [];
  await train(cfg('whole'), T.cpu, { log: (l) => lines.push(l), progress: false });
  const said = lines.filter((l) => l.includes('length-bucketed'));
  if (said.length !== 1 || !said[0].includes('pools of 4')) throw new Error(`log:\n${lines.join('\n')}`);
  const whole = stepRecords('whole');
  if (whole.length !== 12) throw new Error(`${whole.length} steps in two epochs, expected 12`);
  // A crash before step 4: the checkpoint of step 3 is mid-epoch, with the epoch's bucketed order.
  await train(cfg('crashed'), T.cpu, { log: () => {}, progress: false, beforeStep: (step) => { if (step === 4) throw new Error('crash'); } }).then(
    () => { throw new Error('the run did not crash'); }, (e: Error) => { if (e.message !== 'crash') throw e; });
  const { state } = readCheckpoint(join(dir, 'crashed'));
  if (state.step !== 3 || state.next !== 6) throw new Error(`checkpoint at step ${state.step}, next ${state.next}`);
  const lengths = sents.map((x) => x.tokens.length);
  if (chunks(state.order, 2).some((b) => b.length === 2 && lengths[b[0]] > lengths[b[1]])) throw new Error(`the saved order is not bucketed: ${state.order}`);
  await train(cfg('crashed'), T.cpu, { log: () => {}, progress: false, resume: true });
  const resumed = stepRecords('crashed');
  if (resumed.join('\n') !== whole.join('\n')) throw new Error(`the resumed run's steps differ:\n${resumed.join('\n')}\nexpected:\n${whole.join('\n')}`);
});

s.after(() => rmSync(dir, { recursive: true, force: true }));
s.run();
