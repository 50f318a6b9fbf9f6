/**
 * The scores (src/ner/metrics.ts): micro and per type, by entity length and by nesting, golden on a small
 * case whose nesting differs between the gold and the predicted set, and as properties on random spans
 * (the buckets' counts sum to the micro counts; a sentence's errors add up to them too). And one
 * sentence's record for `eval --predictions` (src/ner/train/evaluate.ts).
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import { compareSpans, isNested, lengthBucket, score, scoreByLength, scoreByNesting, type Scores, uniqueSpans } from '../../src/ner/metrics.js';
import type { Candidate, Span } from '../../src/ner/spans.js';
import { sentencePredictions } from '../../src/ner/train/evaluate.js';
import { runs } from '../helpers.js';

const s = suite('metrics: micro, per type, by length and by nesting');
const sp = (left: number, right: number, type: number): Span => ({ left, right, type });
const counts = (x: Scores & { found?: number }) => `${x.tp}/${x.found ?? '-'}/${x.predicted}/${x.gold}`;
const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

// Sentence 0: gold PER [0,0], ORG [2,4] containing LOC [3,3]; predicted PER [0,0] (twice), LOC [3,3] (without
// its container, so outermost among the predictions), a 4-word false positive. Sentence 1: gold [1,2] PER;
// predicted the same span as ORG (a false positive nested in the predicted [0,3]) and [0,3].
const gold = [[sp(0, 0, 1), sp(2, 4, 2), sp(3, 3, 3)], [sp(1, 2, 1)]];
const pred = [[sp(0, 0, 1), sp(3, 3, 3), sp(5, 8, 1), sp(0, 0, 1)], [sp(1, 2, 2), sp(0, 3, 1)]];

s('golden: micro and per type (repeats collapse)', () => {
  const r = score(gold, pred, ['PER', 'ORG', 'LOC']);
  if (counts(r.micro) !== '2/-/5/4' || !near(r.micro.precision, 40) || !near(r.micro.recall, 50)) throw new Error(JSON.stringify(r.micro));
  if (counts(r.perType.PER) !== '1/-/3/2' || counts(r.perType.ORG) !== '0/-/1/1' || counts(r.perType.LOC) !== '1/-/1/1') throw new Error(JSON.stringify(r.perType));
});

s('golden: by length, a predicted entity\'s length for precision and a gold one\'s for recall; every bucket listed', () => {
  const r = scoreByLength(gold, pred);
  if (Object.keys(r).join() !== '1,2,3,4+') throw new Error(Object.keys(r).join());
  const got = Object.entries(r).map(([k, v]) => `${k}:${counts(v)}`).join(' ');
  if (got !== '1:2/2/2/2 2:0/0/1/1 3:0/0/0/1 4+:0/0/2/0') throw new Error(got);
  if (!near(r['1'].f1, 100) || r['3'].precision !== 0 || r['3'].recall !== 0 || r['4+'].recall !== 0) throw new Error(JSON.stringify(r));
  if (lengthBucket(sp(3, 3, 1)) !== '1' || lengthBucket(sp(3, 5, 1)) !== '3' || lengthBucket(sp(0, 9, 1)) !== '4+') throw new Error('lengthBucket');
});

s('golden: by nesting, each entity judged within its own set (gold for recall, predicted for precision)', () => {
  const r = scoreByNesting(gold, pred);
  if (Object.keys(r).join() !== 'outermost,nested') throw new Error(Object.keys(r).join());
  // LOC [3,3] is a correct prediction that is outermost among the predictions but nested in the gold.
  if (counts(r.outermost) !== '2/1/4/3' || counts(r.nested) !== '0/1/1/1') throw new Error(`${counts(r.outermost)} ${counts(r.nested)}`);
  if (!near(r.outermost.precision, 50) || !near(r.outermost.recall, 100 / 3) || r.nested.precision !== 0 || r.nested.recall !== 100 || r.nested.f1 !== 0) throw new Error(JSON.stringify(r));
  // Containment needs other boundaries: the same span with another type, or a crossing one, does not nest.
  if (isNested(sp(1, 2, 1), [sp(1, 2, 2)]) || isNested(sp(1, 2, 1), [sp(2, 3, 1)]) || !isNested(sp(1, 2, 1), [sp(1, 3, 2)]) || !isNested(sp(2, 2, 1), [sp(1, 2, 1)])) throw new Error('isNested');
});

s('golden: a sentence\'s true positives, false positives and false negatives, without repeats', () => {
  const r = compareSpans(gold[0], pred[0]);
  const str = (xs: Span[]) => xs.map((x) => `${x.left}-${x.right}:${x.type}`).join(' ');
  if (str(r.truePositives) !== '0-0:1 3-3:3' || str(r.falsePositives) !== '5-8:1' || str(r.falseNegatives) !== '2-4:2') throw new Error(JSON.stringify(r));
  if (uniqueSpans(pred[0]).length !== 3) throw new Error('uniqueSpans');
});

s('errors: mismatched sentence counts are an error', () => {
  try { scoreByLength(gold, pred.slice(1)); } catch (e) {
    if (/2 gold sentences but 1 predicted/.test((e as Error).message)) return;
    throw e;
  }
  throw new Error('no error');
});

// Random sentences of up to 8 words: spans of 1..3 types, repeats and nesting included.
const spanArb = fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 7 }), fc.integer({ min: 1, max: 3 })).map(([a, b, t]) => sp(Math.min(a, b), Math.max(a, b), t));
const sentencesArb = fc.array(fc.tuple(fc.array(spanArb, { maxLength: 6 }), fc.array(spanArb, { maxLength: 6 })), { maxLength: 6 });

s('property: the length buckets and the nesting buckets each sum to the micro counts', () => {
  fc.assert(fc.property(sentencesArb, (pairs) => {
    const g = pairs.map(([x]) => x), p = pairs.map(([, y]) => y);
    const { micro } = score(g, p, ['A', 'B', 'C']);
    for (const [what, table] of [['length', scoreByLength(g, p)], ['nesting', scoreByNesting(g, p)]] as const) {
      const rows = Object.values(table);
      const sum = (f: (x: (typeof rows)[number]) => number) => rows.reduce((a, x) => a + f(x), 0);
      if (sum((x) => x.tp) !== micro.tp || sum((x) => x.found) !== micro.tp || sum((x) => x.predicted) !== micro.predicted || sum((x) => x.gold) !== micro.gold) {
        throw new Error(`${what}: ${rows.map((x) => counts(x)).join(' ')} against micro ${counts(micro)}`);
      }
      for (const x of rows) {
        if (x.tp > x.predicted || x.found > x.gold) throw new Error(`${what}: ${counts(x)}`);
        if (!near(x.precision, x.predicted ? (100 * x.tp) / x.predicted : 0) || !near(x.recall, x.gold ? (100 * x.found) / x.gold : 0)) throw new Error(`${what}: ${JSON.stringify(x)}`);
      }
    }
    // Length is the span's own: a correct prediction is counted in the same bucket on both sides.
    for (const x of Object.values(scoreByLength(g, p))) if (x.tp !== x.found) throw new Error(`length: ${counts(x)}`);
  }), { numRuns: runs(300) });
});

s('property: the sentences\' errors add up to the micro counts; without containment nothing is nested', () => {
  fc.assert(fc.property(sentencesArb, (pairs) => {
    const g = pairs.map(([x]) => x), p = pairs.map(([, y]) => y);
    const { micro } = score(g, p, ['A', 'B', 'C']);
    let tp = 0, fp = 0, fn = 0;
    pairs.forEach(([x, y]) => { const r = compareSpans(x, y); tp += r.truePositives.length; fp += r.falsePositives.length; fn += r.falseNegatives.length; });
    if (tp !== micro.tp || fp !== micro.predicted - micro.tp || fn !== micro.gold - micro.tp) throw new Error(`tp ${tp} fp ${fp} fn ${fn} against ${counts(micro)}`);
    // Single-word spans never contain another span (the same word with another type does not count).
    const singles = (xs: Span[][]) => xs.map((ss) => ss.map((x) => sp(x.left, x.left, x.type)));
    const n = scoreByNesting(singles(g), singles(p)).nested;
    if (n.predicted || n.gold) throw new Error(`single words nested: ${counts(n)}`);
  }), { numRuns: runs(300) });
});

s('a sentence\'s record: entities by position with their words, a repeated prediction once at its best score, scores clamped to [0, 1]', () => {
  const cand = (left: number, right: number, type: number, score: number): Candidate => ({ left, right, type, score, leftScore: 0, rightScore: 0, typeScore: 0 });
  const model = { types: ['PER', 'LOC'], confidence: (c: Candidate) => c.score };
  const sentence = { tokens: ['Angela', 'Merkel', 'visited', 'Paris', 'today'], entities: [{ start: 3, end: 4, type: 'LOC' }, { start: 0, end: 2, type: 'PER' }, { start: 3, end: 4, type: 'LOC' }], origin: 'test.jsonl:7' };
  const r = sentencePredictions(model, sentence, [cand(3, 3, 1, 0.4), cand(0, 1, 1, 1.5), cand(3, 3, 1, 0.7), cand(4, 4, 2, -0.2)]);
  const want = {
    origin: 'test.jsonl:7', tokens: sentence.tokens,
    gold: [{ start: 0, end: 2, type: 'PER', text: 'Angela Merkel' }, { start: 3, end: 4, type: 'LOC', text: 'Paris' }],
    predicted: [{ start: 0, end: 2, type: 'PER', text: 'Angela Merkel', score: 1 }, { start: 3, end: 4, type: 'PER', text: 'Paris', score: 0.7 }, { start: 4, end: 5, type: 'LOC', text: 'today', score: 0 }],
    falsePositives: [{ start: 3, end: 4, type: 'PER', text: 'Paris', score: 0.7 }, { start: 4, end: 5, type: 'LOC', text: 'today', score: 0 }],
    falseNegatives: [{ start: 3, end: 4, type: 'LOC', text: 'Paris' }],
  };
  if (JSON.stringify(r) !== JSON.stringify(want)) throw new Error(JSON.stringify(r));
});

s.run();
