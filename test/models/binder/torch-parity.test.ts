/**
 * Our BINDER and a PyTorch BINDER written from the notes (bench/peers/binder_torch.py, run by
 * scripts/fixtures/make_binder.py: heads-notes §2.1-2.4, §2.7, spec §3.2-3.4) are the same function: on the
 * fixture's random weights (the type encoder's unlike the text encoder's, three different θ), a batch of
 * sentences of 5, 3 and 1 words (nested, adjacent, same-span-two-types and shared-start mentions; the
 * 3-word sentence has none) and three descriptions of 3, 2 and 4 words, our model in train mode with every
 * dropout 0 gives torch's description and word ids, start, end and span scores, every loss term (mention and
 * threshold, each with its start, end and span parts), the total and every parameter's gradient, under both
 * mask settings (maskTiny 1e-13, and 1e-4, where the masked entries stay in the softmax 9.2 nats down), and
 * the same read-out (nested and flat). For both forms of the span projection (torch computes the official
 * concatenation; the fold is exact algebra). In float32 on every device and in float64 on the cpu device,
 * all against torch's float64 run on the same (float32-representable) weights.
 * Fixture: scripts/fixtures/make_binder.py (needs torch; this test does not).
 */
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { Binder, LOSS_TERMS } from '../../../src/models/binder/model.js';
import { SPAN_FOLDS, type SpanFold } from '../../../src/models/binder/config.js';
import type { Device } from '../../../src/tensor/device.js';
import { assertClose, DEVICES } from '../../helpers.js';
import { checkGradients, fixtureBatch, openFixture, parityReport, parityRuns, worst } from '../../parity-helpers.js';

const s = suite('BINDER equals a PyTorch BINDER on shared weights');
const fixture = openFixture('binder.safetensors'), fx = fixture.tensors, get = fixture.get;

const TYPES = ['A', 'B', 'C'];
const VOCAB = Array.from({ length: 15 }, (_, i) => `w${i}`);
/** The mask settings: fixture tag and maskTiny. */
const TINIES = [['tiny_1e-13', 1e-13], ['tiny_1e-4', 1e-4]] as const;
const { lengths, B, N, ids, sentences } = fixtureBatch(fixture, VOCAB, TYPES);
const descLengths = Array.from(get('desc_lengths').data);
const LD = get('desc_ids').shape[1];
const descriptions = descLengths.map((n, k) => Array.from({ length: n }, (_, j) => VOCAB[get('desc_ids').data[k * LD + j]]).join(' '));

// Tolerances. f32 runs against torch's f64, measured on the cpu device and lavapipe (the worst of both span
// folds, both mask settings and the runs in parts): scores within 1.9e-6 absolute (|s| up to 11.5; 2.6e-7
// of the largest), loss terms within 2.4e-7 relative, gradients within 9.2e-7 of their tensor's largest
// |g|. The f64 run on the cpu device: scores within 5.3e-15 absolute, loss terms within 7.9e-16 relative,
// gradients within 2.6e-15 of their tensor's largest |g|.
const SCORE_TOL = { rtol: 1e-4, atol: 2e-5 };
const LOSS_TOL = { rtol: 1e-5, atol: 0 };
const GRAD_TOL = { rtol: 1e-4, atolPerMax: 1e-5 };
const F64_SCORE_TOL = { rtol: 1e-11, atol: 1e-12 };
const F64_LOSS_TOL = { rtol: 1e-12, atol: 0 };
const F64_GRAD_TOL = { rtol: 1e-10, atolPerMax: 1e-12 };

/** A BINDER on the fixture's weights, in train mode with every dropout 0. */
async function fixtureModel(dev: Device, dtype: 'f32' | 'f64', spanFold: SpanFold): Promise<Binder> {
  const model = new Binder({
    vocab: VOCAB, types: TYPES, descriptions, hidden: 8, embedding: 6, lstmLayers: 2, dropout: 0, embeddingDropout: 0, wordDropout: 0,
    linearSize: 5, linearDropout: 0, spanWidths: 3, maxSpanWidth: 4, spanFold,
  }, { device: dev, dtype });
  const own = model.stateDict();
  // The θ scalars come as shape [1] (the fixture writer stores a 0-d array as 1-d).
  const params = [...fx].filter(([k]) => k.startsWith('param.')).map(([k, v]) => [k.slice(6), k.endsWith('_logit_scale') ? { shape: [], data: v.data } : v] as const);
  const extra = params.filter(([k]) => !own.has(k)).map(([k]) => k);
  if (extra.length) throw new Error(`the fixture has weights the model lacks: ${extra.join(', ')}`);
  await model.loadStateDict(new Map(params)); // strict: every parameter of ours is in the fixture
  model.train();
  return model;
}

s('the word and description ids of the batch are the fixture\'s', async () => {
  const model = await fixtureModel(DEVICES[0], 'f32', 'folded');
  const b = model.batch(sentences, DEVICES[0]);
  if (b.parts.length !== 1) throw new Error(`the batch is in ${b.parts.length} parts`);
  assertClose(await b.parts[0].ids.data(), ids, { rtol: 0, atol: 0 }, 'word ids');
  assertClose(await b.descriptions!.ids.data(), get('desc_ids').data, { rtol: 0, atol: 0 }, 'description ids');
  if (b.descriptions!.lengths.join() !== descLengths.join()) throw new Error(`description lengths ${b.descriptions!.lengths}`);
  model.disposeBatch(b);
  model.dispose();
});

