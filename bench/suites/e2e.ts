/**
 * End to end: DiffusionNER training sentences/s at B = 8 (forward, matching, backward, clipping, AdamW)
 * and inference sentences/s at γ = 1, 5, 10 × K_eval = 60, 150, in two configurations: the scratch encoder
 * with H = 256, and a BERT-base-sized encoder (random weights, 12 × 768, short sentences). Peak memory of
 * each. The PyTorch peer (bench/peers/torch_e2e.py, same architecture, sizes and batches; forward parity
 * is tested by test/ner/torch-parity.test.ts) runs in the same invocation when torch is installed, on the
 * CPU here and as CUDA eager on a GPU machine, and the ratio ours / PyTorch is recorded. --quick: the scratch configuration at γ = 5, K = 60 only.
 */
import * as T from '../../src/index.js';
import { CharCNN } from '../../src/nn/char-cnn.js';
import { AdamW, clipGradNorm, decayGroups } from '../../src/nn/optim.js';
import { DiffusionNER, type ModelConfig } from '../../src/models/diffusionner/model.js';
import { type PeerRow, runPeer, type SuiteContext } from '../common.js';

const B = 8;
interface Case { name: string; config: ModelConfig; peer: Record<string, unknown>; lengths: [number, number]; trainSteps: number; inferReps: number; inference: [number, number][] }
type Sent = { tokens: string[]; entities: { start: number; end: number; type: string }[] };

function sentences(rng: T.RNG, n: number, [lo, hi]: [number, number], vocab: number, types: string[]): Sent[] {
  return Array.from({ length: n }, () => {
    const m = lo + rng.int(hi - lo + 1);
    const tokens = Array.from({ length: m }, () => `w${rng.int(vocab)}`);
    const entities: Sent['entities'] = [];
    for (let e = 0, ne = 1 + rng.int(3); e < ne; e++) {
      const a = rng.int(m), len = 1 + rng.int(Math.min(3, m - a));
      if (entities.every((x) => a + len <= x.start || a >= x.end)) entities.push({ start: a, end: a + len, type: types[rng.int(types.length)] });
    }
    return { tokens, entities };
  });
}

async function timed(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / 1000 / reps;
}

