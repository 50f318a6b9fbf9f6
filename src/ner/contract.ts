/**
 * The contract between the task layer and a model: all the training loop, the evaluator, predict,
 * trace and the CLI need of DiffusionNER, BOPN or BINDER. A model builds its own batches (opaque to the
 * loop), returns named loss terms, infers raw per-sentence outputs that it decodes into scored
 * candidates at any decoding settings (so a threshold sweep costs one inference), names its parameter
 * groups, and says what its model folder holds.
 */
import type { Module } from '../nn/module.js';
import type { Device } from '../tensor/device.js';
import type { RNG } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CliticStyle } from '../text/tokenize.js';
import type { Entity } from './data.js';
import type { SentenceEncoder, WordsIn } from './encoders/sentence-encoder.js';
import type { Candidate, FilterMode } from './spans.js';

/** A sentence as a model reads it, with its gold entities when training or evaluating. */
export type SentenceIn = WordsIn & { entities?: readonly Entity[] };

/** What decoding may vary after one inference: the score threshold, the filter, and the paper's de-duplication. */
export interface DecodeSettings { threshold: number; mode: FilterMode; dedupe?: boolean }

/** One training step's loss terms by name, before any weighting, and their weighted total (NaN when the step diverged). */
export interface StepLosses { terms: Record<string, number>; total: number }

/** Model-specific inference settings (DiffusionNER: steps γ, proposals K, η); the model fills in its defaults. */
export type InferenceSettings = Record<string, unknown>;

export interface ParameterGroup { name: string; parameters: [string, Tensor][] }

export interface NerModel<Batch = unknown, Raw = unknown> extends Module {
  /** The registry key written as `kind` in the model folder's config.json. */
  readonly kind: string;
  readonly types: readonly string[];
  /** How plain text is split into words for this model (the training data's clitic convention). */
  readonly clitics: CliticStyle;
  /** The decoding threshold when neither a flag nor the folder's selection.json gives one. */
  readonly defaultThreshold: number;
  readonly encoder: SentenceEncoder;
  /** Throws, naming the first sentence the model cannot read (BERT's positions), before any work starts. */
  checkLengths(sentences: readonly WordsIn[]): void;
  batch(sentences: readonly SentenceIn[], device: Device): Batch;
  disposeBatch(b: Batch): void;
  /** Forward and backward of one step (gradients accumulate; the caller clips and steps). `weights` are the config's loss weights. */
  lossAndBackward(b: Batch, weights: Record<string, unknown>): Promise<StepLosses>;
  /** One inference pass over a batch: per sentence, the raw outputs `decode` reads. */
  infer(b: Batch, settings: InferenceSettings, rng: RNG): Promise<Raw[]>;
  decode(raw: Raw, settings: DecodeSettings): Candidate[];
  /** A candidate's confidence in [0, 1] (the entity object's `score`). */
  confidence(c: Candidate): number;
  /** Parameters by group; the trainer scales the `encoder` group's rate by train.encoderLrScale. */
  parameterGroups(): ParameterGroup[];
  /** config.json (with `kind`) and the other files of a model folder, besides the weights. */
  folder(): { config: Record<string, unknown>; files: Record<string, string> };
  /**
   * Called once on a new model after its encoder's BERT got a BERT folder's weights (encoder bert), so
   * that a model with other copies of that BERT gives them the same start (BINDER's type encoder).
   */
  afterPretrained?(): Promise<void>;
}

/** What the task knows of a new model's types besides their names: the descriptions its types file gives (data.types), by type name. */
export interface TypeInfo { descriptions?: Readonly<Record<string, string>> }

/** How the task layer opens and creates models of every kind (the registry in src/models implements it). */
export interface ModelFactory {
  /** Opens a model folder (config.json `kind`; absent means diffusionner). */
  load(dir: string, device: Device, rng?: RNG): Promise<NerModel>;
  /**
   * A new model from a full config: the encoder's settings with its vocabularies, the kind's settings
   * (`kind`), and `types`; `info` is what a kind may read besides (models that need no descriptions ignore
   * it). A kind may add words to the vocabulary it is given; its encoder's `c.vocab` is the one it uses.
   */
  create(config: Record<string, unknown>, device: Device, rng: RNG, info?: TypeInfo): NerModel;
}

/**
 * What a model's trace may vary: decoding, the seed, whose tensor values are kept (every module's, or
 * those of the modules named, `*` matching anything), and its inference settings (DiffusionNER's also
 * take `startT`, the timestep its trace begins DDIM from).
 */
export interface TraceSettings { threshold?: number; mode?: FilterMode; dedupe?: boolean; seed?: number; values?: boolean | readonly string[]; inference?: InferenceSettings }

/** An HTML trace page's extras: a name for the trace's model, and a second model's trace of the same words to set beside it. */
export interface TraceHtmlOptions { label?: string; compare?: { trace: unknown; label: string } }

/** A model kind's trace: run on one sentence's words, and shown as text or as an HTML page. */
export interface TraceView {
  run(model: NerModel, device: Device, tokens: string[], o: TraceSettings): Promise<unknown>;
  text(trace: unknown): string;
  /** A few lines on how the model reached its answer (npm start shows them). */
  summary(trace: unknown): string;
  html(trace: unknown, o?: TraceHtmlOptions): string;
}
