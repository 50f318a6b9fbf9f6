/**
 * The sentence encoder every model shares: words -> contextual word vectors (B, M, H).
 *   scratch: word embeddings over the training vocabulary (word dropout to UNK while training) and an
 *            optional character CNN -> optional input dropout -> BiLSTM (+ optional sinusoidal positions)
 *   bert:    a BERT (WordPiece sub-words, pooled to words by max or mean) -> BiLSTM, or BERT alone
 *            (lstmLayers 0: the pooled last hidden states are the output; hidden = BERT's hidden size)
 * A model may put P learnt vectors before the words (BOPN's type prompts): the scratch encoder reads
 * [P; word vectors] into its BiLSTM; BERT reads them as input embeddings before [CLS], and its outputs
 * for them go before the pooled words into the BiLSTM. The output then holds P + M rows.
 * With BERT a model may also ask for the [CLS] piece's state as a row of its own before the words
 * (`clsRow`, BINDER's threshold anchor and type vectors), for a closing [SEP] (`closingSep`), and for
 * each word's first and last sub-word state instead of a pooled one (`wordEnds`, BINDER's sub-word spans).
 * Its parameters keep the root names a model folder has always used (word_embed.*, char_cnn.*, lstm.*,
 * bert.*): a model adopts them (Module.adopt) rather than nesting them.
 */
import * as T from '../../ops/index.js';
import { sinusoidalEmbedding } from '../../nn/sinusoid.js';
import { Dropout, Embedding, type InitOptions } from '../../nn/layers.js';
import { LSTM } from '../../nn/lstm.js';
import { CharCNN } from '../../nn/char-cnn.js';
import { BertModel, type BertConfig, poolWords, type WordPooling } from '../../nn/bert.js';
import { Module } from '../../nn/module.js';
import { WordPieceTokenizer } from '../../text/wordpiece.js';
import type { CliticStyle } from '../../text/tokenize.js';
import { defaultRng, type RNG } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type BertInput, bertInput } from './bert-input.js';

export const ENCODER_KINDS = ['scratch', 'bert'] as const;
export type EncoderKind = (typeof ENCODER_KINDS)[number];

export interface EncoderConfig {
  /** scratch: the word vocabulary; bert: the WordPiece vocabulary (vocab.txt of the BERT folder). */
  vocab: string[];
  encoder?: EncoderKind;
  /** The BERT's config.json (encoder bert). */
  bert?: BertConfig;
  /** Sub-word -> word pooling (encoder bert): max (official default) or mean (its GENIA setting). */
  pooling?: WordPooling;
  hidden: number;
  embedding?: number;
  /**
   * BiLSTM layers. 0 (encoder bert only): no BiLSTM, the output is BERT's last hidden states pooled to
   * words (official BINDER), so `hidden` must equal BERT's hidden_size (no projection is added).
   */
  lstmLayers?: number;
  /** Dropout between the BiLSTM layers (the official prop_drop) and in the character CNN. */
  dropout?: number;
  /**
   * How plain text is split into words for this model (predict, trace): the training data's convention
   * for clitics, 'split' ("Germany 's", CoNLL-2003) or 'attached' ("Burkitt's", GENIA). Training infers it
   * from the training set; the encoder itself never reads it.
   */
  clitics?: CliticStyle;
  /**
   * Sinusoidal word positions added to the BiLSTM output: on by default for the scratch encoder, which
   * has no absolute positions; off by default for BERT, as in the official code (spec §1.3: H_S is the
   * LSTM output, nothing added).
   */
  positionFeatures?: boolean;
  lowercase?: boolean;
  /** Character vocabulary (index 0 padding, 1 unknown); with charEmbedding > 0 the char CNN is on. */
  chars?: string[];
  charEmbedding?: number;
  charFilters?: number;
  /** Characters kept per word (the rest are cut). */
  maxChars?: number;
  /** While training, each word id becomes UNK with this probability. */
  wordDropout?: number;
  /**
   * Dropout on the BiLSTM's input while training (scratch: word embedding + character features), the
   * usual regulariser of BiLSTM taggers trained from scratch (Lample et al. 2016 use 0.5). Default 0;
   * DiffusionNER's official BERT path has no dropout there (spec §1.3), BOPN's has 0.5 (spec §2.2).
   */
  embeddingDropout?: number;
}

