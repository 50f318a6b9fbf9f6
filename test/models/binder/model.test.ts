/**
 * BINDER's parameters: their names and shapes (the PyTorch parity fixture maps them), the type encoder
 * starting as a copy of the text encoder's initial weights (untied, tied, with the character CNN), the
 * tied word table, the free type vectors of typeInputs 'embeddings', the [CLS] rows of the width table,
 * and the parameter groups.
 */
import { suite } from 'uvu';
import { Binder, withDescriptions } from '../../../src/models/binder/index.js';
import type { BinderConfig } from '../../../src/models/binder/config.js';
import { cpu } from '../../../src/tensor/device.js';
import { RNG } from '../../../src/tensor/random.js';
import { assertThrows } from '../../helpers.js';

const s = suite('binder model');

const base = (extra: Partial<BinderConfig> = {}): BinderConfig =>
  withDescriptions({ vocab: ['[PAD]', '[UNK]', 'a', 'b', 'c'], hidden: 8, embedding: 6, types: ['PER', 'LOC'], linearSize: 5, spanWidths: 7, ...extra } as BinderConfig);

const shapes = (m: Binder) => new Map([...m.namedParameters()].map(([n, p]) => [n, p.shape.join('x')]));

s('parameter names and shapes', () => {
  const m = new Binder(base({ charEmbedding: 4, charFilters: 3, chars: ['<pad>', '<unk>', 'a', 'b', 'c'], lstmLayers: 1 }), { device: cpu, rng: new RNG(1) });
  const got = shapes(m), V = m.c.vocab.length, C = m.c.chars.length, P = 6 + 3;
  const want: Record<string, string> = {
    text_cls: `1x${P}`, start_logit_scale: '', end_logit_scale: '', span_logit_scale: '',
    'word_embed.weight': `${V}x6`, 'char_cnn.embed.weight': `${C}x4`, 'lstm.weight_ih_l0': `16x${P}`, 'lstm.weight_hh_l0': '16x4', 'lstm.bias_ih_l0': '16', 'lstm.bias_hh_l0': '16',
    'lstm.weight_ih_l0_reverse': `16x${P}`, 'lstm.weight_hh_l0_reverse': '16x4', 'lstm.bias_ih_l0_reverse': '16', 'lstm.bias_hh_l0_reverse': '16',
    'type_encoder.cls': `1x${P}`, 'type_encoder.word_embed.weight': `${V}x6`, 'type_encoder.char_cnn.embed.weight': `${C}x4`, 'type_encoder.lstm.weight_ih_l0': `16x${P}`,
    'type_start_linear.weight': '5x8', 'type_start_linear.bias': '5', 'type_end_linear.weight': '5x8', 'type_end_linear.bias': '5', 'type_span_linear.weight': '5x8', 'type_span_linear.bias': '5',
    'start_linear.weight': '5x8', 'start_linear.bias': '5', 'end_linear.weight': '5x8', 'end_linear.bias': '5', 'span_linear.weight': '5x21', 'span_linear.bias': '5', 'width_embeddings.weight': '8x5',
  };
  for (const [n, shape] of Object.entries(want)) if (got.get(n) !== shape) throw new Error(`${n}: ${got.get(n)}, expected ${shape}`);
  // Every type-encoder parameter mirrors a text-encoder one.
  for (const n of got.keys()) if (n.startsWith('type_encoder.') && n !== 'type_encoder.cls' && got.get(n) !== got.get(n.slice('type_encoder.'.length))) throw new Error(`${n} has no twin`);
  const groups = m.parameterGroups();
  const enc = new Set(groups.find((g) => g.name === 'encoder')!.parameters.map(([n]) => n));
  if (!enc.has('text_cls') || !enc.has('type_encoder.lstm.weight_ih_l0') || !enc.has('lstm.weight_ih_l0') || enc.has('span_linear.weight') || enc.has('span_logit_scale')) throw new Error(`encoder group: ${[...enc].join(' ')}`);
  if (groups.reduce((a, g) => a + g.parameters.length, 0) !== got.size) throw new Error('a parameter is in no group or in two');
  m.dispose();
});

s('the type encoder starts as a copy of the text encoder (untied and tied), the heads as the official init', async () => {
  for (const tiedEmbeddings of [false, true]) {
    const m = new Binder(base({ tiedEmbeddings, charEmbedding: 4, charFilters: 3, chars: ['<pad>', '<unk>', 'a', 'b', 'c'] }), { device: cpu, rng: new RNG(5) });
    const params = new Map(m.namedParameters());
    let compared = 0;
    for (const [n, p] of params) {
      if (!n.startsWith('type_encoder.')) continue;
      const twin = n === 'type_encoder.cls' ? params.get('text_cls')! : params.get(n.slice('type_encoder.'.length))!;
      if (Array.from(p.array).some((v, i) => v !== twin.array[i])) throw new Error(`tied ${tiedEmbeddings}: ${n} is not a copy`);
      compared++;
    }
    if (tiedEmbeddings && (params.has('type_encoder.word_embed.weight') || m.type_encoder!.encoder.embed !== m.encoder.embed)) throw new Error('tied: the type encoder must read the text encoder\'s table');
    if (!tiedEmbeddings && !params.has('type_encoder.word_embed.weight')) throw new Error('untied: a table of its own');
    if (compared < 10) throw new Error(`compared ${compared}`);
    const w = params.get('width_embeddings.weight')!.array, d = 5;
    if (Array.from(w.subarray(0, d)).some((v) => v !== 0)) throw new Error('width row 0 must be zero');
    const std = Math.sqrt(Array.from(params.get('span_linear.weight')!.array).reduce((a, v) => a + v * v, 0) / params.get('span_linear.weight')!.size);
    if (std > 0.04 || Array.from(params.get('span_linear.bias')!.array).some((v) => v !== 0)) throw new Error(`span_linear init: std ${std}`);
    if (Math.abs(params.get('span_logit_scale')!.array[0] - Math.log(1 / 0.07)) > 1e-6) throw new Error('θ starts at ln(1/0.07)');
    m.dispose();
  }
});

s("typeInputs 'embeddings': free type vectors, no type encoder, no descriptions needed", () => {
  const m = new Binder({ vocab: ['[PAD]', '[UNK]', 'a'], hidden: 8, embedding: 6, types: ['X', 'Y', 'Z'], linearSize: 5, typeInputs: 'embeddings' }, { device: cpu, rng: new RNG(1) });
  const got = shapes(m);
  if (got.get('type_embeddings') !== '3x8' || [...got.keys()].some((n) => n.startsWith('type_encoder.'))) throw new Error([...got.keys()].join(' '));
  m.dispose();
});

s('a model that cannot be built says why', async () => {
  await assertThrows(() => new Binder({ vocab: ['[PAD]', '[UNK]'], hidden: 8, types: ['X'] }, { device: cpu }), /one description per type/);
  await assertThrows(() => new Binder({ vocab: ['[PAD]', '[UNK]'], hidden: 8, types: ['X'], typeInputs: 'embeddings', tiedEmbeddings: true }, { device: cpu }), /tiedEmbeddings needs the type encoder/);
});

s.run();
