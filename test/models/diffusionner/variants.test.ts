/**
 * The model's variants of the official code and the paper (spec §1.4.4, §1.11 items 7 and 11):
 * `expansion` repeat / concat / random (how N gold spans become the K noised rows and what the proposals
 * are matched against), `spanLayers`, `slotEmbedding`, `timeEmbedding` and the decoder's `dedupe`.
 */
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { spansToX0 } from '../../../src/diffusion/spans.js';
import { matchProposals, type GoldSpan } from '../../../src/models/diffusionner/criterion.js';
import { decodeSentence } from '../../../src/models/diffusionner/decode.js';
import { DiffusionNER, type ModelConfig } from '../../../src/models/diffusionner/model.js';
import { assertClose, assertThrows, DEVICES } from '../../helpers.js';

const s = suite('model variants: expansion strategies and span layers');
const K = 6, scale = 1.5;
const config = (o: Partial<ModelConfig> = {}): ModelConfig => ({
  vocab: ['<pad>', '<unk>', 'a', 'b', 'c'], types: ['PER', 'LOC'], hidden: 16, embedding: 8, lstmLayers: 1, proposals: K, heads: 2, ffn: 16,
  dropout: 0, scale, ...o,
});
const gold: GoldSpan[][] = [[{ left: 1, right: 2, type: 1 }, { left: 0, right: 0, type: 2 }], []];
const lengths = [4, 3];
const rowOf = (x0: Float32Array, s: number, i: number) => [x0[(s * K + i) * 2], x0[(s * K + i) * 2 + 1]];
const goldX0 = (g: GoldSpan[], M: number) => Array.from(spansToX0(g.map((x) => [x.left, x.right]), M, scale), Math.fround);

s('repeat (default): gold repeated cyclically to K and matched K to K; an empty sentence diffuses the whole-sentence span', () => {
  const model = new DiffusionNER(config(), { device: T.cpu, rng: new T.RNG(1) });
  const { x0v, rows } = model.expandGold(gold, lengths);
  if (rows[0].length !== K || rows[0][2] !== gold[0][0] || rows[0][3] !== gold[0][1] || rows[1].length !== 0) throw new Error(JSON.stringify(rows));
  const g = goldX0(gold[0], 4);
  for (let i = 0; i < K; i++) assertClose(rowOf(x0v, 0, i), g.slice(2 * (i % 2), 2 * (i % 2) + 2), { atol: 0 }, `row ${i}`);
  for (let i = 0; i < K; i++) assertClose(rowOf(x0v, 1, i), [-scale, scale], { atol: 0 }, `empty row ${i}`);
});

s('concat: as repeat, but an empty sentence diffuses the whole-sentence span once and K − 1 random spans', () => {
  const model = new DiffusionNER(config({ expansion: 'concat' }), { device: T.cpu, rng: new T.RNG(1) });
  const { x0v, rows } = model.expandGold(gold, lengths);
  if (rows[0].length !== K || rows[1].length !== 0) throw new Error('rows as repeat');
  assertClose(rowOf(x0v, 1, 0), [-scale, scale], { atol: 0 }, 'first row of the empty sentence');
  const rest = Array.from({ length: K - 1 }, (_, i) => rowOf(x0v, 1, i + 1));
  if (new Set(rest.map((r) => r.join())).size !== K - 1) throw new Error(`placeholders must differ: ${JSON.stringify(rest)}`);
});

s('random: the N gold spans, then K − N random spans from N(0.5, (1/6)²) in (left, width) units, width ≥ 1e-4; matched against the gold alone', () => {
  const model = new DiffusionNER(config({ expansion: 'random' }), { device: T.cpu, rng: new T.RNG(2) });
  const { x0v, rows } = model.expandGold(gold, lengths);
  if (rows[0].length !== 2 || rows[1].length !== 0) throw new Error(`rows are the gold alone: ${JSON.stringify(rows)}`);
  assertClose([...rowOf(x0v, 0, 0), ...rowOf(x0v, 0, 1)], goldX0(gold[0], 4), { atol: 0 }, 'gold rows first');
  // More gold than K: the first K.
  const many = Array.from({ length: K + 3 }, (_, i) => ({ left: i, right: i, type: 1 }));
  if (model.expandGold([many], [K + 3]).rows[0].length !== K) throw new Error('at most K gold rows');
  // The placeholders' distribution: 2u − 1 of N(0.5, 1/6) is N(0, 1/3), times λ; widths clipped at 1e-4.
  const n = 4000, lefts: number[] = [], widths: number[] = [];
  const empty = Array.from({ length: n / K }, () => [] as GoldSpan[]);
  const big = model.expandGold(empty, empty.map(() => 5)).x0v;
  for (let i = 0; i < big.length; i += 2) { lefts.push(big[i] / scale); widths.push(big[i + 1] / scale); }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
  if (Math.abs(mean(lefts)) > 0.03 || Math.abs(sd(lefts) - 1 / 3) > 0.03) throw new Error(`left ~ N(0, 1/3): mean ${mean(lefts)}, sd ${sd(lefts)}`);
  if (Math.min(...widths) < 2 * 1e-4 - 1 - 1e-6) throw new Error(`width below the clip: ${Math.min(...widths)}`);
});