/** The defaults of every encoder setting but the vocabulary, hidden size and BERT config. */
export const ENCODER_DEFAULTS = {
  lstmLayers: 2, dropout: 0.1, lowercase: false, chars: [] as string[], charEmbedding: 0, charFilters: 50, maxChars: 20, wordDropout: 0,
  embeddingDropout: 0, encoder: 'scratch' as EncoderKind, pooling: 'max' as WordPooling, clitics: 'split' as CliticStyle,
};

/** A sentence's words as the encoder reads them; `origin` (file:line) names it in errors. */
export interface WordsIn { origin?: string; tokens: readonly string[]; ltokens?: readonly string[]; rtokens?: readonly string[] }

/** The encoder's tensors for a batch of sentences. */
export interface EncoderInputs {
  ids: Tensor; // (B, M) i32
  mask: Tensor; // (B, M) f32
  /** Char CNN input: ids (B·M, L + 2) i32 and mask (B·M, L, 1), when the encoder has one. */
  chars: { ids: Tensor; mask: Tensor } | null;
  /** BERT input: sub-word ids and attention mask (B, S), each word's sub-word span [start, end). */
  pieces: { ids: Tensor; mask: Tensor; spans: [number, number][][] } | null;
  lengths: number[];
}

export type ResolvedEncoderConfig = Required<Omit<EncoderConfig, 'bert'>> & { bert?: BertConfig; embedding: number };

export class SentenceEncoder extends Module {
  readonly c: ResolvedEncoderConfig;
  readonly embed: Embedding | null;
  readonly charCnn: CharCNN | null;
  /** embeddingDropout > 0: dropout on the BiLSTM input. */
  readonly inputDropout: Dropout | null;
  readonly bert: BertModel | null;
  readonly tokenizer: WordPieceTokenizer | null;
  /** null with lstmLayers 0 (BERT alone). */
  readonly lstm: LSTM | null;
  private readonly vocabIndex: Map<string, number>;
  private readonly charIndex: Map<string, number>;
  private readonly bertInputs = new WeakMap<WordsIn, BertInput>();

  /** The number of vectors a model puts before the words (see forward), and their width. */
  readonly prefix: number;
  readonly prefixWidth: number;
  /** BERT: the [CLS] piece's state is an output row of its own, after the prefix rows and before the words. */
  readonly clsRow: boolean;
  /** BERT: the pieces end with a [SEP] (after the right context, if any). */
  readonly closingSep: boolean;

