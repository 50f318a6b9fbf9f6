import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { addForwardHook, recordForwards } from '../../../src/nn/hooks.js';
import { Linear } from '../../../src/nn/layers.js';
import { DiffusionNER } from '../../../src/models/diffusionner/model.js';
import { denoisingVerdict, formatDenoising, formatTrace, tablePhases, traceSentence } from '../../../src/models/diffusionner/trace.js';
import { formatModuleTable, moduleTableRows, moduleValuesFilter } from '../../../src/ner/trace.js';
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

s('a trace may begin DDIM below the top (startT); without it, and predictions, begin at T − 1 exactly as before', async () => {
  const model = make(T.cpu);
  model.eval();
  const b = model.batch([{ tokens, entities: [] }], T.cpu);
  const finals = async (startT?: number) => {
    let got: unknown = null;
    await model.predict(b, { steps: 3, threshold: 0, rng: new T.RNG(4), startT, onFinal: (f) => { got = f; } });
    return JSON.stringify(got, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
  };
  // The default path is the official sampler's: starting at T − 1 explicitly changes nothing.
  if (await finals(undefined) !== await finals(999)) throw new Error('startT = T − 1 differs from the default');
  if (await finals(undefined) === await finals(100)) throw new Error('startT = 100 changed nothing');
  DiffusionNER.disposeBatch(b);
  const top = await traceSentence(model, T.cpu, tokens, { steps: 3 });
  if (top.options.startT !== 999 || top.steps[0].t !== 999) throw new Error(`default start ${top.options.startT}, first t ${top.steps[0].t}`);
  const low = await traceSentence(model, T.cpu, tokens, { steps: 3, startT: 200 });
  // γ + 1 points evenly from −1 to startT, as the official spacing from −1 to T − 1.
  if (JSON.stringify(low.steps.map((st) => [st.t, st.tNext])) !== JSON.stringify([[200, 133], [133, 66], [66, -1]])) throw new Error(JSON.stringify(low.steps.map((st) => [st.t, st.tNext])));
  if (low.options.startT !== 200 || !formatTrace(low).includes('DDIM steps from t = 200')) throw new Error('the start is not reported');
  for (const bad of [{ startT: 1000 }, { startT: -1 }, { startT: 1, steps: 3 }]) {
    let threw = false;
    try { await traceSentence(model, T.cpu, tokens, bad); } catch { threw = true; }
    if (!threw) throw new Error(`accepted ${JSON.stringify(bad)}`);
  }
  model.dispose();
});

s('each step measures the denoising: noisy-to-decoded distance and decoded spans changed; the verdict says what the steps did', async () => {
  const model = make(T.cpu);
  const t = await traceSentence(model, T.cpu, tokens, { steps: 4 });
  t.steps.forEach((st, i) => {
    const d = st.spans.reduce((a, x) => a + (Math.abs(x.noisyLeft - x.left) + Math.abs(x.noisyRight - x.right)) / 2, 0) / st.spans.length;
    const prev = t.steps[i - 1]?.spans;
    const changed = prev ? st.spans.filter((x, k) => x.left !== prev[k].left || x.right !== prev[k].right || x.type !== prev[k].type).length : 0;
    if (Math.abs(st.distance - d) > 1e-9 || st.changed !== changed) throw new Error(`step ${i}: distance ${st.distance} vs ${d}, changed ${st.changed} vs ${changed}`);
  });
  const text = formatDenoising(t);
  if (!/noisy spans [\d.]+ words from the decoded ones, \d+ decoded spans changed/.test(text)) throw new Error(text.split('\n')[0]);
  // A trace whose decoded spans never move says so and points at --start-t and --compare.
  const still = { ...t, steps: t.steps.map((st) => ({ ...st, changed: 0 })) };
  if (!/never changed after step 1/.test(denoisingVerdict(still)) || !/--start-t/.test(denoisingVerdict(still)) || !/--compare/.test(denoisingVerdict(still))) throw new Error(denoisingVerdict(still));
  const moving = { ...t, steps: t.steps.map((st, i) => ({ ...st, changed: i ? 2 : 0 })) };
  if (!/6 decoded spans changed over steps 2\.\.4/.test(denoisingVerdict(moving))) throw new Error(denoisingVerdict(moving));
  if (!formatTrace(t).includes(denoisingVerdict(t))) throw new Error('the text trace has no verdict');
  model.dispose();
});

s('values are kept only for the modules chosen (names or * patterns); an unknown name is an error listing the modules', async () => {
  const model = make(T.cpu);
  const t = await traceSentence(model, T.cpu, tokens, { steps: 2, values: ['lstm', 'decoder.*_pointer'] });
  const withValues = new Set(t.modules.filter((r) => [...Object.values(r.outputs), ...Object.values(r.inputs)].some((x) => x.values)).map((r) => r.module));
  if ([...withValues].sort().join() !== 'decoder.left_pointer,decoder.right_pointer,lstm') throw new Error([...withValues].join());
  const lstm = t.modules.find((r) => r.module === 'lstm')!;
  if (lstm.outputs.out.values?.length !== 96) throw new Error('lstm values');
  const names = [...model.namedModules()].map(([n]) => n);
  if (!moduleValuesFilter(['all'], names)('decoder.classifier') || moduleValuesFilter(['lstm'], names)('lstm.fwd')) throw new Error('all / exact names');
  for (const bad of [['nosuch'], ['Peter Blackburn'], []]) {
    let msg = '';
    try { moduleValuesFilter(bad, names); } catch (e) { msg = (e as Error).message; }
    if (!/^--values/.test(msg) || (bad.length && !msg.includes('word_embed'))) throw new Error(`${JSON.stringify(bad)}: ${msg}`);
  }
  model.dispose();
});

s('the layer table\'s rows (the HTML page\'s) are the text table\'s', async () => {
  const model = make(T.cpu);
  const t = await traceSentence(model, T.cpu, tokens, { steps: 2 });
  const rows = moduleTableRows(t.modules, tablePhases(t));
  const text = formatModuleTable(t.modules, tablePhases(t)).split('\n').slice(1);
  if (rows.length !== text.length || rows.some((r, i) => text[i].split(/\s+/).filter(Boolean).join(' ') !== r.join(' '))) throw new Error(`${rows.length} rows vs ${text.length} lines`);
  if (!rows.some((r) => r[0].startsWith('step 1')) || rows.some((r) => r[0].startsWith('step 2'))) throw new Error('phases');
  model.dispose();
});

s.run();
