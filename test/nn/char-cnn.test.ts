import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { CharCNN } from '../../src/nn/char-cnn.js';
import { assertClose, DEVICES } from '../helpers.js';

const s = suite('character CNN');

s('equals a zero-padded width-3 convolution max-pooled over each word\'s characters, on every device', async () => {
  const words = ['Paris', 'a', '', 'naïve', 'x'.repeat(12)];
  const charList = ['<pad>', '<unk>', ...new Set(words.join(''))].filter((c) => c !== 'x'); // x is unknown
  const charIndex = new Map(charList.map((c, i) => [c, i]));
  const dim = 3, filters = 4, maxChars = 8;
  for (const dev of DEVICES) {
    const m = new CharCNN(charList.length, dim, filters, 0, { device: dev, rng: new T.RNG(5) });
    const { ids, mask, L } = CharCNN.indices(words, charIndex, maxChars);
    const out = T.noGrad(() => m.forward(T.tensor(ids, { shape: [words.length, L + 2], device: dev }), T.tensor(mask, { shape: [words.length, L, 1], device: dev })));
    const E = await m.embed.weight.data(), W = await m.conv.weight.data(), bias = await m.conv.bias!.data();
    const want: number[] = [];
    for (const w of words) {
      const cs = [...w].slice(0, maxChars).map((c) => charIndex.get(c) ?? 1);
      const emb = (p: number, k: number) => (p >= 0 && p < cs.length ? E[cs[p] * dim + k] : 0);
      for (let f = 0; f < filters; f++) {
        let best = -Infinity;
        for (let p = 0; p < Math.max(1, cs.length); p++) {
          let v = bias[f];
          for (let o = 0; o < 3; o++) for (let k = 0; k < dim; k++) v += W[f * 3 * dim + o * dim + k] * emb(p - 1 + o, k);
          best = Math.max(best, v);
        }
        want.push(best);
      }
    }
    assertClose(await out.data(), want, { rtol: 1e-5, atol: 1e-5 }, `char CNN on ${dev.name}`);
    out.dispose(); m.dispose();
  }
});

s.run();