export async function run(ctx: SuiteContext): Promise<void> {
  const dev = (await T.getDevice('webgpu')) as T.GpuDevice;
  const types = ['PER', 'LOC', 'ORG', 'MISC'];
  const charList = ['<pad>', '<unk>', 'w', ...'0123456789'];
  const wordVocab = 12000, bertVocab = 30522;
  const allInference: [number, number][] = [[1, 60], [5, 60], [10, 60], [1, 150], [5, 150], [10, 150]];
  // A GPU runs a repetition in tens of milliseconds, and its host's timings wander: more repetitions there.
  const reps = (n: number) => (dev.backend.report.isSoftware ? n : 4 * n);
  const cases: Case[] = [{
    name: 'scratch H=256',
    config: { vocab: ['[PAD]', '[UNK]', ...Array.from({ length: wordVocab }, (_, i) => `w${i}`)], chars: charList, types, hidden: 256, embedding: 128,
      charEmbedding: 32, charFilters: 50, wordDropout: 0.05, lstmLayers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, schedule: 'linear' },
    peer: { vocab: wordVocab + 2, types: 4, hidden: 256, embedding: 128, chars: charList.length, char_embedding: 32, char_filters: 50, lstm_layers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1 },
    lengths: [5, 30], trainSteps: ctx.quick ? 3 : reps(12), inferReps: ctx.quick ? 1 : reps(3), inference: ctx.quick ? [[5, 60]] : allInference,
  }];
  if (!ctx.quick) {
    const bert = { vocab_size: bertVocab, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512 };
    cases.push({
      name: 'BERT-base-sized (random weights) H=768',
      config: { encoder: 'bert', bert, vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: bertVocab - 5 }, (_, i) => `w${i}`)], types,
        hidden: 768, lstmLayers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, schedule: 'linear' },
      peer: { vocab: bertVocab, types: 4, hidden: 768, lstm_layers: 2, proposals: 60, heads: 8, ffn: 1024, dropout: 0.1, bert: { hidden: 768, layers: 12, heads: 12, intermediate: 3072 } },
      lengths: [6, 14], trainSteps: reps(2), inferReps: reps(1), inference: allInference,
    });
  }
  const peerJob: Record<string, unknown>[] = [];
  const ours = new Map<string, number>();
  const mine = (name: string, value: number, unit: string) => { ours.set(name, value); ctx.record({ name, variant: 'ours', device: 'webgpu', value, unit }); };
  for (const c of cases) {
    const rng = new T.RNG(3);
    const vocabSize = c.config.encoder === 'bert' ? bertVocab - 5 : wordVocab;
    const batches = Array.from({ length: 3 }, () => sentences(rng, B, c.lengths, vocabSize, types));
    dev.backend.pool.resetPeak();
    const model = new DiffusionNER(c.config, { device: dev, rng: new T.RNG(1) });
    const opt = new AdamW(decayGroups(model.namedParameters(), 0.01), { lr: 1e-4, eps: 1e-6, correctBias: false, decayAfter: true });
    let k = 0;
    const step = async () => {
      const b = model.batch(batches[k++ % batches.length], dev);
      await model.lossAndBackward(b);
      DiffusionNER.disposeBatch(b);
      opt.step((await clipGradNorm(model.parameters(), 1)).scale);
      opt.zeroGrad();
    };
    model.train();
    const trainSecs = await timed(step, c.trainSteps);
    mine(`${c.name}: training B=${B}`, B / trainSecs, 'sentences/s');
    model.eval();
    const evalBatch = model.batch(batches[0], dev);
    for (const [g, K] of c.inference) {
      const secs = await timed(() => model.predict(evalBatch, { steps: g, proposals: K, rng: new T.RNG(0) }), c.inferReps);
      mine(`${c.name}: inference B=${B} gamma=${g} K=${K}`, B / secs, 'sentences/s');
    }
    mine(`${c.name}: peak memory`, dev.backend.pool.counters.peakLiveBytes / 2 ** 20, 'MiB (live GPU buffers)');
    DiffusionNER.disposeBatch(evalBatch);
    // The same batches for the peer: word ids (and character ids) exactly as our batch() makes them.
    peerJob.push({
      name: c.name, model: c.peer, trainSteps: c.trainSteps, inferReps: c.inferReps, inference: c.inference,
      batches: batches.map((bs) => {
        const M = Math.max(...bs.map((x) => x.tokens.length));
        const index = new Map(c.config.vocab.map((w, i) => [w, i]));
        const chars = c.config.encoder === 'bert' ? null : CharCNN.indices(bs.flatMap((x) => Array.from({ length: M }, (_, j) => x.tokens[j] ?? '')), new Map(charList.map((ch, i) => [ch, i])), 20);
        return {
          lengths: bs.map((x) => x.tokens.length), ids: bs.map((x) => x.tokens.map((w) => index.get(w) ?? 1)),
          gold: bs.map((x) => x.entities.map((e) => [e.start, e.end - 1, types.indexOf(e.type) + 1])),
          char_ids: chars ? Array.from(chars.ids) : null, char_mask: chars ? Array.from(chars.mask) : null,
        };
      }),
    });
    opt.dispose();
    model.dispose();
  }
  const peer = runPeer<(PeerRow & { name: string; value: number; unit: string })[]>('torch_e2e.py', { cases: peerJob }, 'PyTorch peer', 1_800_000);
  if (!peer) return;
  for (const p of peer) {
    ctx.record({ name: p.name, variant: 'pytorch', device: p.label, value: p.value, unit: p.unit });
  }
  for (const p of peer.filter((x) => x.unit === 'sentences/s')) {
    const o = ours.get(p.name);
    if (o) ctx.record({ name: p.name, variant: 'ours / pytorch', device: `webgpu vs ${p.device}`, value: o / p.value, unit: '×' });
  }
}
