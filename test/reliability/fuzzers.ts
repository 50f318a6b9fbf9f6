/**
 * Fuzzers for every parser that reads user files: the three data formats, safetensors, the three kinds
 * of config.json, vocab.txt and checkpoint folders. Inputs are valid samples with random byte-level
 * mutations, random bytes, and hand-made hostile cases (a header claiming 100 GB, overlapping tensors,
 * names with newlines...). Every input must either parse or be rejected with an Error whose message is
 * one line starting with the file's name: never another exception, a hang or an unbounded allocation.
 * Used by test/reliability/fuzz.test.ts (a few hundred cases) and scripts/fuzz.ts (10,000 per parser).
 */
import * as fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/index.js';
import { parseConll, parseJsonArray, parseJsonl } from '../../src/ner/data.js';
import { parseTrainConfig } from '../../src/models/index.js';
import { checkModelConfig } from '../../src/models/diffusionner/config.js';
import { parseBertConfig } from '../../src/nn/bert.js';
import { parseSafetensors, serializeSafetensors } from '../../src/nn/safetensors.js';
import { parseVocab } from '../../src/text/vocab-file.js';
import { oneLine } from '../../src/text/one-line.js';
import { readCheckpoint, restoreOptimizer, saveCheckpoint } from '../../src/ner/train/checkpoint.js';
import { loadDiffusionNER } from '../helpers.js';
import { DiffusionNER } from '../../src/models/diffusionner/model.js';
import { AdamW } from '../../src/nn/optim.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const enc = new TextEncoder();
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

type Mutation = { kind: 'set' | 'delete' | 'insert' | 'truncate' | 'duplicate'; pos: number; len: number; byte: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'duplicate'), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(10, 13, 34, 44, 48, 57, 91, 93, 123, 125, 0xff)),
});

export function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of ms) {
    const p = b.length ? m.pos % (b.length + 1) : 0;
    if (m.kind === 'set' && b.length) b[p % b.length] = m.byte;
    else if (m.kind === 'delete') b.splice(p, m.len);
    else if (m.kind === 'insert') b.splice(p, 0, ...Array(m.len).fill(m.byte));
    else if (m.kind === 'truncate') b = b.slice(0, p);
    else if (m.kind === 'duplicate') b.splice(p, 0, ...b.slice(p, p + m.len));
  }
  return Uint8Array.from(b);
}

/** Valid sample bytes -> mutated bytes (mostly), random bytes, or one of the hostile cases. */
function inputs(valid: Uint8Array[], hostile: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.array(mutationArb, { minLength: 1, maxLength: 6 })).map(([v, ms]) => mutate(v, ms)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => enc.encode(s)) },
    ...(hostile.length ? [{ weight: 2, arbitrary: fc.constantFrom(...hostile) }] : []),
  );
}

