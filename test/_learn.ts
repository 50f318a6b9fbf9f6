import * as T from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { DiffusionNER } from '../src/ner/model.js';
import { score } from '../src/ner/decode.js';

const dev = await T.getDevice((process.env.DEV ?? 'cpu') as 'cpu');
const rng = new T.RNG(1);
const filler = Array.from({ length: 20 }, (_, i) => `f${i}`);
const typeWords: Record<string, string[]> = { A: ['a0', 'a1', 'a2', 'a3'], B: ['b0', 'b1', 'b2', 'b3'] };
function sentence() {
  const n = 4 + rng.int(5);
  const tokens = Array.from({ length: n }, () => filler[rng.int(filler.length)]);
  const entities: { start: number; end: number; type: string }[] = [];
  const ne = 1 + rng.int(2);
  for (let e = 0; e < ne; e++) {
    const len = 1 + rng.int(2), start = rng.int(n - len + 1), type = rng.uniform() < 0.5 ? 'A' : 'B';
    if (entities.some((x) => start < x.end && x.start < start + len)) continue;
    for (let i = 0; i < len; i++) tokens[start + i] = typeWords[type][rng.int(4)];
    entities.push({ start, end: start + len, type });
  }
  return { tokens, entities };
}
const train = Array.from({ length: 400 }, sentence), dev_ = Array.from({ length: 60 }, sentence);
const vocab = ['[PAD]', '[UNK]', ...filler, ...Object.values(typeWords).flat()];
const model = new DiffusionNER({ vocab, types: ['A', 'B'], hidden: 32, lstmLayers: 1, proposals: 8, heads: 4, ffn: 64, dropout: 0 }, { device: dev, rng: new T.RNG(2) });
const opt = new nn.AdamW(model.parameters(), { lr: Number(process.env.LR ?? 1e-3) });
const BS = 16;
const t0 = performance.now();
for (let step = 1; step <= Number(process.env.STEPS ?? 300); step++) {
  const batch = Array.from({ length: BS }, () => train[rng.int(train.length)]);
  const b = model.batch(batch, dev);
  const parts = await model.lossAndBackward(b);
  const { scale } = await nn.clipGradNorm(model.parameters(), 1);
  opt.step(scale);
  opt.zeroGrad();
  if (step % 50 === 0) {
    const db = model.batch(dev_, dev);
    const preds = await model.predict(db, { steps: 5 });
    [db.ids, db.mask].forEach((t) => t.dispose());
    const gold = dev_.map((s) => s.entities.map((e) => ({ left: e.start, right: e.end - 1, type: e.type === 'A' ? 1 : 2 })));
    const r = score(gold, preds, ['A', 'B']);
    console.log(`step ${step} cls ${parts.classification.toFixed(3)} bnd ${parts.boundary.toFixed(3)} dev F1 ${r.micro.f1.toFixed(1)} (P ${r.micro.precision.toFixed(1)} R ${r.micro.recall.toFixed(1)}) ${((performance.now() - t0) / 1000).toFixed(0)}s live ${T.liveTensorCount()}`);
  }
  [b.ids, b.mask].forEach((t) => t.dispose());
}
process.exit(0);
