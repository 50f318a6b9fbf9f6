/**
 * BINDER's contrastive losses on a hand-worked case: which positions are negatives of each (sentence,
 * type) row (every real word or span i ≤ j, less that type's gold, plus the [CLS] at 0 / (0, 0); never
 * padding), the mention rows' masks (their own gold added back), and the loss value against a masked
 * log-softmax written out here in f64 (0.5 mention + 0.5 threshold, each 0.2 start + 0.2 end + 0.6 span),
 * with fp32's and fp16's tiny, and with the threshold loss switched off.
 */
import { suite } from 'uvu';
import { Binder, withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig } from '../../../src/models/binder/config.js';
import { cpu } from '../../../src/tensor/device.js';
import { RNG } from '../../../src/tensor/random.js';
import { noGrad } from '../../../src/tensor/tensor.js';

const s = suite('binder losses');

const sentences = [
  // PER "a b" (words 0-1), LOC "c" (word 2)
  { tokens: ['a', 'b', 'c'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 2, end: 3, type: 'LOC' }] },
  // shorter: its position 3 is padding; no entity
  { tokens: ['b', 'a'], entities: [] },
];

function model(): Binder {
  const cfg = withDescriptions({ vocab: ['[PAD]', '[UNK]', 'a', 'b', 'c'], hidden: 8, embedding: 6, types: ['PER', 'LOC'], linearSize: 5, spanWidths: 6, lstmLayers: 1, dropout: 0, linearDropout: 0 } as BinderConfig);
  const m = new Binder(cfg, { device: cpu, rng: new RNG(7), dtype: 'f64' });
  m.train();
  return m;
}

const ones = (a: ArrayLike<number>) => Array.from(a).flatMap((v, i) => (v ? [i] : []));
const cells = (a: ArrayLike<number>, n1: number) => ones(a).map((c) => `${Math.floor(c / n1)}${c % n1}`).join(' ');

s('negatives: real words less the type\'s gold, plus the [CLS]; mention rows add their gold back', () => {
  const m = model();
  const b = m.batch(sentences, cpu);
  const t = m.lossTargets(b.parts[0]);
  const n1 = 4, row = (a: Float64Array | Float32Array, r: number, C: number) => a.subarray(r * C, (r + 1) * C);
  if (t.rows !== 4 || t.n1 !== n1 || t.mentions !== 2) throw new Error(`rows ${t.rows}, n' ${t.n1}, mentions ${t.mentions}`);
  // Row 0: sentence 0, PER (gold (1, 2) in positions counting the [CLS]).
  const want: [number, string, string, string][] = [
    [0, '0 2 3', '0 1 3', '00 11 13 22 23 33'], // PER: start 1, end 2 and span (1,2) out
    [1, '0 1 2', '0 1 2', '00 11 12 13 22 23'], // LOC: start 3, end 3, span (3,3) out
    [2, '0 1 2', '0 1 2', '00 11 12 22'], // sentence 1, PER: no gold; position 3 is padding
    [3, '0 1 2', '0 1 2', '00 11 12 22'],
  ];
  for (const [r, st, en, sp] of want) {
    const got = [ones(row(t.threshold.start, r, n1)).join(' '), ones(row(t.threshold.end, r, n1)).join(' '), cells(row(t.threshold.span, r, n1 * n1), n1)];
    if (got.join('|') !== [st, en, sp].join('|')) throw new Error(`row ${r}: ${got.join(' | ')}, expected ${[st, en, sp].join(' | ')}`);
  }
  // Mentions: PER (1, 2) in row 0, LOC (3, 3) in row 1, each with its own gold back in.
  if (Array.from(t.mention.rows).join() !== '0,1' || Array.from(t.mention.starts).join() !== '1,3' || Array.from(t.mention.ends).join() !== '2,3' || Array.from(t.mention.spans).join() !== `${1 * n1 + 2},${3 * n1 + 3}`) {
    throw new Error(`mentions: rows ${t.mention.rows}, starts ${t.mention.starts}, ends ${t.mention.ends}, spans ${t.mention.spans}`);
  }
  const per = [ones(row(t.mention.start, 0, n1)).join(' '), ones(row(t.mention.end, 0, n1)).join(' '), cells(row(t.mention.span, 0, n1 * n1), n1)].join(' | ');
  if (per !== '0 1 2 3 | 0 1 2 3 | 00 11 12 13 22 23 33') throw new Error(`PER mention masks: ${per}`);
  m.disposeBatch(b);
  m.dispose();
});

