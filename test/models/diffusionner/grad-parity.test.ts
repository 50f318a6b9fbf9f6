/**
 * Whole-model gradient parity with the PyTorch peer (llm.c's habit): on the peer's weights, a batch with
 * gold entities (three in one sentence, a padded shorter sentence, an entity-less one), fixed noisy spans
 * x_t and timesteps, our DiffusionNER in train mode with dropout 0 gives torch's decoder outputs, the
 * same Hungarian matching, both loss terms of spec §1.6 and every parameter's gradient, on every device
 * and for both span poolings. The losses use the fixture's matches, so a near-tie in the matcher could
 * not hide a gradient difference; that our matcher picks the same ones is checked on its own.
 * In float32 against torch's float32 run on every device, and in float64 on the cpu device against
 * torch's float64 run (`<tag>.f64.*`, same weights and matches) at a tolerance only double precision meets.
 * Fixture: scripts/fixtures/make_diffusionner_grads.py.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import * as D from '../../../src/diffusion/index.js';
import { readSafetensors } from '../../../src/nn/safetensors.js';
import { DiffusionNER, type Batch } from '../../../src/models/diffusionner/model.js';
import { diffusionNerLosses, type GoldSpan, type Match, matchProposals } from '../../../src/models/diffusionner/criterion.js';
import { assertClose, DEVICES } from '../../helpers.js';

const s = suite('DiffusionNER losses and gradients equal its PyTorch peer on shared weights');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'fixtures', 'diffusionner-grads.safetensors'), { f64: true });
const get = (k: string) => fx.get(k) ?? (() => { throw new Error(`fixture has no ${k}`); })();

const lengths = Array.from(get('lengths').data);
const [B, M] = get('ids').shape;
const K = get('xt').shape[1];
const timesteps = Array.from(get('t').data);
/** (B, n, 3) rows of (left, right, type), −1 padded -> spans per sentence. */
const spans = (k: string): GoldSpan[][] => {
  const { shape: [, n], data } = get(k);
  return Array.from({ length: B }, (_, b) => Array.from({ length: n }, (_, j) => data.slice((b * n + j) * 3, (b * n + j + 1) * 3))
    .filter((r) => r[0] >= 0).map(([left, right, type]) => ({ left, right, type })));
};
const gold = spans('gold');

// f32 on both sides. Measured on lavapipe and the cpu device, both poolings: outputs within 6e-7 absolute,
// loss terms within 1.7e-7 relative, gradients within 1.9e-6 absolute and 6.7e-7 of their tensor's largest
// |g| (per-tensor max|g| runs from 3.9e-3 to 7.6). So the gradients' atol scales with their tensor, and a
// tensor of small gradients is held as tightly as one of large (a 30x margin over the measured error).
const OUT_TOL = { rtol: 2e-4, atol: 2e-5 }; // the forward parity test's
const LOSS_TOL = { rtol: 1e-5, atol: 1e-6 };
const GRAD_RTOL = 2e-4, GRAD_ATOL_PER_MAX = 2e-5;
// f64 on the cpu device: measured within 2.1e-16 (loss terms, relative) and 3.6e-15 (gradients, absolute).
const F64_LOSS_TOL = { rtol: 1e-12, atol: 1e-14 };
const F64_GRAD_RTOL = 1e-9, F64_GRAD_ATOL_PER_MAX = 1e-12;

/** The runs: f32 on every device against torch's float32 run, f64 on the cpu device against its float64 run. */
const RUNS = () => [...DEVICES.map((dev) => ({ dev, dtype: 'f32' as const })), { dev: DEVICES[0], dtype: 'f64' as const }];

