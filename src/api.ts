/**
 * The toolkit's public API for Node programs: open a model (a folder or a bundled model's name), tag
 * documents (one, many, or a stream in bounded memory), evaluate on labelled data, train from a config
 * with progress events, and trace a sentence. Every model kind behind the registry works the same way.
 *
 *   import { loadModel } from 'diffusionner-webgpu';
 *   const model = await loadModel('conll2003');
 *   const doc = await model.tag('Angela Merkel visited Paris .');
 *   for (const e of doc.entities) console.log(e.type, e.text, e.start, e.end, e.score);
 *   model.dispose();
 *
 * A document is split into sentences (its lines never share one) and words; a sentence longer than
 * `maxWords` is tagged in overlapping windows.
 */
import { type Device, type DeviceKind, getDevice } from './tensor/device.js';
import { reuseLargerPooledBuffers } from './tensor/stats.js';
import type { InferenceSettings, NerModel } from './ner/contract.js';
import { parseRecord, readSentences } from './ner/data.js';
import { isWordList } from './ner/inputs.js';
import { DEFAULT_MODE, DEFAULT_SEED } from './ner/defaults.js';
import { type DocumentInput, type MinScore, type SentenceEvent, type TagOptions as StreamOptions, tagSentences, tagStream, type TaggedDocument } from './ner/predict.js';
import { readSelection, type Selection } from './ner/selection.js';
import type { FilterMode } from './ner/spans.js';
import { type EvalBreakdowns, evaluateThresholds, type EvalResult, type SentencePredictions } from './ner/train/evaluate.js';
import type { TrainEvent, TrainOptions, TrainResult } from './ner/train/loop.js';
import { tokenizeText } from './text/tokenize.js';
import { modelKind, openModel, parseTrainConfig, readTrainConfig, resolveModelDir, train as trainModel, type TrainConfig } from './models/index.js';

export type { DocumentInput, Entity, MinScore, SentenceEvent, TaggedDocument, TaggedSentence } from './ner/predict.js';
export { toConll, toSpacy } from './ner/formats.js';
export type { EntityRecord, EvalBreakdowns, EvalResult, PredictedEntityRecord, SentencePredictions } from './ner/train/evaluate.js';
export type { BucketScores, LengthBucket, NestingBucket, Scores } from './ner/metrics.js';
export type { TrainEvent, TrainResult } from './ner/train/loop.js';
export type { TrainConfig } from './models/index.js';
/** A sentence with its gold entities (word spans, `end` exclusive), as the data files hold them. */
export interface LabelledSentence { tokens: string[]; entities: { start: number; end: number; type: string }[]; origin?: string }
export { bundledModelNames, MODEL_KINDS } from './models/index.js';

/** `auto` (the default): WebGPU when an adapter exists, else the cpu device (with a note on stderr). */
export type DeviceChoice = DeviceKind | 'auto' | Device;

async function deviceFor(choice: DeviceChoice | undefined): Promise<Device> {
  const want = choice ?? (process.env.DNER_DEVICE as DeviceKind | undefined) ?? 'auto';
  if (want !== 'auto') return getDevice(want);
  try { return await getDevice('webgpu'); } catch (e) {
    process.stderr.write(`(no WebGPU adapter: ${(e as Error).message.split('\n')[0]}; running on the cpu device)\n`);
    return getDevice('cpu');
  }
}

export interface LoadOptions {
  device?: DeviceChoice;
  /** Check model.safetensors against the folder's model.safetensors.sha256 (default true): a mismatch is an error. */
  verify?: boolean;
}

/** Decoding and inference for tag, evaluate and trace; unset fields come from the folder's selection.json, then the model's defaults. */
export interface TagOptions {
  /** The decoding threshold on the model's own scale (DiffusionNER: φ, 0..3; BOPN: a probability, 0..1). */
  threshold?: number;
  mode?: FilterMode;
  /** Drop entities scored below this (one number, or per type with '*' for the rest). */
  minScore?: MinScore;
  /** The model's inference settings; DiffusionNER: { steps (γ), proposals (K), eta (η) }; BOPN: { decoding ('centres' | 'offsets' | 'votes'), overlapFilter }. */
  inference?: InferenceSettings;
  seed?: number;
  /** Sentences per device batch (default 16). */
  batch?: number;
  /** Sentences longer than this many words are tagged in overlapping windows of this many (default 256). */
  maxWords?: number;
  dedupe?: boolean;
}