  /**
   * `rng` drives word dropout and the dropout layers; the model owns it (it is part of a checkpoint).
   * `prefix` vectors go before the words (forward's `prefix`). `wordEmbedding` (scratch): another
   * encoder's word table, read instead of one of its own (tied embeddings: its parameters stay that
   * encoder's, so they are not this one's). `clsRow` and `closingSep` (BERT): see their fields.
   */
  constructor(config: EncoderConfig, o: InitOptions, private readonly rng: RNG = o.rng ?? defaultRng(), { prefix = 0, wordEmbedding, clsRow = false, closingSep = false }: { prefix?: number; wordEmbedding?: Embedding; clsRow?: boolean; closingSep?: boolean } = {}) {
    super();
    this.prefix = prefix;
    this.clsRow = clsRow; this.closingSep = closingSep;
    this.c = { embedding: config.hidden, ...ENCODER_DEFAULTS, ...config, positionFeatures: config.positionFeatures ?? config.encoder !== 'bert' } as ResolvedEncoderConfig;
    const c = this.c;
    if (!ENCODER_KINDS.includes(c.encoder)) throw new Error(`encoder: must be ${ENCODER_KINDS.join(' or ')}, got '${c.encoder}'`);
    if (!Number.isInteger(c.lstmLayers) || c.lstmLayers < 0) throw new Error(`encoder: lstmLayers must be a whole number >= 0, got ${c.lstmLayers}`);
    if (c.lstmLayers === 0 && c.encoder !== 'bert') throw new Error('encoder: lstmLayers 0 (no BiLSTM) is for encoder bert only; the scratch encoder needs its BiLSTM');
    if (c.lstmLayers > 0 && c.hidden % 2 !== 0) throw new Error('encoder: hidden size must be even (two LSTM directions)');
    if ((clsRow || closingSep) && c.encoder !== 'bert') throw new Error('encoder: clsRow and closingSep are for encoder bert');
    this.vocabIndex = new Map(c.vocab.map((w, i) => [w, i]));
    this.charIndex = new Map(c.chars.map((ch, i) => [ch, i]));
    let input: number;
    if (c.encoder === 'bert') {
      if (!c.bert) throw new Error('encoder bert needs the BERT config (config.bert)');
      if (c.lstmLayers === 0 && c.hidden !== c.bert.hidden_size) {
        throw new Error(`encoder: with lstmLayers 0 the output is BERT's hidden states, so hidden must be BERT's hidden_size ${c.bert.hidden_size}, got ${c.hidden}`);
      }
      this.bert = this.child('bert', new BertModel(c.bert, o));
      this.tokenizer = new WordPieceTokenizer(c.vocab, { lowercase: c.lowercase });
      this.embed = null; this.charCnn = null;
      input = c.bert.hidden_size;
    } else {
      this.bert = null; this.tokenizer = null;
      if (wordEmbedding && (wordEmbedding.numEmbeddings !== c.vocab.length || wordEmbedding.dim !== c.embedding)) {
        throw new Error(`encoder: a shared word table must be (${c.vocab.length}, ${c.embedding}), got (${wordEmbedding.numEmbeddings}, ${wordEmbedding.dim})`);
      }
      this.embed = wordEmbedding ?? this.child('word_embed', new Embedding(c.vocab.length, c.embedding, o));
      const useChars = c.charEmbedding > 0;
      if (useChars && c.chars.length < 2) throw new Error('encoder: charEmbedding > 0 needs a character vocabulary (config.chars)');
      this.charCnn = useChars ? this.child('char_cnn', new CharCNN(c.chars.length, c.charEmbedding, c.charFilters, c.dropout, o)) : null;
      input = c.embedding + (useChars ? c.charFilters : 0);
    }
    this.prefixWidth = input;
    this.inputDropout = c.embeddingDropout > 0 ? this.child('input_dropout', new Dropout(c.embeddingDropout, this.rng)) : null;
    // Dropout between the LSTM layers, as the official prop_drop (spec §1.3).
    this.lstm = c.lstmLayers > 0 ? this.child('lstm', new LSTM(input, c.hidden / 2, { ...o, layers: c.lstmLayers, bidirectional: true, dropout: c.dropout })) : null;
  }

  /**
   * BERT's input for one sentence, or an error naming it when BERT's positions cannot hold it. Kept per
   * sentence object (sentences are never edited in place), so checkLengths and every epoch's batches
   * encode each sentence once.
   */
  private bertPieces(s: WordsIn): BertInput {
    const known = this.bertInputs.get(s);
    if (known) return known;
    try {
      const input = bertInput(this.tokenizer!, s, this.c.bert!.max_position_embeddings - this.prefix, this.closingSep);
      this.bertInputs.set(s, input);
      return input;
    } catch (e) {
      const prompts = this.prefix ? ` (${this.c.bert!.max_position_embeddings} less the model's ${this.prefix} prompt vectors)` : '';
      throw new Error(`${s.origin ?? 'a sentence'}: ${(e as Error).message}${prompts} (split the sentence; predict does with --max-words)`);
    }
  }

