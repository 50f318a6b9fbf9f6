/**
 * The full model (scratch encoder, span decoder, diffusion training, DDIM inference) must learn tiny
 * synthetic NER tasks, flat and nested, to >= 95 F1 within 2000 steps on every device (measured: 400 to
 * 1100; the trajectory is chaotic, so a re-ordered float sum moves it by hundreds of steps, and 1000 was
 * too tight). The data is generated here: entity words come from type-specific lists, everything else is filler.
 */
import { suite } from 'uvu';
import * as T from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { score } from '../../src/ner/metrics.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { DEVICES } from '../helpers.js';

const s = suite('DiffusionNER learns synthetic tasks');

type Sent = { tokens: string[]; entities: { start: number; end: number; type: string }[] };
const filler = Array.from({ length: 20 }, (_, i) => `f${i}`);
const words = { A: ['a0', 'a1', 'a2', 'a3'], B: ['b0', 'b1', 'b2', 'b3'] };
const vocab = ['[PAD]', '[UNK]', ...filler, ...words.A, ...words.B];
const chars = ['<pad>', '<unk>', ...new Set(vocab.slice(2).join(''))];

function flat(rng: T.RNG): Sent {
  const n = 4 + rng.int(5);
  const tokens = Array.from({ length: n }, () => filler[rng.int(filler.length)]);
  const entities: Sent['entities'] = [];
  for (let e = 0, ne = 1 + rng.int(2); e < ne; e++) {
    const len = 1 + rng.int(2), start = rng.int(n - len + 1), type = rng.uniform() < 0.5 ? 'A' : 'B';
    // A filler word between entities keeps adjacent same-type entities unambiguous.
    if (entities.some((x) => start <= x.end && x.start <= start + len)) continue;
    for (let i = 0; i < len; i++) tokens[start + i] = words[type][rng.int(4)];
    entities.push({ start, end: start + len, type });
  }
  return { tokens, entities };
}

/** B entities are "a b" and contain an A entity (the a word); lone A entities too. */
function nested(rng: T.RNG): Sent {
  const n = 5 + rng.int(4);
  const tokens = Array.from({ length: n }, () => filler[rng.int(filler.length)]);
  const entities: Sent['entities'] = [];
  for (let e = 0; e < 2; e++) {
    const outer = rng.uniform() < 0.6, len = outer ? 2 : 1, start = rng.int(n - len + 1);
    if (entities.some((x) => start <= x.end && x.start <= start + len)) continue;
    tokens[start] = words.A[rng.int(4)];
    entities.push({ start, end: start + 1, type: 'A' });
    if (outer) { tokens[start + 1] = words.B[rng.int(4)]; entities.push({ start, end: start + 2, type: 'B' }); }
  }
  return { tokens, entities };
}

for (const dev of DEVICES) {
  for (const [name, gen, mode] of [['flat', flat, 'flat'], ['nested', nested, 'nested']] as const) {
    s(`${name} task on ${dev.name}: >= 95 F1 within 2000 steps`, async () => {
      const rng = new T.RNG(1);
      const train = Array.from({ length: 400 }, () => gen(rng)), held = Array.from({ length: 60 }, () => gen(rng));
      // The whole scratch encoder: words with word dropout, and the char CNN.
      const model = new DiffusionNER({
        vocab, types: ['A', 'B'], hidden: 32, lstmLayers: 1, proposals: 8, heads: 4, ffn: 64, dropout: 0,
        chars, charEmbedding: 8, charFilters: 8, wordDropout: 0.05,
      }, { device: dev, rng: new T.RNG(2) });
      const opt = new nn.AdamW(model.parameters(), { lr: 3e-3 });
      const gold = held.map((x) => x.entities.map((e) => ({ left: e.start, right: e.end - 1, type: e.type === 'A' ? 1 : 2 })));
      model.eval();
      const heldBatch = model.batch(held, dev);
      model.train();
      const trail: string[] = [];
      try {
        for (let step = 1; step <= 2000; step++) {
          const b = model.batch(Array.from({ length: 16 }, () => train[rng.int(train.length)]), dev);
          await model.lossAndBackward(b);
          DiffusionNER.disposeBatch(b);
          opt.step((await nn.clipGradNorm(model.parameters(), 1)).scale);
          opt.zeroGrad();
          if (step >= 300 && step % 100 === 0) {
            model.eval();
            const f1 = score(gold, await model.predict(heldBatch, { steps: 5, proposals: 16, mode, rng: new T.RNG(3) }), ['A', 'B']).micro.f1;
            model.train();
            trail.push(`${step}: ${f1.toFixed(1)}`);
            if (f1 >= 95) return;
          }
        }
        throw new Error(`F1 stayed below 95 (${trail.join(', ')})`);
      } finally {
        DiffusionNER.disposeBatch(heldBatch);
        opt.dispose();
        model.dispose();
        if (process.env.DNER_VERBOSE) console.log(`  ${name}/${dev.name}: ${trail.join(', ')}`);
      }
    });
  }
}

s.run();
