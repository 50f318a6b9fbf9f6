/**
 * `model.init`: the decoder starts as the official code's does (spec §1.3, Hugging Face's `_init_weights`):
 * every Linear N(0, 0.02) with zero bias, the boundary pointers' output vector included, while the
 * attention in-projections keep Xavier-uniform and the LSTM and the scratch encoder keep PyTorch's
 * defaults; `pytorch` keeps PyTorch's default uniform init everywhere (the runs recorded before it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as T from '../../../src/index.js';
import { parseTrainConfig } from '../../../src/models/index.js';
import { checkModelConfig } from '../../../src/models/diffusionner/config.js';
import { DiffusionNER, type ModelConfig } from '../../../src/models/diffusionner/model.js';
import { train } from '../../../src/models/index.js';
import { assertThrows, loadDiffusionNER } from '../../helpers.js';

const s = suite('model initialisation (official and pytorch)');
const H = 64;
const config = (init?: 'official' | 'pytorch'): ModelConfig => ({
  vocab: ['<pad>', '<unk>', 'a', 'b'], types: ['PER', 'LOC'], hidden: H, embedding: 16, lstmLayers: 1, proposals: 4, heads: 4, ffn: 128,
  chars: ['<pad>', '<unk>', 'a', 'b'], charEmbedding: 4, charFilters: 8, ...(init ? { init } : {}),
});

async function stats(t: T.Tensor): Promise<{ mean: number; std: number; maxAbs: number }> {
  const v = Array.from(await t.data());
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, maxAbs: Math.max(...v.map(Math.abs)) };
}

/** Every decoder Linear (a `.weight` of rank 2 beside a `.bias`), by name, without the attention in-projections. */
function decoderLinears(model: DiffusionNER): [string, T.Tensor, T.Tensor][] {
  const params = new Map(model.decoder.namedParameters('decoder.'));
  return [...params].filter(([n, w]) => n.endsWith('.weight') && w.rank === 2 && params.has(n.replace(/weight$/, 'bias')))
    .map(([n, w]) => [n, w, params.get(n.replace(/weight$/, 'bias'))!]);
}

s('official (the default): decoder Linears N(0, 0.02) with zero biases; pointer vectors too; in-projections Xavier', async () => {
  const model = new DiffusionNER(config(), { device: T.cpu, rng: new T.RNG(3) });
  const linears = decoderLinears(model);
  for (const want of ['out_proj', 'linear1', 'linear2', 'start_proj', 'down_proj', 'slot_embed.0', 'time_embed.2', 'word_proj', 'span_proj', 'classifier.2']) {
    if (!linears.some(([n]) => n.includes(want))) throw new Error(`no decoder Linear named like ${want}: ${linears.map(([n]) => n).join(', ')}`);
  }
  for (const [name, w, b] of linears) {
    const ws = await stats(w), bs = await stats(b);
    if (Math.abs(ws.std - 0.02) > 0.004 || Math.abs(ws.mean) > 0.004) throw new Error(`${name}: mean ${ws.mean} std ${ws.std}, want N(0, 0.02)`);
    if (bs.maxAbs !== 0) throw new Error(`${name.replace(/weight$/, 'bias')} is not zero`);
  }
  for (const side of ['left_pointer', 'right_pointer']) {
    const w = await stats(model.decoder[side === 'left_pointer' ? 'leftPointer' : 'rightPointer'].w);
    if (Math.abs(w.std - 0.02) > 0.006) throw new Error(`${side}.weight std ${w.std}, want 0.02`);
  }
  // torch.nn.MultiheadAttention's packed in-projection: Xavier-uniform, bound sqrt(6 / (3H + H)).
  const inProj = await stats(model.decoder.layers[0].selfAttn.inProjWeight);
  const bound = Math.sqrt(6 / (4 * H));
  if (inProj.maxAbs > bound || Math.abs(inProj.std - bound / Math.sqrt(3)) > 0.01) throw new Error(`in_proj_weight: ${JSON.stringify(inProj)}, want U(±${bound})`);
  // The scratch encoder is not the official model's: the character CNN keeps torch's uniform fan-in init.
  const conv = await stats(model.encoder.charCnn!.conv.weight);
  if (Math.abs(conv.std - 0.02) < 0.004) throw new Error(`the character CNN looks N(0, 0.02): std ${conv.std}`);
  model.dispose();
});