/** What `evaluate` may add: every sentence's gold and predicted entities with its errors. */
export interface EvaluateOptions extends TagOptions {
  /** Also return `predictions`: per sentence, in input order, its gold and predicted entities and its false positives and false negatives. */
  predictions?: boolean;
}

/**
 * Scores on labelled data: micro, per type, by entity length in words (`byLength`: 1, 2, 3, 4+) and for
 * outermost and nested entities (`byNesting`; nested: inside another entity of its own set, gold for
 * recall, predicted for precision), at `threshold`; with `predictions: true`, also every sentence's entities.
 */
export type Evaluation = Omit<EvalResult, keyof EvalBreakdowns | 'predictions'> & EvalBreakdowns & { threshold: number; predictions?: SentencePredictions[] };

/** A document the API can tag, or a TypeError naming the one that is not. */
function checkDocument(d: unknown, i: number): void {
  if (typeof d === 'string') return;
  const tokens = (d as { tokens?: unknown } | null)?.tokens;
  if (isWordList(tokens)) return;
  throw new TypeError(`tag: document ${i} is ${d === null ? 'null' : Array.isArray(d) ? 'an array' : typeof d}${Array.isArray(tokens) ? ' whose tokens are not all non-empty words without spaces' : ''}, not a string or { tokens: string[] }`);
}

export class Model {
  /** The model folder it was loaded from. */
  readonly dir: string;
  readonly kind: string;
  readonly types: readonly string[];
  /** The threshold and filtering chosen on dev, when the folder records them. */
  readonly selection: Selection | undefined;

  constructor(readonly ner: NerModel, readonly device: Device, dir: string) {
    this.dir = dir;
    this.kind = ner.kind;
    this.types = ner.types;
    this.selection = readSelection(dir);
  }

  private streamOptions(o: TagOptions): StreamOptions {
    return {
      threshold: o.threshold ?? this.selection?.threshold ?? this.ner.defaultThreshold, mode: o.mode ?? this.selection?.mode ?? DEFAULT_MODE, dedupe: o.dedupe,
      inference: o.inference, seed: o.seed ?? DEFAULT_SEED, batch: o.batch, maxWords: o.maxWords, minScore: o.minScore,
    };
  }

  /**
   * Tags one document, or several (results in input order). A document is text, or a sentence already
   * split into words (`{ tokens: ['New', 'York'] }`), which is tagged as it is.
   */
  tag(doc: DocumentInput, o?: TagOptions): Promise<TaggedDocument>;
  tag(docs: readonly DocumentInput[], o?: TagOptions): Promise<TaggedDocument[]>;
  async tag(input: DocumentInput | readonly DocumentInput[], o: TagOptions = {}): Promise<TaggedDocument | TaggedDocument[]> {
    const one = !Array.isArray(input);
    const docs = (one ? [input] : input) as readonly DocumentInput[];
    docs.forEach(checkDocument);
    const out: TaggedDocument[] = [];
    for await (const { tagged } of tagStream(this.ner, this.device, docs, (d) => d, this.streamOptions(o))) out.push(tagged);
    return one ? out[0] : out;
  }

  /**
   * Tags documents as they arrive (an array, a generator, a stream of lines) and yields each in order, in
   * memory bounded over documents; each document's result is held until it is whole.
   */
  async *tagStream(docs: AsyncIterable<DocumentInput> | Iterable<DocumentInput>, o: TagOptions = {}): AsyncGenerator<TaggedDocument> {
    let i = 0;
    for await (const { tagged } of tagStream(this.ner, this.device, docs, (d) => { checkDocument(d, i++); return d; }, this.streamOptions(o))) yield tagged;
  }

  /**
   * Like tagStream, but yields each sentence as soon as it and those before it are tagged
   * (`{ kind: 'sentence', doc, index, sentence, entities }`, `doc` counting documents from 0), then each
   * document's end (`{ kind: 'end', doc, sentences }`): a document of any length is tagged without being held.
   */
  async *tagSentences(docs: AsyncIterable<DocumentInput> | Iterable<DocumentInput>, o: TagOptions = {}): AsyncGenerator<SentenceEvent<number>> {
    let i = 0;
    async function* numbered() { for await (const d of docs) { checkDocument(d, i); yield { d, n: i++ }; } }
    for await (const e of tagSentences(this.ner, this.device, numbered(), (x) => x.d, this.streamOptions(o))) yield { ...e, doc: e.doc.n };
  }

