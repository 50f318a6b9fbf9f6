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
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { readSafetensors } from '../../../src/nn/safetensors.js';
import { BOPN } from '../../../src/models/bopn/model.js';
import { SECOND_BRANCHES, type SecondBranch } from '../../../src/models/bopn/config.js';
import type { SentenceIn } from '../../../src/ner/contract.js';
import type { Device } from '../../../src/tensor/device.js';
import { assertClose, DEVICES } from '../../helpers.js';

const s = suite('BOPN equals a PyTorch BOPN on shared weights');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'fixtures', 'bopn.safetensors'), { f64: true });
const get = (k: string) => fx.get(k) ?? (() => { throw new Error(`fixture has no ${k}`); })();

const TYPES = ['A', 'B', 'C'];
const VOCAB = Array.from({ length: 12 }, (_, i) => `w${i}`);
const LABEL_SMOOTHING = 0.01;
const lengths = Array.from(get('lengths').data);
const [B, N] = get('ids').shape;
const ids = get('ids').data;
/** The fixture's sentences: words w<id>, entities from its (sentence, start, end inclusive, type) rows. */
const sentences: SentenceIn[] = lengths.map((n, b) => ({
  tokens: Array.from({ length: n }, (_, j) => VOCAB[ids[b * N + j]]),
  entities: [],
}));
{
  const e = get('entities');
  for (let r = 0; r < e.shape[0]; r++) {
    const [b, start, end, type] = Array.from(e.data.slice(4 * r, 4 * r + 4));
    (sentences[b].entities as { start: number; end: number; type: string }[]).push({ start, end: end + 1, type: TYPES[type] });
  }
}

// Tolerances. f32 runs against torch's f64, measured on the cpu device and lavapipe: scores within 8.4e-6
// absolute (|s| up to 25; 3.3e-7 of the largest), the loss within 2.7e-7 relative, gradients within 1.0e-6
// of their tensor's largest |g|. The f64 run on the cpu device: scores within 1.2e-14 absolute, the loss
// within 6.6e-16 relative, gradients within 2.9e-15 of their tensor's largest |g|.
const SCORE_TOL = { rtol: 1e-4, atol: 5e-5 };
const LOSS_TOL = { rtol: 1e-5, atol: 0 };
const GRAD_RTOL = 2e-4, GRAD_ATOL_PER_MAX = 5e-5;
const F64_SCORE_TOL = { rtol: 1e-9, atol: 1e-12 };
const F64_LOSS_TOL = { rtol: 1e-12, atol: 0 };
const F64_GRAD_RTOL = 1e-9, F64_GRAD_ATOL_PER_MAX = 1e-12;

const RUNS = () => [...DEVICES.map((dev) => ({ dev, dtype: 'f32' as const })), { dev: DEVICES[0], dtype: 'f64' as const }];
/** DNER_PARITY_REPORT=1 prints the largest errors of every run. */
const report = process.env.DNER_PARITY_REPORT === '1';

/** The largest absolute error, and the largest error relative to the tensor's largest |expected|. */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>): { abs: number; rel: number } {
  let abs = 0, big = 0;
  for (let i = 0; i < expected.length; i++) { abs = Math.max(abs, Math.abs(actual[i] - expected[i])); big = Math.max(big, Math.abs(expected[i])); }
  return { abs, rel: big ? abs / big : abs };
}

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
  const prefix = `${tag}.grad.`;
  const theirs = new Set([...fx.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
  let gradWorst = { abs: 0, rel: 0, name: '' };
  for (const [name, p] of model.namedParameters()) {
    if (!theirs.delete(name)) throw new Error(`${name}: torch has no gradient for it`);
    if (!p.grad || p.grad.dtype !== dtype) throw new Error(`${name}: no ${dtype} gradient on ${where}`);
    const expected = get(prefix + name).data, actual = await p.grad.data();
    const largest = Math.max(...Array.from(expected, Math.abs));
    const tol = dtype === 'f64' ? { rtol: F64_GRAD_RTOL, atol: F64_GRAD_ATOL_PER_MAX * largest } : { rtol: GRAD_RTOL, atol: GRAD_ATOL_PER_MAX * largest };
    assertClose(actual, expected, tol, `d loss / d ${name} on ${where}`);
    const w = worst(actual, expected);
    if (w.rel > gradWorst.rel) gradWorst = { ...w, name };
  }
  if (theirs.size) throw new Error(`torch has gradients for parameters the model lacks: ${[...theirs].join(', ')}`);
  return gradWorst;
}

for (const [tag, conv] of [['noconv', false], ['conv', true]] as const) {
  for (const secondBranch of SECOND_BRANCHES) {
    s(`conv ${conv ? 'on' : 'off'}, ${secondBranch} second branch: scores, loss and every gradient match torch (f32 on every device, f64 on cpu)`, async () => {
      for (const { dev, dtype } of RUNS()) {
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
        if (report) {
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
  for (const { dev, dtype } of RUNS()) {
    const where = `${dev.name} (${dtype}), 2 parts`;
    const model = await fixtureModel(dev, dtype, false, 'folded');
    const b = model.batch(sentences, dev, lengths[0] ** 2);
    if (b.parts.map((p) => p.lengths.join(',')).join(' | ') !== '5 | 3,1') throw new Error(`${where}: parts ${b.parts.map((p) => p.lengths.join(',')).join(' | ')}`);
    const { total } = await model.lossAndBackward(b, { labelSmoothing: LABEL_SMOOTHING });
    const g = await checkLossAndGradients(model, total, 'noconv', dtype, where);
    if (report) console.log(`noconv folded ${where}: loss rel ${(Math.abs(total - get('noconv.loss').data[0]) / get('noconv.loss').data[0]).toExponential(1)}; gradients worst ${g.name}: abs ${g.abs.toExponential(1)}, ${g.rel.toExponential(1)} of |g|max`);
    model.disposeBatch(b);
    model.dispose();
  }
});

s.run();
