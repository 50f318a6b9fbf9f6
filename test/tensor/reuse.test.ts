/**
 * The allocation path real runs take. Tests poison every new tensor, which forces a fresh upload-safe
 * buffer; without poisoning, a buffer released in the unsubmitted batch becomes the next kernel's output
 * (buffer-pool.ts). Here poisoning is off, and a whole DiffusionNER training step and a DDIM sampling
 * run, twice each so the second run reuses the first one's buffers, must match the cpu device.
 */
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import { DiffusionNER, type FinalProposals } from '../../src/models/diffusionner/model.js';
import { assertClose, webgpu } from '../helpers.js';

const s = suite('buffer reuse without poisoning (the production path)');

s('training steps and DDIM sampling on webgpu equal the cpu device, run after run', async () => {
  if (!webgpu) return;
  const before = T.allocationPolicy.poison;
  T.allocationPolicy.poison = false;
  try {
    const sentences = [
      { tokens: ['a', 'b', 'c', 'a', 'd'], entities: [{ start: 1, end: 3, type: 'PER' }, { start: 4, end: 5, type: 'LOC' }] },
      { tokens: ['d', 'c', 'b'], entities: [{ start: 0, end: 1, type: 'LOC' }] },
      { tokens: ['b', 'b', 'a', 'c'], entities: [] },
    ];
    const results: { losses: number[]; grads: Float64Array[]; finals: Float64Array[] }[] = [];
    for (const dev of [T.cpu, webgpu]) {
      const model = new DiffusionNER({
        vocab: ['<pad>', '<unk>', 'a', 'b', 'c', 'd'], types: ['PER', 'LOC'], hidden: 16, embedding: 8, lstmLayers: 2, proposals: 6, heads: 2, ffn: 24,
        dropout: 0, chars: ['<pad>', '<unk>', 'a', 'b', 'c', 'd'], charEmbedding: 4, charFilters: 6,
      }, { device: dev, rng: new T.RNG(21) });
      const r = { losses: [] as number[], grads: [] as Float64Array[], finals: [] as Float64Array[] };
      for (let run = 0; run < 2; run++) {
        const b = model.batch(sentences, dev);
        const l = await model.lossAndBackward(b);
        r.losses.push(l.terms.classification, l.terms.boundary);
        for (const p of model.parameters()) { r.grads.push(Float64Array.from(await p.grad!.data())); p.grad = null; }
        model.eval();
        let finals: FinalProposals[] = [];
        await model.predict(b, { steps: 3, rng: new T.RNG(7 + run), onFinal: (f) => { finals = f; } });
        for (const f of finals) r.finals.push(Float64Array.from([...f.left, ...f.right, ...f.probs]));
        model.train();
        DiffusionNER.disposeBatch(b);
      }
      results.push(r);
      model.dispose();
    }
    const [cpu, gpu] = results;
    assertClose(gpu.losses, cpu.losses, { rtol: 1e-4, atol: 1e-5 }, 'losses');
    gpu.grads.forEach((g, i) => assertClose(g, cpu.grads[i], { rtol: 1e-3, atol: 1e-5 }, `gradient ${i}`));
    gpu.finals.forEach((f, i) => assertClose(f, cpu.finals[i], { rtol: 1e-3, atol: 1e-5 }, `DDIM outputs of sentence ${i % 3}, run ${Math.floor(i / 3)}`));
  } finally {
    T.allocationPolicy.poison = before;
  }
});

s.run();