  /** With BERT: throws, naming the first sentence its positions cannot hold, before training rather than mid-epoch. */
  checkLengths(sentences: readonly WordsIn[]): void {
    if (this.tokenizer) for (const s of sentences) this.bertPieces(s);
  }

  /** Word ids (index 0 = padding, 1 = unknown; word dropout while `training`), characters and sub-words for a batch. */
  inputs(sentences: readonly WordsIn[], device: Tensor['device'], training: boolean): EncoderInputs {
    const B = sentences.length, M = Math.max(1, ...sentences.map((s) => s.tokens.length));
    const ids = new Int32Array(B * M), mask = new Float32Array(B * M);
    const dropWords = training ? this.c.wordDropout : 0;
    sentences.forEach((s, b) => s.tokens.forEach((w, j) => {
      ids[b * M + j] = dropWords > 0 && this.rng.uniform() < dropWords ? 1 : this.vocabIndex.get(this.c.lowercase ? w.toLowerCase() : w) ?? 1;
      mask[b * M + j] = 1;
    }));
    let chars: EncoderInputs['chars'] = null, pieces: EncoderInputs['pieces'] = null;
    if (this.tokenizer) {
      const enc = sentences.map((s) => this.bertPieces(s));
      const S = Math.max(...enc.map((e) => e.ids.length));
      const pid = new Int32Array(B * S), pmask = new Float32Array(B * S);
      enc.forEach((e, b) => e.ids.forEach((id, j) => { pid[b * S + j] = id; pmask[b * S + j] = 1; }));
      pieces = { ids: T.tensor(pid, { shape: [B, S], device }), mask: T.tensor(pmask, { shape: [B, S], device }), spans: enc.map((e) => e.spans) };
    }
    if (this.charCnn) {
      const words = sentences.flatMap((s) => Array.from({ length: M }, (_, j) => s.tokens[j] ?? ''));
      const c = CharCNN.indices(words, this.charIndex, this.c.maxChars);
      chars = { ids: T.tensor(c.ids, { shape: [B * M, c.L + 2], device }), mask: T.tensor(c.mask, { shape: [B * M, c.L, 1], device }) };
    }
    return { ids: T.tensor(ids, { shape: [B, M], device }), mask: T.tensor(mask, { shape: [B, M], device }), chars, pieces, lengths: sentences.map((s) => s.tokens.length) };
  }

  /**
   * inputs -> word vectors (B, M, hidden); with `prefix` (P, width) the P prefix vectors' outputs come
   * first: (B, P + M, hidden), each sentence P + its length long for the BiLSTM. With `clsRow` the
   * [CLS] piece's output comes after the prefix rows: (B, P + 1 + M, hidden).
   */
  forward(b: EncoderInputs, prefix?: Tensor): Tensor {
    const P = prefix ? prefix.shape[0] : 0;
    if (P !== this.prefix || (prefix && prefix.shape[1] !== this.prefixWidth)) throw new Error(`encoder: built for ${this.prefix} prefix vectors of width ${this.prefixWidth}, given ${prefix ? `(${prefix.shape})` : 'none'}`);
    const [B, M] = b.ids.shape;
    const before = (x: Tensor) => (prefix ? T.concat([T.expand(T.unsqueeze(prefix, 0), [B, P, prefix.shape[1]]), x], 1) : x);
    // The rows before the words: the prefix's, then BERT's [CLS] with clsRow.
    const lead = P + (this.clsRow ? 1 : 0);
    let x: Tensor;
    if (this.bert) {
      if (!b.pieces) throw new Error('encoder: a BERT encoder needs inputs made by its own inputs()');
      const mask = prefix ? T.concat([T.ones([B, P], { device: b.ids.device, dtype: b.pieces.mask.dtype }), b.pieces.mask], 1) : b.pieces.mask;
      const h = this.bert.forwardEmbeds(before(this.bert.embeddings.word_embeddings.forward(b.pieces.ids)), mask);
      const words = poolWords(P ? T.slice(h, 1, P) : h, b.pieces.spans, this.c.pooling); // (B, M, hidden)
      x = lead ? T.concat([T.slice(h, 1, 0, lead), words], 1) : words; // the [CLS] piece is position P
    } else {
      x = this.embed!.forward(b.ids); // (B, M, E)
      if (this.charCnn && b.chars) x = T.concat([x, T.reshape(this.charCnn.forward(b.chars.ids, b.chars.mask), [B, M, this.c.charFilters])], -1);
      x = before(x);
    }
    if (this.inputDropout) x = this.inputDropout.forward(x);
    const h = this.lstm ? this.lstm.forward(x, b.lengths.map((n) => n + lead)) : x;
    return this.withPositions(h, lead, M);
  }