/** −log softmax at `target` over the entries of `mask`, with log(mask + tiny) added, in f64. */
function maskedNll(z: ArrayLike<number>, mask: ArrayLike<number>, target: number, tiny: number): number {
  const zz = Array.from(z, (v, i) => v + Math.log(mask[i] + tiny));
  const m = Math.max(...zz);
  return -(zz[target] - m - Math.log(zz.reduce((a, v) => a + Math.exp(v - m), 0)));
}

s('the loss is the official weighted sum of masked log-softmax terms (fp32 and fp16 tiny; threshold loss off)', async () => {
  for (const [settings, tiny] of [[{}, 1e-13], [{ maskTiny: 1e-4 }, 1e-4], [{ thresholdLoss: false }, 1e-13]] as const) {
    const m = model();
    const b = m.batch(sentences, cpu);
    const p = b.parts[0], t = m.lossTargets(p);
    const sc = noGrad(() => m.scores(p, b.descriptions));
    const [start, end, span] = await Promise.all([sc.start!.data(), sc.end!.data(), sc.span.data()]);
    const n1 = t.n1, C = n1 * n1;
    const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    const thr = [0, 1, 2, 3];
    const part = (z: ArrayLike<number>, masks: ArrayLike<number>, width: number, rows: number[], targets: number[]) => mean(rows.map((r, x) => maskedNll(Array.from(z).slice(r * width, (r + 1) * width), Array.from(masks).slice(x * width, (x + 1) * width), targets[x], tiny)));
    const lThr = [part(start, t.threshold.start, n1, thr, [0, 0, 0, 0]), part(end, t.threshold.end, n1, thr, [0, 0, 0, 0]), part(span, t.threshold.span, C, thr, [0, 0, 0, 0])];
    const rows = Array.from(t.mention.rows);
    const lMen = [part(start, t.mention.start, n1, rows, Array.from(t.mention.starts)), part(end, t.mention.end, n1, rows, Array.from(t.mention.ends)), part(span, t.mention.span, C, rows, Array.from(t.mention.spans))];
    const w = (l: number[]) => 0.2 * l[0] + 0.2 * l[1] + 0.6 * l[2];
    const want = 0.5 * w(lMen) + ('thresholdLoss' in settings ? 0 : 0.5 * w(lThr));
    const got = await m.lossAndBackward(b, settings);
    if (Math.abs(got.total - want) > 1e-6 * Math.abs(want)) throw new Error(`${JSON.stringify(settings)}: loss ${got.total}, expected ${want}`);
    if (Math.abs(got.terms.thresholdSpan - lThr[2]) > 1e-6 * lThr[2] || Math.abs(got.terms.mentionStart - lMen[0]) > 1e-6 * lMen[0]) throw new Error(`terms ${JSON.stringify(got.terms)}`);
    // Every parameter that reaches the loss has a gradient; with the threshold loss off, still the heads'.
    for (const n of ['span_linear.weight', 'type_encoder.lstm.weight_ih_l0', 'text_cls', 'span_logit_scale', 'width_embeddings.weight']) {
      const g = [...m.namedParameters()].find(([k]) => k === n)![1].grad;
      if (!g || !(await g.data()).some((v) => v !== 0)) throw new Error(`${n}: no gradient`);
    }
    // The width table's padding row 0 takes none.
    const gw = await [...m.namedParameters()].find(([k]) => k === 'width_embeddings.weight')![1].grad!.data();
    if (Array.from(gw.subarray(0, 5)).some((v) => v !== 0)) throw new Error('width row 0 got a gradient');
    sc.start!.dispose(); sc.end!.dispose(); sc.span.dispose();
    m.disposeBatch(b);
    m.dispose();
  }
});

s.run();
