/**
 * Our DiffusionNER and the PyTorch peer of the e2e benchmark (bench/peers/diffusionner_torch.py) are the
 * same function: with the peer's weights loaded (same parameter names), the encoder output and the
 * decoder's logits and boundary probabilities agree on both devices, for both span poolings.
 * Fixture: scripts/fixtures/make_diffusionner.py.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import * as D from '../../src/diffusion/index.js';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { DiffusionNER, type Batch } from '../../src/ner/model.js';
import { assertClose, DEVICES } from '../helpers.js';

const s = suite('DiffusionNER equals its PyTorch peer on shared weights');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'diffusionner-forward.safetensors'));
const get = (k: string) => fx.get(k) ?? (() => { throw new Error(`fixture has no ${k}`); })();

for (const [tag, spanPooling] of [['lr', 'lrconcat'], ['mean', 'meanpool']] as const) {
  s(`${spanPooling}: encoder output, logits and boundary probabilities match torch on every device`, async () => {
    const lengths = Array.from(get('lengths').data);
    const [B, M] = get(`${tag}.ids`).shape;
    for (const dev of DEVICES) {
      const model = new DiffusionNER({
        vocab: Array.from({ length: 20 }, (_, i) => `w${i}`), types: ['A', 'B', 'C'], chars: Array.from({ length: 12 }, (_, i) => `c${i}`),
        hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 6, lstmLayers: 2, proposals: 5, heads: 2, ffn: 24, dropout: 0.1, spanPooling,
      }, { device: dev });
      const state = new Map([...fx].filter(([k]) => k.startsWith(`${tag}.param.`)).map(([k, v]) => [k.slice(`${tag}.param.`.length), v]));
      await model.loadStateDict(state);
      model.eval();
      const t = (k: string) => T.tensor(get(k).data, { shape: get(k).shape, device: dev, dtype: get(k).dtype });
      const mask = T.tensor(Float32Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], device: dev });
      const b: Batch = { ids: t(`${tag}.ids`), mask, chars: { ids: t(`${tag}.char_ids`), mask: t(`${tag}.char_mask`) }, pieces: null, lengths, gold: [] };
      const out = T.noGrad(() => {
        const words = model.encode(b);
        return { encoded: words, ...model.decoder.forward(D.xToPairs(t(`${tag}.xt`), 1), model.decoder.prepare(words, mask, lengths), Array.from(get(`${tag}.t`).data)) };
      });
      const tol = { rtol: 2e-4, atol: 2e-5 };
      assertClose(await out.encoded.data(), get(`${tag}.words`).data, tol, `encoder output on ${dev.name}`);
      assertClose(await out.logits.data(), get(`${tag}.logits`).data, tol, `logits on ${dev.name}`);
      assertClose(await out.left.data(), get(`${tag}.left`).data, tol, `P(left) on ${dev.name}`);
      assertClose(await out.right.data(), get(`${tag}.right`).data, tol, `P(right) on ${dev.name}`);
      model.dispose();
    }
  });
}

s.run();