for (const [tag, spanPooling] of [['lr', 'lrconcat'], ['mean', 'meanpool']] as const) {
  s(`${spanPooling}: matching, both loss terms and every parameter's gradient match torch (f32 on every device, f64 on cpu)`, async () => {
    const matchAt = get(`${tag}.match`).data; // (B, K) gold row per proposal, −1: unmatched
    const matches: Match[] = Array.from({ length: B }, (_, b) => {
      const proposals = Array.from({ length: K }, (_, i) => i).filter((i) => matchAt[b * K + i] >= 0);
      return { proposals, golds: proposals.map((i) => matchAt[b * K + i]) };
    });
    for (const { dev, dtype } of RUNS()) {
      const where = `${dev.name} (${dtype})`, ref = dtype === 'f64' ? `${tag}.f64` : tag;
      const model = new DiffusionNER({
        vocab: Array.from({ length: 20 }, (_, i) => `w${i}`), types: ['A', 'B', 'C'], chars: Array.from({ length: 12 }, (_, i) => `c${i}`),
        hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 6, lstmLayers: 2, proposals: K, heads: 2, ffn: 24, dropout: 0, spanPooling,
      }, { device: dev, dtype });
      const own = model.stateDict();
      // meanpool's parameters are lrconcat's without the start/end/down projections: the fixture holds lrconcat's.
      await model.loadStateDict(new Map([...fx].filter(([k]) => k.startsWith('param.') && own.has(k.slice(6))).map(([k, v]) => [k.slice(6), v])));
      model.train();

      // The gold rows the proposals are matched against are the fixture's (gold repeated to K).
      const { rows } = model.expandGold(gold, lengths);
      if (JSON.stringify(rows) !== JSON.stringify(spans('rows'))) throw new Error(`expandGold gives ${JSON.stringify(rows)}, the fixture ${JSON.stringify(spans('rows'))}`);

      const t = (k: string) => T.tensor(get(k).data, { shape: get(k).shape, device: dev, dtype: get(k).dtype === 'i32' ? 'i32' : dtype });
      const mask = T.tensor(Float32Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], device: dev, dtype });
      const b: Batch = { ids: t('ids'), mask, chars: { ids: t('char_ids'), mask: t('char_mask') }, pieces: null, lengths, gold };
      const xt = t('xt');
      const out = model.decoder.forward(D.xToPairs(xt, 1), model.decoder.prepare(model.encode(b), mask, lengths, K), timesteps);
      if (out.logits.dtype !== dtype) throw new Error(`${where}: logits in ${out.logits.dtype}`);
      const [logits, left, right] = await Promise.all([out.logits.data(), out.left.data(), out.right.data()]);
      assertClose(logits, get(`${tag}.logits`).data, OUT_TOL, `logits on ${where}`);
      assertClose(left, get(`${tag}.left`).data, OUT_TOL, `P(left) on ${where}`);
      assertClose(right, get(`${tag}.right`).data, OUT_TOL, `P(right) on ${where}`);

      // Our matcher on our outputs assigns every proposal the gold span scipy assigned it (rows repeat,
      // so the row index itself is free among equal rows).
      const probs = await T.noGrad(() => T.softmax(out.logits, -1)).data();
      const ours = matchProposals(left, right, probs, rows, K, M, 3 + 1);
      const spanOf = (m: Match[]) => m.map((mb, s) => Array.from({ length: K }, (_, i) => {
        const n = mb.proposals.indexOf(i);
        return n < 0 ? null : rows[s][mb.golds[n]];
      }));
      if (JSON.stringify(spanOf(ours)) !== JSON.stringify(spanOf(matches))) {
        throw new Error(`matching on ${where}: ours ${JSON.stringify(spanOf(ours))}, torch ${JSON.stringify(spanOf(matches))}`);
      }

      const parts = diffusionNerLosses(out.logits, out.left, out.right, mask, rows, matches);
      if (parts.matched !== matches.reduce((n, m) => n + m.proposals.length, 0)) throw new Error(`N_match ${parts.matched}`);
      const loss = T.add(parts.classification, parts.boundary);
      const terms = [...await parts.classification.data(), ...await parts.boundary.data()];
      loss.backward();
      assertClose(terms, get(`${ref}.loss`).data, dtype === 'f64' ? F64_LOSS_TOL : LOSS_TOL, `loss terms (classification, boundary) on ${where}`);

      // Every parameter: a gradient on both sides, equal; none in the fixture that the model lacks.
      const prefix = `${ref}.grad.`;
      const theirs = new Set([...fx.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)));
      for (const [name, p] of model.namedParameters()) {
        if (!theirs.delete(name)) throw new Error(`${name}: torch has no gradient for it`);
        if (!p.grad || p.grad.dtype !== dtype) throw new Error(`${name}: no ${dtype} gradient on ${where}`);
        const expected = get(prefix + name).data;
        const largest = Math.max(...Array.from(expected, Math.abs));
        const tol = dtype === 'f64' ? { rtol: F64_GRAD_RTOL, atol: F64_GRAD_ATOL_PER_MAX * largest } : { rtol: GRAD_RTOL, atol: GRAD_ATOL_PER_MAX * largest };
        assertClose(await p.grad.data(), expected, tol, `d loss / d ${name} on ${where}`);
      }
      if (theirs.size) throw new Error(`torch has gradients for parameters the model lacks: ${[...theirs].join(', ')}`);
      for (const x of [b.ids, mask, b.chars!.ids, b.chars!.mask, xt]) x.dispose();
      model.dispose();
    }
  });
}

s.run();