s('random: a training step matches only the gold spans, on both devices; the other proposals learn None', async () => {
  for (const dev of DEVICES) {
    const model = new DiffusionNER(config({ expansion: 'random' }), { device: dev, rng: new T.RNG(3) });
    const b = model.batch([{ tokens: ['a', 'b', 'c', 'a'], entities: [{ start: 1, end: 3, type: 'PER' }, { start: 0, end: 1, type: 'LOC' }] },
      { tokens: ['c', 'c', 'b'], entities: [] }], dev);
    const r = await model.lossAndBackward(b);
    if (r.matched !== 2 || !Number.isFinite(r.terms.classification) || !Number.isFinite(r.terms.boundary)) throw new Error(`${dev.name}: ${JSON.stringify(r)}`);
    const repeat = new DiffusionNER(config(), { device: dev, rng: new T.RNG(3) });
    if ((await repeat.lossAndBackward(b)).matched !== K) throw new Error(`${dev.name}: repeat matches K per sentence with entities`);
    DiffusionNER.disposeBatch(b);
    model.dispose(); repeat.dispose();
  }
});

s('loss weights scale each term\'s gradient (the classifier\'s by the class weight, the pointers\' by the boundary weight); match weights reach the matcher', async () => {
  const grads = async (m: DiffusionNER, re: RegExp) => Promise.all([...m.namedParameters()].filter(([n]) => re.test(n)).map(([, p]) => p.grad!.data()));
  const flat = (a: ArrayLike<number>[]) => a.flatMap((x) => Array.from(x));
  for (const dev of DEVICES) {
    const sentences = [{ tokens: ['a', 'b', 'c', 'a'], entities: [{ start: 1, end: 3, type: 'PER' }, { start: 0, end: 1, type: 'LOC' }] }];
    const plain = new DiffusionNER(config(), { device: dev, rng: new T.RNG(8) });
    const weighted = new DiffusionNER(config(), { device: dev, rng: new T.RNG(8) });
    const b = plain.batch(sentences, dev);
    const r1 = await plain.lossAndBackward(b);
    const r2 = await weighted.lossAndBackward(b, { lossClassWeight: 3, lossBoundaryWeight: 0.5 });
    assertClose([r2.terms.classification, r2.terms.boundary], [r1.terms.classification, r1.terms.boundary], { rtol: 1e-6 }, `${dev.name}: the reported terms are unweighted`);
    const [c1, c2] = [flat(await grads(plain, /^decoder\.classifier\./)), flat(await grads(weighted, /^decoder\.classifier\./))];
    const [p1, p2] = [flat(await grads(plain, /pointer/)), flat(await grads(weighted, /pointer/))];
    if (!c1.length || !p1.length || c1.every((x) => x === 0) || p1.every((x) => x === 0)) throw new Error(`${dev.name}: no classifier or pointer gradients`);
    assertClose(c2, c1.map((x) => 3 * x), { rtol: 1e-4, atol: 1e-7 }, `${dev.name}: classifier gradients ×3`);
    assertClose(p2, p1.map((x) => 0.5 * x), { rtol: 1e-4, atol: 1e-7 }, `${dev.name}: pointer gradients ×0.5`);
    DiffusionNER.disposeBatch(b);
    plain.dispose(); weighted.dispose();
  }
  // The matcher: a class weight that dwarfs the boundary cost makes the class probabilities decide.
  const pl = [1, 0, 0, 1], pr = [1, 0, 0, 1], probs = [0, 0.1, 0.9, 0, 0.9, 0.1]; // K = 2, M = 2, C + 1 = 3
  const gold = [[{ left: 0, right: 0, type: 1 }, { left: 1, right: 1, type: 2 }]];
  const byBoundary = matchProposals(pl, pr, probs, gold, 2, 2, 3)[0], byClass = matchProposals(pl, pr, probs, gold, 2, 2, 3, 1, 100)[0];
  const pairs = (m: { proposals: number[]; golds: number[] }) => m.proposals.map((p, i) => `${p}-${m.golds[i]}`).sort().join();
  if (pairs(byBoundary) !== '0-0,1-1' || pairs(byClass) !== '0-1,1-0') throw new Error(`matching: ${pairs(byBoundary)} / ${pairs(byClass)}`);
});

