/**
 * A batch too large for the device is split into parts: training sums the parts' gradients weighted by
 * their share of the cells, which must equal the one-part batch's mean loss and gradients; inference
 * returns every sentence in order.
 */
import { suite } from 'uvu';
import { BOPN } from '../../../src/models/bopn/model.js';
import { RNG } from '../../../src/tensor/random.js';
import { cpu } from '../../../src/tensor/device.js';
import { DEVICES } from '../../helpers.js';
import type { Device } from '../../../src/tensor/device.js';

const s = suite('bopn batch parts');

const sentences = [
  { tokens: ['a', 'b', 'c', 'a', 'b'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 1, end: 2, type: 'LOC' }] },
  { tokens: ['b', 'c'], entities: [{ start: 1, end: 2, type: 'LOC' }] },
  { tokens: ['c', 'a', 'a'], entities: [] },
  { tokens: ['a'], entities: [{ start: 0, end: 1, type: 'PER' }] },
];

function model(device: Device, conv: boolean): BOPN {
  const m = new BOPN({ vocab: ['<pad>', '<unk>', 'a', 'b', 'c'], hidden: 8, embedding: 6, types: ['PER', 'LOC'], biaffine: 5, gridEmbedding: 3, conv, embeddingDropout: 0, outDropout: 0, convDropout: 0 }, { device, rng: new RNG(3) });
  m.train();
  return m;
}

async function gradients(m: BOPN): Promise<Map<string, Float64Array | null>> {
  const out = new Map<string, Float64Array | null>();
  for (const [n, p] of m.namedParameters()) out.set(n, p.grad ? Float64Array.from(await p.grad.data()) : null);
  return out;
}

s('parts train and infer as one batch, on every device', async () => {
  for (const device of DEVICES) {
    const conv = false; // with the 3-D conv a cell's score reads padded neighbours, so it depends on the padding (as officially)
    const whole = model(device, conv), split = model(device, conv);
    const one = whole.batch(sentences, device), many = split.batch(sentences, device, 10);
    if (one.parts.length !== 1 || many.parts.length < 3) throw new Error(`parts: ${one.parts.length} and ${many.parts.length}`);
    const [l1, l2] = [await whole.lossAndBackward(one, {}), await split.lossAndBackward(many, {})];
    if (Math.abs(l1.total - l2.total) > 1e-5 * Math.abs(l1.total)) throw new Error(`loss ${l1.total} vs ${l2.total}`);
    const [g1, g2] = [await gradients(whole), await gradients(split)];
    for (const [n, a] of g1) {
      const b = g2.get(n)!;
      if (!a || !b) continue;
      const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-4 * scale) throw new Error(`${n}[${i}]: ${a[i]} vs ${b[i]}`);
    }
    whole.eval(); split.eval();
    const [r1, r2] = [await whole.infer(one, {}), await split.infer(many, {})];
    if (r1.length !== 4 || r2.length !== 4) throw new Error('a sentence went missing');
    r1.forEach((r, i) => { if (r.n !== sentences[i].tokens.length || r.labels.join() !== r2[i].labels.join()) throw new Error(`sentence ${i} differs`); });
    whole.disposeBatch(one); split.disposeBatch(many);
  }
});

s('a part never holds more cells than the budget, unless one sentence alone does', () => {
  const m = model(cpu, false);
  const b = m.batch(sentences, cpu, 20);
  for (const p of b.parts) {
    const n = p.ids.shape[1];
    if (p.lengths.length > 1 && p.lengths.length * n * n > 20) throw new Error(`a part of ${p.lengths.length} × ${n}² cells`);
  }
  if (b.parts.reduce((a, p) => a + p.lengths.length, 0) !== sentences.length) throw new Error('sentences lost');
  m.disposeBatch(b);
});

s.run();