/** A rejection must be an Error, one line, starting with the file's name. */
export function checkRejection(e: unknown, file: string): void {
  if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${String(e)}`);
  if (/[\r\n]/.test(e.message)) throw new Error(`message is not one line: ${JSON.stringify(e.message)}`);
  if (!e.message.startsWith(file)) throw new Error(`message does not start with the file name ${file}: ${e.message} (${e.name})`);
}

export interface Fuzzer { name: string; arbitrary: fc.Arbitrary<Uint8Array>; run: (input: Uint8Array) => Promise<void> | void; file: string; cleanup?: () => void }

function header(obj: unknown, data: Uint8Array = new Uint8Array(0), claimed?: bigint): Uint8Array {
  const h = enc.encode(JSON.stringify(obj));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(h.length), true);
  out.set(h, 8); out.set(data, 8 + h.length);
  return out;
}

export function makeFuzzers(): Fuzzer[] {
  const jsonl = enc.encode([
    { tokens: ['EU', 'rejects', 'German', 'call'], entities: [{ start: 0, end: 1, type: 'ORG' }, { start: 2, end: 3, type: 'MISC' }] },
    { tokens: ['Peter', 'Blackburn'], entities: [{ start: 0, end: 2, type: 'PER' }], ltokens: ['x'], rtokens: [] },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const json = enc.encode(JSON.stringify([{ tokens: ['a', 'b'], entities: [{ start: 0, end: 2, type: 'T' }] }, { tokens: ['c'], entities: [] }], null, 1));
  const conll = enc.encode('-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP I-MISC\n\nPeter S-PER\nBlackburn E-PER\n');
  const tensors = new Map([
    ['w', { dtype: 'f32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['i', { dtype: 'i32' as const, shape: [2], data: Int32Array.from([7, -1]) }],
  ]);
  const st = serializeSafetensors(tensors, { format: 'pt' });
  const stHalf = serializeSafetensors(tensors, undefined, { f16: true });
  const hundredGB = 25_000_000_000;
  const stHostile = [
    header({ t: { dtype: 'F32', shape: [hundredGB], data_offsets: [0, 4 * hundredGB] } }),
    header({ t: { dtype: 'F32', shape: [1e6, 1e6], data_offsets: [0, 4e12] } }, new Uint8Array(16)),
    header({}, new Uint8Array(0), 100_000_000_000n),
    header({}, new Uint8Array(0), (1n << 64n) - 1n),
    header({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16)),
    header({ 'bad\nname': { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
    header({ t: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    header({ t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0])),
    header({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
    header({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)),
    header([1, 2, 3]),
  ];
  const bertCfg = readFileSync(join(root, 'test', 'fixtures', 'tiny-bert', 'config.json'));
  const bertHostile = [
    enc.encode(JSON.stringify({ vocab_size: 1e9, hidden_size: 1e9, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 1, max_position_embeddings: 1 })),
    enc.encode('{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 3, "intermediate_size": 4, "max_position_embeddings": 8}'),
    enc.encode('{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 4, "max_position_embeddings": 8, "hidden_dropout_prob": 2}'),
  ];
  const trainCfg = readFileSync(join(root, 'configs', 'conll2003.json'));
  const modelCfgObj = { hidden: 8, embedding: 4, lstmLayers: 1, proposals: 3, heads: 2, ffn: 8, dropout: 0.1, spanPooling: 'lrconcat', timesteps: 100,
    schedule: 'linear', scale: 1, positionFeatures: true, lowercase: false, chars: ['<pad>', '<unk>', 'a'], charEmbedding: 4, charFilters: 4, maxChars: 5,
    wordDropout: 0, encoder: 'scratch', pooling: 'max', types: ['A', 'B'] };
  const modelCfg = enc.encode(JSON.stringify(modelCfgObj, null, 1));
  const modelHostile = [
    enc.encode(JSON.stringify({ ...modelCfgObj, hidden: 1e9 })), enc.encode(JSON.stringify({ ...modelCfgObj, proposals: -1 })),
    enc.encode(JSON.stringify({ ...modelCfgObj, types: [] })), enc.encode(JSON.stringify({ ...modelCfgObj, encoder: 'bert' })),
    enc.encode(JSON.stringify({ ...modelCfgObj, __proto__x: 1 })), enc.encode(JSON.stringify({ ...modelCfgObj, dropout: 1 })),
  ];
  const vocab = enc.encode('[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n##s\n');
  const vocabHostile = [enc.encode(''), enc.encode('a\na\n'), Uint8Array.from([0x61, 10, 0xc3, 0x28, 10]), enc.encode('a\n\nb\n')];

  const bytesToText = (name: string, file: string, valid: Uint8Array[], hostile: Uint8Array[], parse: (text: string, file: string) => unknown): Fuzzer => ({
    name, file, arbitrary: inputs(valid, hostile), run: (b) => { try { parse(dec(b), file); } catch (e) { checkRejection(e, file); } },
  });
  const fuzzers: Fuzzer[] = [
    bytesToText('data: JSONL', 'fuzz.jsonl', [jsonl], [enc.encode('{"tokens": [], "entities": []}\n'), enc.encode('{"tokens": ["a"], "entities": [{"start": 0, "end": 1e308, "type": "X"}]}')], parseJsonl),
    bytesToText('data: official JSON', 'fuzz.json', [json], [enc.encode('[{"tokens": ["a"], "entities": [{"start": 1, "end": 0, "type": "X"}]}]'), enc.encode('{"a":\n\n1')], parseJsonArray),
    bytesToText('data: CoNLL columns', 'fuzz.conll', [conll], [enc.encode('a B-\n'), enc.encode('a\n'), enc.encode('x X-ORG\n')], parseConll),
    { name: 'safetensors', file: 'fuzz.safetensors', arbitrary: inputs([st, stHalf], stHostile), run: (b) => { try { parseSafetensors(b, 'fuzz.safetensors'); } catch (e) { checkRejection(e, 'fuzz.safetensors'); } } },
    bytesToText('BERT config.json', 'bert/config.json', [bertCfg], bertHostile, parseBertConfig),
    bytesToText('training config', 'train.json', [trainCfg], [enc.encode('{"data": {"train": 5}}')], parseTrainConfig),
    bytesToText('model config.json', 'model/config.json', [modelCfg], modelHostile, (text, file) => {
      let obj: unknown;
      // As loadModelFolder reads it.
      try { obj = JSON.parse(text); } catch (e) { throw new Error(oneLine(`${file}: not valid JSON: ${(e as Error).message}`)); }
      checkModelConfig(obj, file);
    }),
    { name: 'vocab.txt', file: 'vocab.txt', arbitrary: inputs([vocab], vocabHostile), run: (b) => { try { parseVocab(b, 'vocab.txt'); } catch (e) { checkRejection(e, 'vocab.txt'); } } },
  ];
  return fuzzers;
}

/** Checkpoint folders: a real one is written once; each case damages one of its files in a copy. */
export async function makeCheckpointFuzzer(): Promise<Fuzzer> {
  const base = mkdtempSync(join(tmpdir(), 'dner-fuzz-ckpt-'));
  const model = new DiffusionNER({ vocab: ['[PAD]', '[UNK]', 'a', 'b'], types: ['A'], hidden: 4, embedding: 4, lstmLayers: 1, proposals: 2, heads: 2, ffn: 4, dropout: 0 }, { device: T.cpu, rng: new T.RNG(1) });
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  for (const p of model.parameters()) p.grad = T.onesLike(p);
  opt.step();
  const rng = new T.RNG(2);
  await saveCheckpoint(join(base, 'run'), model, model.folder().config, model.folder().files, opt, {
    epoch: 1, order: [0, 1], next: 1, step: 1, optimizerSteps: 1, rng: rng.state, best: -1, metrics: [], lossSum: 0, seen: 0, epochSeconds: 0, skippedSteps: 0,
  });
  opt.dispose(); model.dispose();
  const pointer = JSON.parse(readFileSync(join(base, 'run', 'checkpoint.json'), 'utf8')).checkpoint as string;
  const files = ['checkpoint.json', ...['state.json', 'model.safetensors', 'optimizer.safetensors', 'config.json', 'vocab.txt'].map((f) => `${pointer}/${f}`)];
  let n = 0;
  // The input picks a file (first byte) and is the mutation seed; damage = mutations of that file.
  const arbitrary = fc.tuple(fc.nat(files.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([f, ms, remove]) => enc.encode(JSON.stringify({ f, ms, remove })));
  return {
    name: 'checkpoint folders', file: 'run', arbitrary,
    cleanup: () => rmSync(base, { recursive: true, force: true }),
    run: async (b) => {
      const { f, ms, remove } = JSON.parse(dec(b)) as { f: number; ms: Mutation[]; remove: boolean };
      const out = join(base, `case-${n++}`);
      cpSync(join(base, 'run'), out, { recursive: true });
      const target = join(out, files[f]);
      const before = readFileSync(target);
      if (remove) rmSync(target); else writeFileSync(target, mutate(before, ms));
      // The pointer carries no checksum of itself: a change that keeps its JSON meaning (whitespace) is benign.
      const sameJson = (a: Buffer, b: Buffer) => { try { return JSON.stringify(JSON.parse(a.toString())) === JSON.stringify(JSON.parse(b.toString())); } catch { return false; } };
      const unchanged = !remove && (Buffer.compare(readFileSync(target), before) === 0 || (f === 0 && sameJson(readFileSync(target), before)));
      try {
        const { dir } = readCheckpoint(out);
        const m = await loadDiffusionNER(dir, T.cpu);
        const o = new AdamW(m.parameters(), { lr: 1e-3 });
        restoreOptimizer(dir, m, o, 0);
        o.dispose(); m.dispose();
        if (!unchanged) throw new Error(`damaged ${files[f]} was accepted`);
      } catch (e) {
        if ((e as Error).message.startsWith('damaged')) throw e;
        checkRejection(e, out);
        if (unchanged) throw new Error(`an intact checkpoint was rejected: ${(e as Error).message}`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  };
}

/** Runs a fuzzer for `runs` cases; a case slower than `hangMs` counts as a hang. */
export async function runFuzzer(f: Fuzzer, runs: number, seed = 1, hangMs = 5000): Promise<{ cases: number; seconds: number }> {
  const t0 = performance.now();
  await fc.assert(fc.asyncProperty(f.arbitrary, async (input) => {
    const t = performance.now();
    await f.run(input);
    const ms = performance.now() - t;
    if (ms > hangMs) throw new Error(`${f.name}: one input took ${ms.toFixed(0)} ms (a hang?)`);
  }), { numRuns: runs, seed, endOnFailure: true, includeErrorInReport: true });
  return { cases: runs, seconds: (performance.now() - t0) / 1000 };
}
