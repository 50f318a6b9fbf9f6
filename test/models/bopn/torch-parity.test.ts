/**
 * Our BOPN and a PyTorch BOPN written from the notes (scripts/fixtures/make_bopn.py: heads-notes §1.1-1.2,
 * spec §2.1-2.5) are the same function: on the fixture's random weights (the CLN maps non-zero, so the
 * second branch and the conditioning matter), a batch of sentences of 5, 3 and 1 words with nested,
 * adjacent and same-span-other-type entities, our model in train mode with every dropout 0 gives torch's
 * label grids, scores (B, n, n, M, L), label-smoothed loss and every parameter's gradient, with the 3-D
 * conv off and on (it sees the padded cells), for both forms of the second branch (torch computes the
 * official unfolded one; the fold is exact algebra). In float32 on every device and in float64 on the cpu
 * device, all against torch's float64 run on the same (float32-representable) weights.
 * Fixture: scripts/fixtures/make_bopn.py (needs torch; this test does not).
 */
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { BOPN } from '../../../src/models/bopn/model.js';
import { SECOND_BRANCHES, type SecondBranch } from '../../../src/models/bopn/config.js';
import type { Device } from '../../../src/tensor/device.js';
import { assertClose, DEVICES } from '../../helpers.js';
import { checkGradients, fixtureBatch, openFixture, parityReport, parityRuns, worst } from '../../parity-helpers.js';

const s = suite('BOPN equals a PyTorch BOPN on shared weights');
const fixture = openFixture('bopn.safetensors'), fx = fixture.tensors, get = fixture.get;

const TYPES = ['A', 'B', 'C'];
const VOCAB = Array.from({ length: 12 }, (_, i) => `w${i}`);
const LABEL_SMOOTHING = 0.01;
const { lengths, B, N, ids, sentences } = fixtureBatch(fixture, VOCAB, TYPES);

// Tolerances. f32 runs against torch's f64, measured on the cpu device and lavapipe: scores within 8.4e-6
// absolute (|s| up to 25; 3.3e-7 of the largest), the loss within 2.7e-7 relative, gradients within 1.0e-6
// of their tensor's largest |g|. The f64 run on the cpu device: scores within 1.2e-14 absolute, the loss
// within 6.6e-16 relative, gradients within 2.9e-15 of their tensor's largest |g|.
const SCORE_TOL = { rtol: 1e-4, atol: 5e-5 };
const LOSS_TOL = { rtol: 1e-5, atol: 0 };
const GRAD_TOL = { rtol: 2e-4, atolPerMax: 5e-5 };
const F64_SCORE_TOL = { rtol: 1e-9, atol: 1e-12 };
const F64_LOSS_TOL = { rtol: 1e-12, atol: 0 };
const F64_GRAD_TOL = { rtol: 1e-9, atolPerMax: 1e-12 };

s('the label grids of the batch are the reference\'s (independent implementations of the notes\' rules)', async () => {
  const model = new BOPN({ vocab: VOCAB, types: TYPES, hidden: 8, embedding: 6, biaffine: 5, gridEmbedding: 3, embeddingDropout: 0 }, { device: DEVICES[0] });
  model.train();
  const b = model.batch(sentences, DEVICES[0]);
  if (b.parts.length !== 1) throw new Error(`the batch is in ${b.parts.length} parts`);
  const [p] = b.parts;
  assertClose(await p.labels!.data(), get('labels').data, { rtol: 0, atol: 0 }, 'labels (b, i, j, type)');
  assertClose(await p.cellMask!.data(), get('cell_mask').data, { rtol: 0, atol: 0 }, 'cell mask');
  assertClose(await p.ids.data(), ids, { rtol: 0, atol: 0 }, 'word ids');
  model.disposeBatch(b);
  model.dispose();
});

/** A BOPN on the fixture's weights, in train mode with every dropout 0. */
async function fixtureModel(dev: Device, dtype: 'f32' | 'f64', conv: boolean, secondBranch: SecondBranch): Promise<BOPN> {
  const model = new BOPN({
    vocab: VOCAB, types: TYPES, hidden: 8, embedding: 6, biaffine: 5, gridEmbedding: 3, window: 2,
    outDropout: 0, conv, convDropout: 0, secondBranch, embeddingDropout: 0, wordDropout: 0,
  }, { device: dev, dtype });
  const own = model.stateDict();
  await model.loadStateDict(new Map([...fx].filter(([k]) => k.startsWith('param.') && own.has(k.slice(6))).map(([k, v]) => [k.slice(6), v])));
  model.train();
  return model;
}