  /**
   * BERT alone (lstmLayers 0, no prefix): each word's first and last sub-word state, (B, M, hidden) each
   * (with `clsRow`, the [CLS] piece's state first in both: (B, 1 + M, hidden)), in place of forward's
   * pooled ones: the word-start and word-end tokens of the official BINDER. A word with no pieces gives
   * the zero vector, as its pooled vector. Input dropout applies to the sub-word states (one mask for
   * both), position features to both outputs, as forward's.
   */
  wordEnds(b: EncoderInputs): { first: Tensor; last: Tensor } {
    if (!this.bert || this.lstm || this.prefix) throw new Error('encoder: wordEnds needs encoder bert with lstmLayers 0 and no prefix');
    if (!b.pieces) throw new Error('encoder: a BERT encoder needs inputs made by its own inputs()');
    let h = this.bert.forward(b.pieces.ids, b.pieces.mask); // (B, S, hidden)
    if (this.inputDropout) h = this.inputDropout.forward(h);
    const [B, S, H] = h.shape, M = b.ids.shape[1], device = h.device;
    const flat = T.reshape(h, [B * S, H]);
    const gather = (end: boolean) => {
      const idx = new Int32Array(B * M), present = new Float32Array(B * M);
      b.pieces!.spans.forEach((ws, s) => ws.forEach(([a, e], w) => {
        if (e > a) { idx[s * M + w] = s * S + (end ? e - 1 : a); present[s * M + w] = 1; }
      }));
      const rows = T.mul(T.indexSelect(flat, 0, T.tensor(idx, { device })), T.tensor(present, { shape: [B * M, 1], device, dtype: h.dtype }));
      const words = T.reshape(rows, [B, M, H]);
      return this.withPositions(this.clsRow ? T.concat([T.slice(h, 1, 0, 1), words], 1) : words, this.clsRow ? 1 : 0, M);
    };
    return { first: gather(false), last: gather(true) };
  }

  /** positionFeatures: sinusoidal positions 0..M-1 added to the word rows of h (B, lead + M, hidden); the lead rows get none. */
  private withPositions(h: Tensor, lead: number, M: number): Tensor {
    if (!this.c.positionFeatures) return h;
    const device = h.device;
    const pos = sinusoidalEmbedding(T.arange(0, M, 1, { device, dtype: h.dtype }), this.c.hidden);
    return T.add(h, T.reshape(lead ? T.concat([T.zeros([lead, this.c.hidden], { device, dtype: h.dtype }), pos], 0) : pos, [1, lead + M, this.c.hidden]));
  }

  /** Frees a batch's encoder tensors. */
  static dispose(b: EncoderInputs): void {
    b.ids.dispose(); b.mask.dispose();
    if (b.chars) { b.chars.ids.dispose(); b.chars.mask.dispose(); }
    if (b.pieces) { b.pieces.ids.dispose(); b.pieces.mask.dispose(); }
  }
}

/** The scratch encoder's parameters (not BERT's): the group whose rate train.encoderLrScale multiplies. */
export function isScratchEncoderParameter(name: string): boolean {
  return /^(word_embed|char_cnn|lstm)\./.test(name);
}
