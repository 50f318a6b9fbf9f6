/**
 * The span projection folded (A·h_i + B·h_j + (C·W)[w] + b by broadcasting) equals the official concat
 * form Linear([h_i; h_j; W(w)]): the span vectors, the loss and every gradient, in f64 on the cpu device
 * and in f32 on webgpu.
 */
import { suite } from 'uvu';
import { Binder, withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig, SpanFold } from '../../../src/models/binder/config.js';
import { RNG } from '../../../src/tensor/random.js';
import { noGrad } from '../../../src/tensor/tensor.js';
import type { Device } from '../../../src/tensor/device.js';
import { assertClose, DEVICES } from '../../helpers.js';

const s = suite('binder span fold');

const sentences = [
  { tokens: ['a', 'b', 'c', 'a', 'b'], entities: [{ start: 0, end: 2, type: 'PER' }, { start: 1, end: 2, type: 'LOC' }, { start: 4, end: 5, type: 'LOC' }] },
  { tokens: ['b', 'c'], entities: [{ start: 0, end: 2, type: 'PER' }] },
];

function model(device: Device, spanFold: SpanFold): Binder {
  const dtype = device.kind === 'cpu' ? 'f64' : 'f32';
  // spanWidths 3 < the longest span: wide spans share the last width row.
  const cfg = withDescriptions({ vocab: ['[PAD]', '[UNK]', 'a', 'b', 'c'], hidden: 8, embedding: 6, types: ['PER', 'LOC'], linearSize: 5, spanWidths: 3, lstmLayers: 1, spanFold } as BinderConfig);
  const m = new Binder(cfg, { device, rng: new RNG(11), dtype });
  m.train();
  return m;
}

s('folded and concat agree: span vectors, loss and gradients', async () => {
  for (const device of DEVICES) {
    const tol = device.kind === 'cpu' ? { rtol: 1e-10, atol: 1e-12 } : { rtol: 2e-5, atol: 2e-6 };
    const [folded, concat] = [model(device, 'folded'), model(device, 'concat')];
    const [bf, bc] = [folded.batch(sentences, device), concat.batch(sentences, device)];
    const vectors = async (m: Binder, b: ReturnType<Binder['batch']>) => {
      const v = noGrad(() => m.spanVectors(m.encoder.forward(b.parts[0], m.text_cls), b.parts[0].width));
      const out = await v.data();
      v.dispose();
      return out;
    };
    assertClose(await vectors(folded, bf), await vectors(concat, bc), tol, `${device.kind} span vectors`);
    // Dropout draws the same masks in both (same seed, same order of draws).
    const [lf, lc] = [await folded.lossAndBackward(bf, {}), await concat.lossAndBackward(bc, {})];
    assertClose([lf.total], [lc.total], tol, `${device.kind} loss`);
    const grads = new Map([...concat.namedParameters()].map(([n, p]) => [n, p.grad]));
    for (const [n, p] of folded.namedParameters()) {
      const g = grads.get(n);
      if (!p.grad || !g) throw new Error(`${device.kind} ${n}: no gradient`);
      const want = await g.data();
      const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
      assertClose(await p.grad.data(), want, { rtol: tol.rtol, atol: tol.atol + tol.rtol * scale }, `${device.kind} grad ${n}`);
    }
    folded.disposeBatch(bf); concat.disposeBatch(bc);
    folded.dispose(); concat.dispose();
  }
});

s.run();
