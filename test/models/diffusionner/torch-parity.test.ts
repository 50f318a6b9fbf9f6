/**
 * Our DiffusionNER and the PyTorch peer of the e2e benchmark (bench/peers/diffusionner_torch.py) are the
 * same function: with the peer's weights loaded (same parameter names), the encoder output and the
 * decoder's logits and boundary probabilities agree on both devices, for both span poolings and for the
 * BERT encoder (the peer's BERT is torch's TransformerEncoder, so its names are mapped to Hugging Face's).
 * Fixture: scripts/fixtures/make_diffusionner.py.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import * as D from '../../../src/diffusion/index.js';
import { readSafetensors } from '../../../src/nn/safetensors.js';
import { DiffusionNER, type Batch } from '../../../src/models/diffusionner/model.js';
import { assertClose, DEVICES } from '../../helpers.js';

const s = suite('DiffusionNER equals its PyTorch peer on shared weights');
const fx = readSafetensors(join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'fixtures', 'diffusionner-forward.safetensors'));
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
        return { encoded: words, ...model.decoder.forward(D.xToPairs(t(`${tag}.xt`), 1), model.decoder.prepare(words, mask, lengths, get(`${tag}.xt`).shape[1]), Array.from(get(`${tag}.t`).data)) };
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

/** The peer's BERT parameter names (torch.nn.TransformerEncoder) as ours (Hugging Face's); in_proj splits into q, k, v. */
function peerBertToOurs(state: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>): Map<string, { shape: readonly number[]; data: ArrayLike<number> }> {
  const out = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  const rename: [RegExp, string][] = [
    [/^bert\.word\./, 'bert.embeddings.word_embeddings.'], [/^bert\.pos\./, 'bert.embeddings.position_embeddings.'],
    [/^bert\.token_type\./, 'bert.embeddings.token_type_embeddings.'], [/^bert\.norm\./, 'bert.embeddings.LayerNorm.'],
    [/^bert\.layers\.layers\.(\d+)\.self_attn\.out_proj\./, 'bert.encoder.layer.$1.attention.output.dense.'],
    [/^bert\.layers\.layers\.(\d+)\.norm1\./, 'bert.encoder.layer.$1.attention.output.LayerNorm.'],
    [/^bert\.layers\.layers\.(\d+)\.linear1\./, 'bert.encoder.layer.$1.intermediate.dense.'],
    [/^bert\.layers\.layers\.(\d+)\.linear2\./, 'bert.encoder.layer.$1.output.dense.'],
    [/^bert\.layers\.layers\.(\d+)\.norm2\./, 'bert.encoder.layer.$1.output.LayerNorm.'],
  ];
  for (const [k, v] of state) {
    const inProj = /^bert\.layers\.layers\.(\d+)\.self_attn\.in_proj_(weight|bias)$/.exec(k);
    if (inProj) {
      const rows = v.shape[0] / 3, width = v.shape.length === 2 ? v.shape[1] : 1;
      ['query', 'key', 'value'].forEach((part, i) => out.set(`bert.encoder.layer.${inProj[1]}.attention.self.${part}.${inProj[2]}`,
        { shape: [rows, ...v.shape.slice(1)], data: Array.from(v.data).slice(i * rows * width, (i + 1) * rows * width) }));
      continue;
    }
    const rule = rename.find(([re]) => re.test(k));
    out.set(rule ? k.replace(rule[0], rule[1]) : k, v);
  }
  return out;
}

s('BERT encoder: encoder output, logits and boundary probabilities match torch on every device', async () => {
  const lengths = Array.from(get('lengths').data);
  const [B, M] = get('bert.ids').shape;
  const ids = Array.from(get('bert.ids').data);
  const bert = { vocab_size: 20, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 512, layer_norm_eps: 1e-12 };
  for (const dev of DEVICES) {
    const model = new DiffusionNER({
      encoder: 'bert', bert, vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 15 }, (_, i) => `p${i}`)], types: ['A', 'B', 'C'],
      hidden: 16, lstmLayers: 2, proposals: 5, heads: 2, ffn: 24, dropout: 0.1, spanPooling: 'lrconcat',
    }, { device: dev });
    const state = peerBertToOurs(new Map([...fx].filter(([k]) => k.startsWith('bert.param.')).map(([k, v]) => [k.slice('bert.param.'.length), v])));
    const missing = [...model.stateDict().keys()].filter((k) => !state.has(k));
    if (missing.some((k) => !k.startsWith('bert.pooler.'))) throw new Error(`not in the peer: ${missing.join(', ')}`); // the peer has no pooler, which NER does not use
    await model.loadStateDict(state, false);
    model.eval();
    // Words are single pieces after [CLS] (id 2), with no closing [SEP]: the peer's layout and the official one.
    const S = M + 1;
    const pieceIds = new Int32Array(B * S), pieceMask = new Float32Array(B * S);
    for (let b = 0; b < B; b++) {
      pieceIds[b * S] = 2; pieceMask[b * S] = 1;
      for (let j = 0; j < lengths[b]; j++) { pieceIds[b * S + j + 1] = ids[b * M + j]; pieceMask[b * S + j + 1] = 1; }
    }
    const t = (k: string) => T.tensor(get(k).data, { shape: get(k).shape, device: dev, dtype: get(k).dtype });
    const mask = T.tensor(Float32Array.from({ length: B * M }, (_, i) => (i % M < lengths[Math.floor(i / M)] ? 1 : 0)), { shape: [B, M], device: dev });
    const b: Batch = {
      ids: t('bert.ids'), mask, chars: null, lengths, gold: [],
      pieces: { ids: T.tensor(pieceIds, { shape: [B, S], device: dev }), mask: T.tensor(pieceMask, { shape: [B, S], device: dev }), spans: lengths.map((n) => Array.from({ length: n }, (_, j): [number, number] => [j + 1, j + 2])) },
    };
    const out = T.noGrad(() => {
      const words = model.encode(b);
      return { encoded: words, ...model.decoder.forward(D.xToPairs(t('bert.xt'), 1), model.decoder.prepare(words, mask, lengths, get('bert.xt').shape[1]), Array.from(get('bert.t').data)) };
    });
    const tol = { rtol: 5e-4, atol: 5e-5 };
    assertClose(await out.encoded.data(), get('bert.words').data, tol, `encoder output on ${dev.name}`);
    assertClose(await out.logits.data(), get('bert.logits').data, tol, `logits on ${dev.name}`);
    assertClose(await out.left.data(), get('bert.left').data, tol, `P(left) on ${dev.name}`);
    assertClose(await out.right.data(), get('bert.right').data, tol, `P(right) on ${dev.name}`);
    model.dispose();
  }
});

s.run();
