/**
 * Every flag of the `diffusionner` command, once: its value, the range it accepts and the words that
 * explain it. Each command's parser, its checks and its --help read this table (a command may narrow a
 * flag, as eval does to take lists).
 */
import { OUTPUT_FORMATS } from '../ner/formats.js';
import { FILTER_MODES } from '../ner/spans.js';
import { MODEL_KINDS, OFFSET_DECODINGS } from '../models/index.js';

/** How a flag's value is read and checked. */
export type ValueRule =
  | { int: number; max?: number }
  | { number: 'positive' | 'nonneg' }
  | { list: 'int' | 'nonneg'; min?: number; max?: number }
  | { choice: readonly string[] }
  | 'path' | 'text' | 'min-score';

/** `multiple`: the flag may be given more than once; its value is then the list of every value given. */
export interface FlagSpec { type: 'string' | 'boolean'; arg?: string; value?: ValueRule; multiple?: true; help: string }

export const FLAGS = {
  // what to read and write
  config: { type: 'string', arg: 'FILE', value: 'path', help: 'a training config (configs/*.json); its data paths are relative to the file' },
  train: { type: 'string', arg: 'FILE', value: 'path', help: 'training data (.jsonl, official .json, or CoNLL columns), with the default settings instead of a config' },
  dev: { type: 'string', arg: 'FILE', value: 'path', help: 'dev data: chooses the epoch and the threshold' },
  test: { type: 'string', arg: 'FILE', value: 'path', help: 'test data, scored once at the end with the model chosen on dev' },
  types: { type: 'string', arg: 'FILE', value: 'path', help: 'the entity types (a JSON list, the official types file, or one per line); default: those of the training data' },
  out: { type: 'string', arg: 'DIR', value: 'path', help: 'the output folder' },
  model: { type: 'string', arg: 'DIR|NAME', value: 'path', help: 'a model folder, or the name of a bundled model (diffusionner models lists them)' },
  data: { type: 'string', arg: 'FILE', value: 'path', help: 'the data to score (.jsonl, official .json, or CoNLL columns)' },
  file: { type: 'string', arg: 'FILE', value: 'path', help: 'read the documents from this file (one per line) instead of the arguments or stdin' },
  format: { type: 'string', arg: 'text|jsonl', value: { choice: ['text', 'jsonl'] }, help: 'input: text (a document per line) or jsonl (a JSON object per line with a text field, or pre-tokenised "tokens"); default: jsonl for a .jsonl file, else text' },
  'text-field': { type: 'string', arg: 'NAME', value: 'text', help: 'the JSONL field that holds a document\'s text (default "text"); an "id" field is copied to the output' },
  output: { type: 'string', arg: OUTPUT_FORMATS.join('|'), value: { choice: OUTPUT_FORMATS }, help: 'output: text, jsonl (one JSON object per document; also --json), conll (word and BIO tag per line, a blank line after each sentence) or spacy ({"text", "ents": [{"start", "end", "label"}]} per document)' },
  predictions: { type: 'string', arg: 'FILE', value: 'path', help: 'also write every sentence\'s gold and predicted entities with its false positives and false negatives, one JSON object per line in input order (error analysis)' },
  'errors-only': { type: 'boolean', help: 'with --predictions: write only the sentences with a false positive or a false negative' },
  init: { type: 'string', arg: 'DIR', value: 'path', help: 'start from this model folder\'s weights and settings (a warm restart or fine-tuning); fresh optimiser and schedule' },
  json: { type: 'boolean', help: 'print JSON instead of text' },
  html: { type: 'string', arg: 'FILE', value: 'path', help: 'also write the trace as a self-contained HTML page' },
  // training
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint, exactly' },
  epochs: { type: 'string', arg: 'N', value: { int: 1 }, help: 'epochs to train (overrides the config)' },
  'max-steps': { type: 'string', arg: 'N', value: { int: 1 }, help: 'stop after N optimiser steps (a quick try; the schedule is sized to N)' },
  lr: { type: 'string', arg: 'X', value: { number: 'positive' }, help: 'the peak learning rate (overrides the config)' },
  'keep-epoch-models': { type: 'boolean', help: 'also keep every epoch\'s model as OUT/epochs/epoch-N (for diffusionner average)' },
  kind: { type: 'string', arg: MODEL_KINDS.join('|'), value: { choice: MODEL_KINDS }, help: 'with data files: the kind of model to train, with that kind\'s default settings (default diffusionner); with --config, its model.kind says it' },
  reschedule: { type: 'boolean', help: 'with --resume: accept a changed --epochs or --max-steps (the learning-rate schedule is re-sized, so the run is no longer the one that began)' },
  // inference
  gamma: { type: 'string', arg: 'N', value: { int: 1, max: 1000 }, help: 'γ: DDIM denoising steps at inference (default 5; more steps refine the spans further); DiffusionNER only' },
  'k-eval': { type: 'string', arg: 'N', value: { int: 1, max: 4096 }, help: 'K: noisy spans sampled per sentence at inference (default: the model\'s K, 60 for the bundled models); DiffusionNER only' },
  eta: { type: 'string', arg: 'X', value: { number: 'nonneg' }, help: 'η: DDIM noise at each step (1, the official sampler; 0 is deterministic DDIM); DiffusionNER only' },
  decoding: { type: 'string', arg: OFFSET_DECODINGS.join('|'), value: { choice: OFFSET_DECODINGS }, help: 'BOPN: how the label grid is read: centres (centre cells only, the official CoNLL-2003 setting), offsets (also every span an offset label points at) or votes (also spans with at least S votes from one family, the official GENIA setting); default: the model folder\'s (config.json decoding)' },
  'overlap-filter': { type: 'boolean', help: 'BOPN: apply the flat/nested filter of --mode to its entities (off by default, as in the official code, unless the model folder\'s config.json sets overlapFilter)' },
  threshold: { type: 'string', arg: 'X', value: { number: 'nonneg' }, help: 'φ: keep a span when P(left) + P(right) + P(type) exceeds this (DiffusionNER: 0..3, default 2.5), or when its probability is at least this (BOPN: 0..1, default 0), or when σ(span score − the type threshold score) exceeds this (BINDER: 0..1, default 0.5); default: the φ chosen on dev in selection.json' },
  mode: { type: 'string', arg: 'flat|nested', value: { choice: FILTER_MODES }, help: 'flat: no two entities share a word; nested: entities may nest but not cross (default: selection.json\'s, else flat; BOPN filters only with --overlap-filter)' },
  dedupe: { type: 'boolean', help: 'the paper\'s de-duplication: of spans with identical boundaries keep the most probable type' },
  seed: { type: 'string', arg: 'N', value: { int: 0 }, help: 'random seed (inference: the DDIM noise; train: overrides the config)' },
  'min-score': { type: 'string', arg: 'X|TYPE=X,...', value: 'min-score', help: 'drop entities whose score (confidence in [0, 1]) is below X; per type with TYPE=X, e.g. 0.5,PER=0.8' },
  'max-words': { type: 'string', arg: 'N', value: { int: 1 }, help: 'cut sentences longer than N words into pieces (default 256)' },
  values: { type: 'string', arg: 'MODULE,...|all', value: 'text', help: 'with --json: also record the tensor values of these modules, named as in the layer table (* matches anything: \'decoder.span_layers.0.*\'); all: every module (~100 MB for 8 words: prints the size)' },
  'start-t': { type: 'string', arg: 'T', value: { int: 0 }, help: 'trace: begin DDIM at timestep T instead of the top (999); the decoder then treats the random spans as partly denoised, so the noisy spans visibly arrive; DiffusionNER only' },
  compare: { type: 'string', arg: 'DIR|NAME', value: 'path', help: 'trace: also trace the sentence with this model (an earlier checkpoint, say), same seed and settings, and set it beside the first' },
  // serving and corpus tagging
  port: { type: 'string', arg: 'N', value: { int: 0, max: 65535 }, help: 'the port to listen on (default 8080; 0 picks a free one, printed at start)' },
  host: { type: 'string', arg: 'HOST', value: 'text', help: 'the address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every interface)' },
  'max-batch': { type: 'string', arg: 'N', value: { int: 1, max: 4096 }, help: 'dynamic batching: at most N texts from concurrent requests are tagged together (default 32; 1 turns batching off)' },
  'max-wait-ms': { type: 'string', arg: 'MS', value: { number: 'nonneg' }, help: 'dynamic batching: how long the first waiting request waits for others to join its batch (default 5)' },
  'max-queue': { type: 'string', arg: 'N', value: { int: 1 }, help: 'requests that may wait; past it the server answers 503 with Retry-After (default 256)' },
  'max-texts': { type: 'string', arg: 'N', value: { int: 1 }, help: 'texts one request may carry; more is answered 413 (default 256)' },
  redis: { type: 'string', arg: 'URL', value: 'text', help: 'the Redis server that holds the corpus jobs (redis://HOST:PORT[/DB]; default redis://127.0.0.1:6379)' },
  name: { type: 'string', arg: 'NAME', value: 'text', help: 'the corpus\'s name (letters, digits, . _ -)' },
  input: { type: 'string', arg: 'FILE', value: 'path', multiple: true, help: 'an input file (one document per line); repeat it, or list more files after it' },
  'shard-size': { type: 'string', arg: 'N', value: { int: 1 }, help: 'documents per shard job (default 500)' },
  wait: { type: 'boolean', help: 'wait until every shard is done instead of failing while some are left' },
  'out-dir': { type: 'string', arg: 'DIR', value: 'path', help: 'keep shard results as files in this folder (a filesystem every worker and collect share) instead of in Redis' },
  'lock-seconds': { type: 'string', arg: 'N', value: { int: 1 }, help: 'a shard whose worker stops renewing its lock for this long (a killed worker) goes back to the queue for another (default 30)' },
  'max-doc-chars': { type: 'string', arg: 'N', value: { int: 1 }, help: 'a document longer than this many characters is not tagged; its line gets an error instead (default 1000000)' },
  // other
  adapter: { type: 'string', arg: 'N|NAME', value: 'text', help: 'the WebGPU adapter (GPU): its number in `diffusionner device --list`, or its name or part of it (case-sensitive); default: DNER_ADAPTER, else Dawn\'s choice' },
  'no-verify': { type: 'boolean', help: 'load the model even if model.safetensors does not match its model.safetensors.sha256' },
  device: { type: 'string', arg: 'webgpu|cpu', value: { choice: ['webgpu', 'cpu'] }, help: 'where to compute (default webgpu; cpu is the plain-TypeScript reference, slower)' },
  f16: { type: 'boolean', help: 'store the weights as f16 (half the size)' },
  shape: { type: 'string', arg: 'a,b,...', value: { list: 'int', min: 1 }, help: 'the kernel\'s problem size' },
  list: { type: 'boolean', help: 'list the kernels' },
  help: { type: 'boolean', help: 'show this help' },
} satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;
