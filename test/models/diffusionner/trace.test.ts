import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { addForwardHook, recordForwards } from '../../../src/nn/hooks.js';
import { Linear } from '../../../src/nn/layers.js';
import { DiffusionNER } from '../../../src/models/diffusionner/model.js';
import { formatDenoising, traceSentence } from '../../../src/models/diffusionner/trace.js';
import { formatModuleTable } from '../../../src/ner/trace.js';
import { DEVICES } from '../../helpers.js';

const s = suite('hooks and traces');
const tokens = ['Alice', 'met', 'Bob', 'in', 'Paris', '.'];
const make = (dev: T.Device) => new DiffusionNER({
  vocab: ['[PAD]', '[UNK]', ...tokens], types: ['PER', 'LOC'], chars: ['<pad>', '<unk>', ...new Set(tokens.join(''))],
  hidden: 16, embedding: 8, charEmbedding: 4, charFilters: 4, lstmLayers: 1, proposals: 5, heads: 2, ffn: 16, dropout: 0.1,
}, { device: dev, rng: new T.RNG(2) });

s('a forward hook sees inputs and output of any module and is removed cleanly', () => {
  const lin = new Linear(3, 2, { device: T.cpu });
  const seen: unknown[] = [];
  const remove = addForwardHook(lin, 'lin', (name, _m, inputs, out) => seen.push([name, (inputs[0] as T.Tensor).shape, (out as T.Tensor).shape]));
  lin.forward(T.ones([4, 3], { device: T.cpu }));
  remove();
  lin.forward(T.ones([4, 3], { device: T.cpu }));
  if (JSON.stringify(seen) !== JSON.stringify([['lin', [4, 3], [4, 2]]])) throw new Error(JSON.stringify(seen));
  if (Object.prototype.hasOwnProperty.call(lin, 'forward')) throw new Error('the instance still shadows forward');
});

s('a trace lists every module with finite statistics, and γ steps of K spans, on every device', async () => {
  const traces = [];
  for (const dev of DEVICES) {
    const model = make(dev);
    const t = await traceSentence(model, dev, tokens, { steps: 3, values: true });
    const names = new Set(t.modules.map((r) => r.module));
    for (const n of ['word_embed', 'char_cnn', 'lstm', 'decoder', 'decoder.span_layers.1.norm3', 'decoder.left_pointer', 'decoder.classifier']) {
      if (!names.has(n)) throw new Error(`${n} missing from the trace on ${dev.name}`);
    }
    const lstm = t.modules.find((r) => r.module === 'lstm')!;
    if (lstm.outputs.out.shape.join() !== '1,6,16' || lstm.outputs.out.values?.length !== 96 || lstm.outputs.out.nonFinite !== 0) throw new Error(JSON.stringify(lstm.outputs.out.shape));
    if (t.modules.filter((r) => r.module === 'decoder').length !== 3) throw new Error('the decoder should run once per DDIM step');
    if (t.steps.length !== 3 || t.steps.some((st) => st.spans.length !== 5 || st.leftProbs.length !== 5 || st.leftProbs[0].length !== 6)) throw new Error('steps/spans');
    if (!(t.steps[0].alphaBar < t.steps[2].alphaBar)) throw new Error('ᾱ must rise over the steps');
    const table = formatModuleTable(t.modules), denoise = formatDenoising(t);
    if (!/decoder\.span_layers\.0\.norm1/.test(table) || !/step 3\/3/.test(denoise)) throw new Error('formatting');
    traces.push(t);
    model.dispose();
  }
  // The same weights and seed give the same trace on both devices (to float tolerance).
  if (traces.length === 2) {
    const a = traces[0].modules.find((r) => r.module === 'lstm')!.outputs.out.mean, b = traces[1].modules.find((r) => r.module === 'lstm')!.outputs.out.mean;
    if (Math.abs(a - b) > 1e-4) throw new Error(`lstm mean ${a} vs ${b}`);
  }
});

s('recordForwards holds captured tensors only until finish', async () => {
  const before = T.liveTensorCount();
  const model = make(T.cpu);
  const afterModel = T.liveTensorCount();
  const rec = recordForwards(model);
  model.eval();
  const b = model.batch([{ tokens, entities: [] }], T.cpu);
  T.noGrad(() => T.tidy(() => { model.encode(b); }));
  DiffusionNER.disposeBatch(b);
  await rec.finish();
  if (T.liveTensorCount() !== afterModel) throw new Error(`${T.liveTensorCount() - afterModel} tensors leaked`);
  model.dispose();
  if (T.liveTensorCount() !== before) throw new Error('model leak');
});

s('prediction skips the classifier before the last DDIM step without changing its outputs (a traced run classifies every step)', async () => {
  for (const dev of DEVICES) {
    const model = make(dev);
    model.eval();
    const b = model.batch([{ tokens, entities: [] }, { tokens: tokens.slice(0, 4), entities: [] }], dev);
    const finals = async (traced: boolean) => {
      let got: unknown = null;
      const before = T.liveTensorCount();
      await model.predict(b, { steps: 4, threshold: 0, rng: new T.RNG(9), onStep: traced ? () => {} : undefined, onFinal: (f) => { got = f; } });
      if (T.liveTensorCount() !== before) throw new Error(`${dev.name}: ${T.liveTensorCount() - before} tensors leaked (traced ${traced})`);
      return JSON.stringify(got, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
    };
    if (await finals(false) !== await finals(true)) throw new Error(`${dev.name}: outputs differ when intermediate steps skip the classifier`);
    DiffusionNER.disposeBatch(b);
    model.dispose();
  }
});

s.run();