s('spanLayers sets the decoder depth (the paper: 1; the official code: 2); bad values are errors', async () => {
  const names = (m: DiffusionNER) => new Set([...m.namedParameters()].map(([n]) => n.match(/span_layers\.(\d+)\./)?.[1]).filter((x) => x !== undefined));
  const one = new DiffusionNER(config({ spanLayers: 1 }), { device: T.cpu, rng: new T.RNG(4) });
  const two = new DiffusionNER(config(), { device: T.cpu, rng: new T.RNG(4) });
  if (names(one).size !== 1 || names(two).size !== 2) throw new Error(`layers: ${[...names(one)]} / ${[...names(two)]}`);
  one.eval();
  const b = one.batch([{ tokens: ['a', 'b'], entities: [] }], T.cpu);
  await one.predict(b, { steps: 2 });
  await assertThrows(() => new DiffusionNER(config({ spanLayers: 0 }), { device: T.cpu }), /spanLayers must be a whole number >= 1, got 0/);
  await assertThrows(() => new DiffusionNER(config({ expansion: 'pad' as 'random' }), { device: T.cpu }), /expansion must be repeat, concat or random, got 'pad'/);
});

s('slotEmbedding false drops the slot MLP, timeEmbedding sinusoid the time MLP (the paper); both train and sample on every device', async () => {
  for (const dev of DEVICES) {
    const model = new DiffusionNER(config({ slotEmbedding: false, timeEmbedding: 'sinusoid' }), { device: dev, rng: new T.RNG(6) });
    const names = [...model.namedParameters()].map(([n]) => n);
    if (names.some((n) => n.includes('slot_embed') || n.includes('time_embed'))) throw new Error(`${dev.name}: ${names.filter((n) => /slot|time/.test(n))}`);
    const full = [...new DiffusionNER(config(), { device: dev, rng: new T.RNG(6) }).namedParameters()].map(([n]) => n);
    if (!full.some((n) => n.includes('slot_embed')) || !full.some((n) => n.includes('time_embed'))) throw new Error('the official decoder has both MLPs');
    const b = model.batch([{ tokens: ['a', 'b', 'c'], entities: [{ start: 0, end: 2, type: 'PER' }] }], dev);
    const r = await model.lossAndBackward(b);
    if (!Number.isFinite(r.total)) throw new Error(`${dev.name}: loss ${JSON.stringify(r)}`);
    model.eval();
    await model.predict(b, { steps: 2 });
    DiffusionNER.disposeBatch(b);
    model.dispose();
  }
  await assertThrows(() => new DiffusionNER(config({ timeEmbedding: 'learned' as 'mlp' }), { device: T.cpu }), /timeEmbedding must be mlp or sinusoid, got 'learned'/);
});

s('dedupe (the paper): of candidates with identical boundaries only the highest type probability stays', () => {
  // K = 2 proposals over M = 2 words, C + 1 = 3 classes: both read (0, 1); proposal 0 is type 1 at 0.6
  // with sure boundaries (sum 2.6), proposal 1 type 2 at 0.9 with weaker ones (sum 2.5).
  const pl = [1, 0, 0.8, 0.1], pr = [0, 1, 0.1, 0.8], probs = [0.1, 0.6, 0.3, 0.05, 0.05, 0.9];
  const nested = decodeSentence(pl, pr, probs, 2, 2, 3, { mode: 'nested', threshold: 2 });
  if (nested.map((c) => c.type).join() !== '1,2') throw new Error(`nested keeps both types: ${JSON.stringify(nested)}`);
  const deduped = decodeSentence(pl, pr, probs, 2, 2, 3, { mode: 'nested', threshold: 2, dedupe: true });
  if (deduped.length !== 1 || deduped[0].type !== 2) throw new Error(`dedupe keeps the higher type probability: ${JSON.stringify(deduped)}`);
});

s('position features: on by default with the scratch encoder, as configured otherwise', () => {
  if (new DiffusionNER(config(), { device: T.cpu }).c.positionFeatures !== true) throw new Error('scratch default');
  if (new DiffusionNER(config({ positionFeatures: false }), { device: T.cpu }).c.positionFeatures !== false) throw new Error('explicit off');
});

s.run();