s('pytorch: decoder Linears keep U(±1/√fan_in) weights and biases', async () => {
  const model = new DiffusionNER(config('pytorch'), { device: T.cpu, rng: new T.RNG(3) });
  for (const [name, w, b] of decoderLinears(model)) {
    const fanIn = w.shape[1], bound = 1 / Math.sqrt(fanIn);
    const ws = await stats(w), bs = await stats(b);
    if (ws.maxAbs > bound || Math.abs(ws.std - bound / Math.sqrt(3)) > 0.25 * bound) throw new Error(`${name}: ${JSON.stringify(ws)}, want U(±${bound})`);
    if (name.includes('out_proj')) { if (bs.maxAbs !== 0) throw new Error('out_proj.bias is zeroed by torch'); } else if (bs.maxAbs === 0) throw new Error(`${name}: bias is zero`);
  }
  model.dispose();
});

s('configs and model folders take official or pytorch and refuse anything else', async () => {
  const cfg = (init: unknown) => JSON.stringify({ data: { train: 'a.jsonl' }, model: { hidden: 8, init }, train: { epochs: 1, batch: 1, lr: 1e-3 }, eval: { mode: 'flat' } });
  if (parseTrainConfig(cfg('pytorch'), 'c.json').model.init !== 'pytorch') throw new Error('init not read');
  checkModelConfig({ hidden: 8, types: ['A'], init: 'official' }, 'model/config.json');
  await assertThrows(() => parseTrainConfig(cfg('xavier'), 'c.json'), /c\.json: field 'model\.init' must be one of official, pytorch/);
  await assertThrows(() => checkModelConfig({ hidden: 8, types: ['A'], init: 'xavier' }, 'model/config.json'), /model\/config\.json: field 'init' must be one of official, pytorch/);
  await assertThrows(() => new DiffusionNER({ ...config(), init: 'xavier' as 'official' }, { device: T.cpu }), /init must be official or pytorch, got 'xavier'/);
});

s('a trained folder records its initialisation; a folder without one (older runs) loads as pytorch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dner-init-'));
  try {
    writeFileSync(join(dir, 'd.jsonl'), JSON.stringify({ tokens: ['x', 'Paris'], entities: [{ start: 1, end: 2, type: 'LOC' }] }) + '\n');
    const run = (out: string, init?: 'pytorch') => train({
      data: { train: join(dir, 'd.jsonl') }, model: { hidden: 8, embedding: 8, lstmLayers: 1, proposals: 2, heads: 2, ffn: 8, ...(init ? { init } : {}) },
      train: { epochs: 1, batch: 1, lr: 1e-3 }, eval: { mode: 'flat', proposals: 2 }, out: join(dir, out),
    }, T.cpu, { log: () => {}, progress: false });
    await run('official'); await run('pytorch', 'pytorch');
    const folderInit = (out: string) => JSON.parse(readFileSync(join(dir, out, 'model', 'config.json'), 'utf8')).init;
    if (folderInit('official') !== 'official' || folderInit('pytorch') !== 'pytorch') throw new Error(`config.json init: ${folderInit('official')}, ${folderInit('pytorch')}`);
    const path = join(dir, 'official', 'model', 'config.json');
    const { init: _init, ...older } = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify(older));
    const m = await loadDiffusionNER(join(dir, 'official', 'model'), T.cpu);
    if (m.c.init !== 'pytorch') throw new Error(`a folder without init loaded as ${m.c.init}`);
    m.dispose();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

s.run();