  /**
   * Strict P/R/F1 on labelled data (a file in any supported format, or sentences ({ tokens, entities })):
   * micro, per type, by entity length and by nesting, and on request every sentence's entities and errors.
   */
  async evaluate(data: string | readonly LabelledSentence[], o: EvaluateOptions = {}): Promise<Evaluation> {
    const sentences = typeof data === 'string' ? readSentences(data) : data.map((x, i) => parseRecord(x, x.origin ?? `sentence ${i}`));
    const s = this.streamOptions(o);
    const [r] = await evaluateThresholds(this.ner, sentences, this.device,
      { ...(o.inference ?? {}), mode: s.mode!, dedupe: o.dedupe, batch: o.batch, breakdowns: true, predictions: !!o.predictions }, [s.threshold!], s.seed, false);
    return r as Evaluation;
  }

  /** The model kind's trace of one sentence (DiffusionNER: every layer and every DDIM step). */
  async trace(sentence: string, o: TagOptions & { values?: boolean } = {}): Promise<unknown> {
    const tokens = tokenizeText(sentence, this.ner.clitics).map((t) => t.text);
    const s = this.streamOptions(o);
    return modelKind(this.kind, this.dir).trace.run(this.ner, this.device, tokens, { threshold: s.threshold, mode: s.mode, dedupe: o.dedupe, seed: s.seed, values: o.values, inference: o.inference });
  }

  /** The trace as text, as a short summary, or as a self-contained HTML page. */
  formatTrace(trace: unknown, as: 'text' | 'summary' | 'html' = 'text'): string {
    return modelKind(this.kind, this.dir).trace[as](trace);
  }

  /** Frees the model's tensors. */
  dispose(): void { this.ner.dispose(); }
}

/**
 * Opens a model folder (config.json, vocab.txt, model.safetensors) or a bundled model by name ('conll2003', 'genia').
 * Tagging brings batches of ever new shapes, so the device's buffer pool is set to reuse larger free
 * buffers: memory levels off lower and sooner, at no measured speed cost (docs/RESULTS.md); `train` sets it back.
 */
export async function loadModel(dirOrName: string, o: LoadOptions = {}): Promise<Model> {
  const dir = resolveModelDir(dirOrName);
  const device = await deviceFor(o.device);
  reuseLargerPooledBuffers(device);
  return new Model(await openModel(dir, device, undefined, { verify: o.verify }), device, dir);
}

export interface TrainApiOptions extends Pick<TrainOptions, 'reschedule' | 'stopSignal'> {
  /** The output folder (default: the config's `out`). */
  out?: string;
  device?: DeviceChoice;
  resume?: boolean;
  /** Start from a trained model folder's weights. */
  init?: string;
  /** Progress: every optimiser step and every epoch's end. */
  onProgress?: (e: TrainEvent) => void;
  /** Log lines (default: none; train.log in the output folder has them all). */
  log?: (line: string) => void;
}

/** Trains a model from a config file or object (configs/*.json); the best model is at `modelDir`. */
export async function train(config: string | TrainConfig, o: TrainApiOptions = {}): Promise<TrainResult & { modelDir: string }> {
  const cfg = typeof config === 'string' ? readTrainConfig(config) : parseTrainConfig(JSON.stringify(config), '(config object)');
  if (o.out) cfg.out = o.out;
  cfg.out ??= 'runs/out';
  const device = await deviceFor(o.device);
  reuseLargerPooledBuffers(device, false); // training repeats its work: exact buckets settle on cached bind groups sooner
  const r = await trainModel(cfg, device, { resume: o.resume, reschedule: o.reschedule, stopSignal: o.stopSignal, init: o.init, onEvent: o.onProgress, log: o.log ?? (() => {}), progress: false });
  return { ...r, modelDir: `${cfg.out}/model` };
}

/** Evaluates a model (a Model, a folder or a bundled name) on labelled data. */
export async function evaluate(model: Model | string, data: string | readonly LabelledSentence[], o: EvaluateOptions & LoadOptions = {}): Promise<Evaluation> {
  const m = typeof model === 'string' ? await loadModel(model, o) : model;
  try { return await m.evaluate(data, o); } finally { if (m !== model) m.dispose(); }
}
