/**
 * A batch too large for the device is split into parts: training weights each part's threshold loss by
 * its share of the (sentence, type) rows and its mention loss by its share of the mentions, which must
 * equal the one-part batch's loss and gradients; inference returns every sentence in order.
 */
import { suite } from 'uvu';
import { Binder, withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig } from '../../../src/models/binder/config.js';
import { RNG } from '../../../src/tensor/random.js';
import { cpu, type Device } from '../../../src/tensor/device.js';
import { DEVICES } from '../../helpers.js';

const s = suite('binder batch parts');

const sentences = [
  { tokens: ['a', 'b', 'c', 'a', 'b'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 1, end: 2, type: 'LOC' }] },
  { tokens: ['b', 'c'], entities: [{ start: 1, end: 2, type: 'LOC' }] },
  { tokens: ['c', 'a', 'a'], entities: [] },
  { tokens: ['a'], entities: [{ start: 0, end: 1, type: 'PER' }] },
];

function model(device: Device): Binder {
  // No dropout: the parts draw their masks in another order than the whole batch.
  const cfg = withDescriptions({ vocab: ['[PAD]', '[UNK]', 'a', 'b', 'c'], hidden: 8, embedding: 6, types: ['PER', 'LOC'], linearSize: 5, lstmLayers: 1, dropout: 0, linearDropout: 0 } as BinderConfig);
  const m = new Binder(cfg, { device, rng: new RNG(3) });
  m.train();
  return m;
}

s('parts train and infer as one batch, on every device', async () => {
  for (const device of DEVICES) {
    const whole = model(device), split = model(device);
    const one = whole.batch(sentences, device), many = split.batch(sentences, device, 20);
    if (one.parts.length !== 1 || many.parts.length < 3) throw new Error(`parts: ${one.parts.length} and ${many.parts.length}`);
    const [l1, l2] = [await whole.lossAndBackward(one, {}), await split.lossAndBackward(many, {})];
    if (Math.abs(l1.total - l2.total) > 1e-5 * Math.abs(l1.total)) throw new Error(`loss ${l1.total} vs ${l2.total}`);
    for (const k of ['mention', 'threshold', 'mentionSpan', 'thresholdStart']) if (Math.abs(l1.terms[k] - l2.terms[k]) > 1e-5 * Math.abs(l1.terms[k])) throw new Error(`${k}: ${l1.terms[k]} vs ${l2.terms[k]}`);
    const g2 = new Map([...split.namedParameters()].map(([n, p]) => [n, p.grad]));
    for (const [n, p] of whole.namedParameters()) {
      if (!p.grad || !g2.get(n)) throw new Error(`${device.kind} ${n}: no gradient`);
      const [a, b] = [await p.grad.data(), await g2.get(n)!.data()];
      const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-4 * scale) throw new Error(`${device.kind} ${n}[${i}]: ${a[i]} vs ${b[i]}`);
    }
    whole.eval(); split.eval();
    const [r1, r2] = [await whole.infer(one), await split.infer(many)];
    if (r1.length !== 4 || r2.length !== 4) throw new Error('a sentence went missing');
    r1.forEach((r, i) => {
      if (r.n !== sentences[i].tokens.length) throw new Error(`sentence ${i}: ${r.n} words`);
      for (let k = 0; k < r.spans.length; k++) if (Math.abs(r.spans[k] - r2[i].spans[k]) > 1e-4 * Math.max(1, Math.abs(r.spans[k]))) throw new Error(`sentence ${i} differs`);
    });
    whole.disposeBatch(one); split.disposeBatch(many);
    whole.dispose(); split.dispose();
  }
});

s('a part never holds more cells than the budget, unless one sentence alone does', () => {
  const m = model(cpu);
  const b = m.batch(sentences, cpu, 20);
  for (const p of b.parts) {
    const n1 = p.ids.shape[1] + 1;
    if (p.lengths.length > 1 && p.lengths.length * n1 * n1 > 20) throw new Error(`a part of ${p.lengths.length} × ${n1}² cells`);
  }
  if (b.parts.reduce((a, p) => a + p.lengths.length, 0) !== sentences.length) throw new Error('sentences lost');
  m.disposeBatch(b);
  m.dispose();
});

s.run();