/** The loss terms and the total (already computed) and every parameter's gradient against the fixture's `<tag>` run; the worst errors. */
async function checkLossesAndGradients(model: Binder, r: { terms: Record<string, number>; total: number }, tag: string, dtype: 'f32' | 'f64', where: string) {
  const tol = dtype === 'f64' ? F64_LOSS_TOL : LOSS_TOL;
  let lossWorst = 0;
  for (const [name, got, want] of [...LOSS_TERMS.map((k) => [k, r.terms[k], get(`${tag}.loss.${k}`).data[0]] as const), ['total', r.total, get(`${tag}.total`).data[0]] as const]) {
    assertClose([got], [want], tol, `${name} loss (${tag}) on ${where}`);
    lossWorst = Math.max(lossWorst, Math.abs(got - want) / Math.abs(want));
  }
  const gradWorst = await checkGradients(model, fixture, `${tag}.grad.`, dtype, dtype === 'f64' ? F64_GRAD_TOL : GRAD_TOL, where, tag);
  return { lossWorst, gradWorst };
}

/** The fixture's read-out rows (sentence, start, end inclusive, type), as sorted strings. */
function rows(key: string): string[] {
  const t = get(key);
  return Array.from({ length: t.shape[0] }, (_, r) => Array.from(t.data.slice(4 * r, 4 * r + 4)).join(',')).sort();
}

for (const spanFold of SPAN_FOLDS) {
  s(`${spanFold} span projection: scores, every loss term and every gradient under both mask settings, and the read-out, match torch (f32 on every device, f64 on cpu)`, async () => {
    for (const { dev, dtype } of parityRuns()) {
      const where = `${dev.name} (${dtype})`;
      let model = await fixtureModel(dev, dtype, spanFold);
      let b = model.batch(sentences, dev);
      if (b.parts.length !== 1) throw new Error(`${where}: the batch is in ${b.parts.length} parts`);

      const scores = T.noGrad(() => model.scores(b.parts[0], b.descriptions));
      const n1 = N + 1, shapes = { start: [B, 3, n1], end: [B, 3, n1], span: [B, 3, n1 * n1] };
      const sw: string[] = [];
      for (const part of ['start', 'end', 'span'] as const) {
        const x = scores[part]!;
        if (x.dtype !== dtype || x.shape.join() !== shapes[part].join()) throw new Error(`${where}: ${part} scores ${x.dtype} (${x.shape})`);
        const got = await x.data(), want = get(`scores.${part}`).data;
        assertClose(got, want, dtype === 'f64' ? F64_SCORE_TOL : SCORE_TOL, `${part} scores on ${where}`);
        const w = worst(got, want);
        sw.push(`${part} ${w.abs.toExponential(1)} (${w.rel.toExponential(1)})`);
      }
      for (const x of Object.values(scores)) x?.dispose();

      // The read-out at the default threshold (0.5: span[k, i, j] > span[k, 0, 0]), nested and flat.
      const spans = await model.infer(b);
      for (const mode of ['nested', 'flat'] as const) {
        const got = spans.flatMap((x, i) => model.decode(x, { threshold: model.defaultThreshold, mode }).map((c) => [i, c.left, c.right, c.type - 1].join(','))).sort();
        if (got.join(' ') !== rows(mode).join(' ')) throw new Error(`${where}: ${mode} read-out ${got.join(' ')}, torch ${rows(mode).join(' ')}`);
      }

      for (const [i, [tag, maskTiny]] of TINIES.entries()) {
        if (i > 0) { model.disposeBatch(b); model.dispose(); model = await fixtureModel(dev, dtype, spanFold); b = model.batch(sentences, dev); }
        const r = await model.lossAndBackward(b, { maskTiny });
        const { lossWorst, gradWorst: g } = await checkLossesAndGradients(model, r, tag, dtype, where);
        if (parityReport) {
          console.log(`${spanFold} ${tag} ${where}: scores abs (rel) ${sw.join(', ')}; loss terms rel ${lossWorst.toExponential(1)}; `
            + `gradients worst ${g.name}: abs ${g.abs.toExponential(1)}, ${g.rel.toExponential(1)} of |g|max`);
        }
      }
      model.disposeBatch(b);
      model.dispose();
    }
  });
}

// A batch split into parts (the 5-word sentence alone, then the 3- and 1-word ones), each part's threshold
// loss weighted by its share of the (sentence, type) rows and its mention loss by its share of the mentions,
// against torch's run of the same two parts, weighted alike (`parts.<tag>`). That is not exactly the
// one-batch loss: the padded positions and cells are masked entries that stay in the softmax, and a part has
// fewer of them (in torch, the threshold loss is 3.7e-11 lower in parts under 1e-13, 0.35% lower under 1e-4).
s('the batch in two parts: every loss term and every gradient match torch\'s run of the same parts, under both mask settings', async () => {
  for (const { dev, dtype } of parityRuns()) {
    for (const [tag, maskTiny] of TINIES) {
      const where = `${dev.name} (${dtype}), 2 parts`;
      const model = await fixtureModel(dev, dtype, 'folded');
      const b = model.batch(sentences, dev, (lengths[0] + 1) ** 2);
      const parts = b.parts.map((p) => p.lengths.join(',')).join(' | ');
      if (parts !== '5 | 3,1') throw new Error(`${where}: parts ${parts}`);
      const r = await model.lossAndBackward(b, { maskTiny });
      const { lossWorst, gradWorst: g } = await checkLossesAndGradients(model, r, `parts.${tag}`, dtype, where);
      if (parityReport) console.log(`folded parts.${tag} ${where}: loss terms rel ${lossWorst.toExponential(1)}; gradients worst ${g.name}: abs ${g.abs.toExponential(1)}, ${g.rel.toExponential(1)} of |g|max`);
      model.disposeBatch(b);
      model.dispose();
    }
  }
});

s.run();