/** The loss (already computed) and every parameter's gradient against the fixture's `<tag>` run; the worst gradient error. */
async function checkLossAndGradients(model: BOPN, total: number, tag: string, dtype: 'f32' | 'f64', where: string): Promise<{ abs: number; rel: number; name: string }> {
  assertClose([total], get(`${tag}.loss`).data, dtype === 'f64' ? F64_LOSS_TOL : LOSS_TOL, `loss on ${where}`);
  return checkGradients(model, fixture, `${tag}.grad.`, dtype, dtype === 'f64' ? F64_GRAD_TOL : GRAD_TOL, where);
}

for (const [tag, conv] of [['noconv', false], ['conv', true]] as const) {
  for (const secondBranch of SECOND_BRANCHES) {
    s(`conv ${conv ? 'on' : 'off'}, ${secondBranch} second branch: scores, loss and every gradient match torch (f32 on every device, f64 on cpu)`, async () => {
      for (const { dev, dtype } of parityRuns()) {
        const where = `${dev.name} (${dtype})`;
        const model = await fixtureModel(dev, dtype, conv, secondBranch);
        const b = model.batch(sentences, dev);
        if (b.parts.length !== 1) throw new Error(`${where}: the batch is in ${b.parts.length} parts`);

        const scores = T.noGrad(() => model.forward(b));
        if (scores.dtype !== dtype || scores.shape.join() !== [B, N, N, TYPES.length, 10].join()) throw new Error(`${where}: scores ${scores.dtype} (${scores.shape})`);
        const got = await scores.data(), want = get(`${tag}.scores`).data;
        scores.dispose();
        assertClose(got, want, dtype === 'f64' ? F64_SCORE_TOL : SCORE_TOL, `scores on ${where}`);

        const { total } = await model.lossAndBackward(b, { labelSmoothing: LABEL_SMOOTHING });
        const g = await checkLossAndGradients(model, total, tag, dtype, where);
        if (parityReport) {
          const sc = worst(got, want), loss = get(`${tag}.loss`).data[0];
          console.log(`${tag} ${secondBranch} ${where}: scores abs ${sc.abs.toExponential(1)} rel ${sc.rel.toExponential(1)}; loss rel ${(Math.abs(total - loss) / loss).toExponential(1)}; `
            + `gradients worst ${g.name}: abs ${g.abs.toExponential(1)}, ${g.rel.toExponential(1)} of |g|max`);
        }
        model.disposeBatch(b);
        model.dispose();
      }
    });
  }
}

// Without the conv a sentence's scores do not depend on its batch, so a batch split into parts (the
// 5-word sentence alone, then the 3- and 1-word ones) still gives torch's one-batch loss and gradients.
// (With the conv they would not: it reads the padded cells, whose number depends on the part.)
s('conv off, the batch in two parts: the loss and every gradient still match torch', async () => {
  for (const { dev, dtype } of parityRuns()) {
    const where = `${dev.name} (${dtype}), 2 parts`;
    const model = await fixtureModel(dev, dtype, false, 'folded');
    const b = model.batch(sentences, dev, lengths[0] ** 2);
    if (b.parts.map((p) => p.lengths.join(',')).join(' | ') !== '5 | 3,1') throw new Error(`${where}: parts ${b.parts.map((p) => p.lengths.join(',')).join(' | ')}`);
    const { total } = await model.lossAndBackward(b, { labelSmoothing: LABEL_SMOOTHING });
    const g = await checkLossAndGradients(model, total, 'noconv', dtype, where);
    if (parityReport) console.log(`noconv folded ${where}: loss rel ${(Math.abs(total - get('noconv.loss').data[0]) / get('noconv.loss').data[0]).toExponential(1)}; gradients worst ${g.name}: abs ${g.abs.toExponential(1)}, ${g.rel.toExponential(1)} of |g|max`);
    model.disposeBatch(b);
    model.dispose();
  }
});

s.run();
